/**
 * Region discovery for the 64-bit block compiler: from an entry offset of one code page,
 * the basic blocks reachable through direct jumps, conditional branches and near calls
 * that stay on the page (bounded), each a run of instructions decode.ts accepts; and the
 * liveness of the arithmetic flags over them (codegen.ts computes a flag only where
 * something can observe it: a reader, an instruction that may fault, a region exit).
 * @module
 */
import {
  A_ADC,
  A_SBB,
  decodeAt,
  I_ALU_MI,
  I_ALU_MR,
  I_ALU_RM,
  I_CALL,
  I_CALL_M,
  I_CMOV,
  I_IMUL,
  I_INCDEC,
  I_JCC,
  I_JMP,
  I_JMP_M,
  I_LEA,
  I_NOTNEG,
  I_POP,
  I_PUSH,
  I_PUSH_I,
  I_RET,
  I_SETCC,
  I_SHIFT,
  type Insn,
} from "./decode.ts";

/** A basic block: straight-line instructions, the last one possibly a control transfer. */
export interface Block {
  /** Page offset of the first instruction. */
  start: number;
  insns: Insn[];
  /** Page offset after the last instruction. */
  next: number;
  /** Arithmetic flags live at the block's start (filled by {@link liveness}). */
  liveIn: number;
}

/** Most blocks and instructions in one region. */
export const MAX_BLOCKS64 = 16, MAX_BLOCK_INSNS64 = 64;

/** The six arithmetic flags (CF PF AF ZF SF OF as in EFLAGS). */
export const ALL = 0x8d5;
const CF = 1, PF = 4, ZF = 0x40, SF = 0x80, OF = 0x800;

/** The flags condition code `cc` reads. */
export function ccFlags(cc: number): number {
  switch (cc >> 1) {
    case 0:
      return OF;
    case 1:
      return CF;
    case 2:
      return ZF;
    case 3:
      return CF | ZF;
    case 4:
      return SF;
    case 5:
      return PF;
    case 6:
      return SF | OF;
    default:
      return ZF | SF | OF;
  }
}

/** Whether an instruction ends its block. */
export function isBranch(i: Insn): boolean {
  const k = i.kind;
  return k === I_JCC || k === I_JMP || k === I_CALL || k === I_RET || k === I_JMP_M ||
    k === I_CALL_M;
}

/** Whether an instruction may fault (it touches memory, the stack, or jumps). */
export function mayFault(i: Insn): boolean {
  if (i.mem && i.kind !== I_LEA) return true;
  const k = i.kind;
  return k === I_PUSH || k === I_POP || k === I_PUSH_I || isBranch(i);
}

/** Flags an instruction reads (a faulting one exposes all of them). */
export function uses(i: Insn): number {
  let u = mayFault(i) ? ALL : 0;
  const k = i.kind;
  if (k === I_JCC || k === I_CMOV || k === I_SETCC) u |= ccFlags(i.cc);
  if (
    (k === I_ALU_MR || k === I_ALU_RM || k === I_ALU_MI) && (i.sub === A_ADC || i.sub === A_SBB)
  ) {
    u |= CF;
  }
  return u;
}

/** Flags an instruction always writes. */
export function defs(i: Insn): number {
  switch (i.kind) {
    case I_ALU_MR:
    case I_ALU_RM:
    case I_ALU_MI:
      return ALL;
    case I_INCDEC:
      return ALL & ~CF;
    case I_NOTNEG:
      return i.sub === 3 ? ALL : 0;
    case I_SHIFT:
      return i.imm !== 0 ? ALL : 0;
    case I_IMUL:
      return CF | OF;
  }
  return 0;
}

/** Discovers the region of `entry`; empty when its first instruction is not compiled. */
export function discover(u8: Uint8Array, base: number, entry: number): Block[] {
  const blocks: Block[] = [];
  const seen = new Set<number>();
  const queue = [entry];
  while (queue.length > 0 && blocks.length < MAX_BLOCKS64) {
    const start = queue.shift()!;
    if (seen.has(start)) continue;
    seen.add(start);
    const insns: Insn[] = [];
    let o = start;
    while (insns.length < MAX_BLOCK_INSNS64 && o < 4096) {
      const i = decodeAt(u8, base, o);
      if (i === null) break;
      insns.push(i);
      o += i.len;
      if (isBranch(i)) {
        const k = i.kind;
        // The fall-through is discovered next (its label follows: codegen falls into it),
        // a call's target before its return address.
        if (k === I_JCC || k === I_CALL_M) queue.unshift(o);
        if ((k === I_JCC || k === I_JMP || k === I_CALL) && i.target >= 0 && i.target < 4096) {
          if (k === I_JCC) queue.push(i.target);
          else queue.unshift(i.target);
        }
        if (k === I_CALL) queue.splice(1, 0, o); // the return address, after the callee
        break;
      }
    }
    if (insns.length === 0) {
      if (start === entry) return [];
      continue;
    }
    blocks.push({ start, insns, next: o, liveIn: ALL });
  }
  return blocks;
}

/** The successors of a block inside the region (page offsets), and whether it may exit. */
export function successors(b: Block, labels: Map<number, number>): [number[], boolean] {
  const out: number[] = [];
  let exits = false;
  const add = (t: number) => {
    if (labels.has(t)) out.push(t);
    else exits = true;
  };
  const last = b.insns[b.insns.length - 1];
  if (!isBranch(last)) add(b.next);
  else {
    const k = last.kind;
    if (k === I_JCC) {
      add(last.target);
      add(b.next);
    } else if (k === I_JMP || k === I_CALL) add(last.target);
    else {
      // ret and indirect transfers: any block of the region, or out
      exits = true;
      for (const t of labels.keys()) out.push(t);
    }
  }
  return [out, exits];
}

/** Fills each block's `liveIn` (backward dataflow to a fixed point; exits read all). */
export function liveness(blocks: Block[], labels: Map<number, number>): void {
  for (const b of blocks) b.liveIn = 0;
  const succ = blocks.map((b) => successors(b, labels));
  for (let changed = true; changed;) {
    changed = false;
    for (let j = blocks.length - 1; j >= 0; j--) {
      const b = blocks[j];
      let live = liveOut(blocks, labels, succ[j]);
      for (let k = b.insns.length - 1; k >= 0; k--) {
        const i = b.insns[k];
        live = (live & ~defs(i)) | uses(i);
      }
      if (live !== b.liveIn) {
        b.liveIn = live;
        changed = true;
      }
    }
  }
}

/** The flags live at the end of a block with successors `s`. */
export function liveOut(
  blocks: Block[],
  labels: Map<number, number>,
  s: [number[], boolean],
): number {
  let live = s[1] ? ALL : 0;
  for (const t of s[0]) live |= blocks[labels.get(t)!].liveIn;
  return live;
}
