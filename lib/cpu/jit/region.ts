/**
 * Region discovery for the block compiler: from an entry offset of one code page, the
 * basic blocks reachable through direct jumps, conditional branches and calls that stay on
 * that page (bounded), each a run of decoded records the code generator supports.
 * @module
 */
import {
  K_CALL,
  K_CALL_R,
  K_END,
  K_GENERIC,
  K_JCC,
  K_JMP,
  K_JMP_R,
  K_NONE,
  K_RET,
} from "../decoded_cache.ts";
import { F_CALL_M, F_RET_IMM, type Form } from "./forms.ts";

/** Decoded records of one code page (the decoded cache's arrays and an offset lookup). */
export interface RecordSource {
  readonly kind: Uint8Array;
  readonly len: Uint8Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly d: Int32Array;
  readonly i: Int32Array;
  /** The record of the instruction at page offset `off` (decoding it), or 0 when unavailable. */
  recAt(off: number): number;
  /** The length of the instruction at `off` when it is a no-op the decoder left generic. */
  nopLen(off: number): number;
  /** A generic instruction at `off` the compiler recognises itself (forms.ts), or null. */
  formAt(off: number): Form | null;
}

/** One instruction of a block. */
export interface Insn {
  /** Page offset. */
  off: number;
  /** Record index; 0 for a no-op (multi-byte nop forms that have no record). */
  rec: number;
  /** Length in bytes. */
  len: number;
  /** A form recognised from the code bytes (rec is then 0). */
  form?: Form;
}

/** A basic block: straight-line instructions, the last one possibly a control transfer. */
export interface Block {
  /** Page offset of the first instruction (the block's label). */
  start: number;
  insns: Insn[];
  /** Page offset after the last instruction (where a block without a branch continues). */
  next: number;
}

/** Most blocks and instructions in one region. */
export const MAX_BLOCKS = 8, MAX_BLOCK_INSNS = 48;

/** Kinds that end a block (control transfers). */
export function isBranch(kind: number): boolean {
  return kind === K_JMP || kind === K_JCC || kind === K_CALL || kind === K_RET ||
    kind === K_JMP_R || kind === K_CALL_R;
}

/** Discovers the region of `entry`; empty when its first instruction is not supported. */
export function discover(src: RecordSource, entry: number): Block[] {
  const blocks: Block[] = [];
  const seen = new Set<number>();
  const queue = [entry];
  while (queue.length > 0 && blocks.length < MAX_BLOCKS) {
    const start = queue.shift()!;
    if (seen.has(start)) continue;
    seen.add(start);
    const insns: Insn[] = [];
    let o = start;
    for (;;) {
      if (insns.length >= MAX_BLOCK_INSNS || o > 4096 - 16) break;
      const rec = src.recAt(o);
      if (rec === 0) break;
      const kind = src.kind[rec];
      if (kind === K_GENERIC) {
        // Padding such as "xchg ax, ax" or "nopw": nothing to run.
        const len = src.nopLen(o);
        if (len !== 0) {
          insns.push({ off: o, rec: 0, len });
          o += len;
          continue;
        }
        const form = src.formAt(o);
        if (form === null) break;
        insns.push({ off: o, rec: 0, len: form.len, form });
        o += form.len;
        if (form.f === F_RET_IMM) break;
        if (form.f === F_CALL_M) {
          queue.push(o); // the return address
          break;
        }
        continue;
      }
      if (kind === K_NONE || kind === K_END) break;
      insns.push({ off: o, rec, len: src.len[rec] });
      const next = o + src.len[rec];
      if (isBranch(kind)) {
        if (kind === K_JMP || kind === K_JCC || kind === K_CALL) {
          const t = next + src.i[rec];
          if (t >= 0 && t < 4096) queue.push(t);
        }
        // The fall-through (also the return address of a call).
        if (kind !== K_JMP && kind !== K_RET && kind !== K_JMP_R) queue.push(next);
        o = next;
        break;
      }
      o = next;
    }
    if (insns.length === 0) {
      if (start === entry) return [];
      continue;
    }
    blocks.push({ start, insns, next: o });
  }
  return blocks;
}
