/**
 * decode64's operands against iced-x86 in 64-bit mode: random instructions with a ModRM
 * byte (legacy prefixes, REX, one- and two-byte opcodes, random ModRM/SIB/displacement)
 * decoded by pvx (`prefixes` + `modrm` of lib/cpu/long/decode64.ts, fetching through the
 * 64-bit TLB) and by iced-x86 at the same RIP with random 64-bit register values:
 * - the effective address (base + index * scale + displacement with REX.X/B, RIP-relative
 *   from the end of the instruction, 67 truncating to 32 bits, carries into the high
 *   half) equals iced's operand computed from the same registers;
 * - the FS/GS override is iced's memory segment (a later ES/CS/SS/DS prefix does not
 *   cancel it in 64-bit mode: the host CPU agrees, `65 3e 48 8b 00` reads gs:[rax]);
 * - the ModRM register operands (reg with REX.R, r/m with REX.B) are iced's register
 *   operands, 8-bit ones obeying the AH..BH (no REX) / SPL..DIL (REX) rule.
 * 20,000 instructions by default, 1,000,000 under PVX_FUZZ=full.
 * @module
 */

import assert from "node:assert/strict";
import { Code, Decoder, DecoderOptions, OpKind, Register } from "iced-x86";
import { D, fetch8, getLo, modrm, prefixes } from "../../../lib/cpu/long/decode64.ts";
import type { Cpu } from "../../../lib/cpu/mod.ts";
import { machine64Paged, PTE_RW } from "./sandbox64.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const COUNT = FULL ? 1_000_000 : 20_000;

/** Opcodes whose ModRM reg and r/m are both register operands (when r/m is a register). */
const REG_RM = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((op) => [op * 8, op * 8 + 1, op * 8 + 2, op * 8 + 3]),
  0x63,
  0x69,
  0x6b,
  0x84,
  0x85,
  0x86,
  0x87,
  0x88,
  0x89,
  0x8a,
  0x8b,
];
const REG_RM_0F = [0xaf, 0xb6, 0xb7, 0xbe, 0xbf, 0xa3, 0xab, 0xb3, 0xbb, 0xbc, 0xbd];
for (let b = 0x40; b < 0x50; b++) REG_RM_0F.push(b);
/** Opcodes whose ModRM reg is an opcode extension (r/m is the first operand). */
const GROUP = [0x80, 0x81, 0x83, 0xc0, 0xc1, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3, 0xf6, 0xf7];
const GROUP_0F: number[] = [];
for (let b = 0x90; b < 0xa0; b++) GROUP_0F.push(b);
const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0x64, 0x65, 0x2e, 0x3e, 0x26, 0x36];
/** Code pages (linear lo, hi) -> frames 0x10.. : low, below a 4 GiB boundary, kernel half. */
const CODE: [number, number][] = [[0x1000, 0], [0xfffff000 | 0, 0x7fff], [0x80000000 | 0, -1]];

function rng(seed: number): () => number {
  let s = seed | 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Of an iced general-purpose register: [number 0..15, AH..BH, 8-bit], or null. */
function gpr(r: Register): [number, boolean, boolean] | null {
  if (r >= Register.AL && r <= Register.R15L) {
    if (r <= Register.BL) return [r - Register.AL, false, true];
    if (r <= Register.BH) return [r - Register.AL, true, true];
    return [r - Register.SPL + 4, false, true];
  }
  if (r >= Register.AX && r <= Register.R15W) return [r - Register.AX, false, false];
  if (r >= Register.EAX && r <= Register.R15D) return [r - Register.EAX, false, false];
  if (r >= Register.RAX && r <= Register.R15) return [r - Register.RAX, false, false];
  return null;
}

function reg64(cpu: Cpu, n: number): bigint {
  return (BigInt(cpu.lm.hi[n] >>> 0) << 32n) | BigInt(getLo(cpu, n) >>> 0);
}

/** iced's effective address (before the segment base), from the CPU's registers. */
function icedEa(cpu: Cpu, base: Register, index: Register, scale: number, disp: bigint): bigint {
  let ea = disp;
  let a32 = false;
  for (const [r, k] of [[base, 1n], [index, BigInt(scale)]] as const) {
    if (r === Register.None) continue;
    const g = gpr(r);
    assert.ok(g !== null, `address register ${Register[r]}`);
    const wide = r >= Register.RAX;
    if (!wide) a32 = true;
    const v = reg64(cpu, g[0]);
    ea += (wide ? v : v & 0xffffffffn) * k;
  }
  return ea & (a32 ? 0xffffffffn : 0xffffffffffffffffn);
}

/** Compares `count` random instructions. */
function compare(count: number): void {
  const m = machine64Paged(64, 0x20, 0x10);
  CODE.forEach(([lo, hi], i) => m.tables.map(lo, hi, 0x10 + i, PTE_RW));
  const cpu = m.cpu;
  const next = rng(0x1ced64);
  const bytes = new Uint8Array(16);
  let compared = 0, invalid = 0, mem = 0, ripRel = 0;
  const failures: string[] = [];
  for (let k = 0; k < count && failures.length < 10; k++) {
    // The instruction: prefixes, REX, opcode, then random ModRM/SIB/displacement/immediate.
    let n = 0;
    for (let p = next() % 4; p > 1; p--) bytes[n++] = PREFIXES[next() % PREFIXES.length];
    if (next() % 5 < 3) bytes[n++] = 0x40 | (next() & 15);
    const pick = next() % 4;
    const table = [REG_RM, REG_RM_0F, GROUP, GROUP_0F][pick];
    if (pick === 1 || pick === 3) bytes[n++] = 0x0f;
    bytes[n++] = table[next() % table.length];
    const group = pick >= 2;
    while (n < 16) bytes[n++] = next() & 0xff;
    const [pageLo, pageHi] = CODE[next() % CODE.length];
    const off = next() % (4096 - 16);
    const lo = (pageLo + off) | 0;
    const frame = 0x10 + CODE.findIndex(([l, h]) => l === pageLo && h === pageHi);
    const at = frame * 4096 + off;
    m.mem.u8.set(bytes, at);
    if (next() % 4 === 0) {
      // Force RIP-relative addressing in the ModRM after the opcode.
      const modrmAt = at + modrmOffset(bytes);
      m.mem.u8[modrmAt] = (m.mem.u8[modrmAt] & 0x38) | 5;
    }
    for (let r = 0; r < 16; r++) {
      const lo32 = next() % 3 === 0 ? next() % 256 : next() | 0;
      if (r < 8) cpu.regs[r] = lo32;
      else cpu.lm.rlo[r - 8] = lo32;
      cpu.lm.hi[r] = next() % 3 === 0 ? 0 : next() % 2 === 0 ? -1 : next() | 0;
    }
    const rip = (BigInt(pageHi >>> 0) << 32n) | BigInt(lo >>> 0);

    const code = m.mem.u8.slice(at, at + 16);
    const dec = new Decoder(64, code, DecoderOptions.None);
    dec.ip = rip;
    const ins = dec.decode();
    const hexOf = () => Array.from(code, (b) => b.toString(16).padStart(2, "0")).join(" ");
    try {
      // C6 F8 / C7 F8 are xabort / xbegin (RTM), not the mov group's ModRM forms.
      if (
        ins.code === Code.INVALID || ins.code === Code.Xabort_imm8 ||
        ins.code === Code.Xbegin_rel16 || ins.code === Code.Xbegin_rel32
      ) {
        invalid++;
        continue;
      }
      // pvx: prefixes, opcode, ModRM with the immediate length iced found.
      const decodeOurs = (immLen: number) => {
        cpu.eip = lo;
        cpu.lm.ripHi = pageHi;
        if (prefixes(cpu) === 0x0f) fetch8(cpu);
        modrm(cpu, immLen);
      };
      decodeOurs(0);
      const immLen = ins.length - D.len;
      if (immLen < 0 || immLen > 8) {
        failures.push(`ModRM ends at ${D.len}, iced length ${ins.length}: ${hexOf()}`);
        continue;
      }
      decodeOurs(immLen);
      compared++;
      const where = `${hexOf()} (iced: ${ins.code}, ${Code[ins.code]})`;
      let memOp = -1;
      const regs: [number, boolean, boolean][] = [];
      for (let i = 0; i < ins.opCount; i++) {
        const kind = ins.opKind(i);
        if (kind === OpKind.Memory) memOp = i;
        else if (kind === OpKind.Register) {
          const g = gpr(ins.opRegister(i));
          if (g !== null) regs.push(g);
        }
      }
      if (D.isMem !== (memOp >= 0)) {
        failures.push(`memory operand ${D.isMem} vs iced ${memOp >= 0}: ${where}`);
        continue;
      }
      if (memOp >= 0) {
        mem++;
        const want = ins.isIpRelMemoryOperand ? ins.ipRelMemoryAddress : icedEa(
          cpu,
          ins.memoryBase,
          ins.memoryIndex,
          ins.memoryIndexScale,
          ins.memoryDisplacementU64,
        );
        if (ins.isIpRelMemoryOperand) ripRel++;
        const got = (BigInt(D.eaHi >>> 0) << 32n) | BigInt(D.eaLo >>> 0);
        if (got !== want) {
          failures.push(`EA 0x${got.toString(16)} vs iced 0x${want.toString(16)}: ${where}`);
          continue;
        }
        const seg = ins.memorySegment === Register.FS
          ? 4
          : ins.memorySegment === Register.GS
          ? 5
          : -1;
        if (D.segSlot !== seg) {
          failures.push(`segment slot ${D.segSlot} vs iced ${seg}: ${where}`);
        }
      }
      // Register operands from ModRM.
      const ours: number[] = group ? [] : [D.reg];
      if (!D.isMem) ours.push(D.rm);
      const theirs = group ? regs.slice(0, ours.length) : regs;
      const a = ours.toSorted((x, y) => x - y),
        b = theirs.map((g) => g[0]).toSorted((x, y) => x - y);
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        failures.push(`registers ${a} vs iced ${b}: ${where}`);
        continue;
      }
      // 8-bit registers 4..7: AH..BH without REX, SPL..DIL with it (readReg's rule).
      for (const [num, high, byte] of theirs) {
        if (byte && num >= 4 && num < 8 && high !== (D.rex === 0)) {
          failures.push(`8-bit register ${num} high=${high} with REX ${D.rex}: ${where}`);
        }
      }
    } finally {
      ins.free();
      dec.free();
    }
  }
  if (Deno.env.get("PVX_VERBOSE")) console.log({ compared, invalid, mem, ripRel });
  assert.deepEqual(failures, []);
  assert.ok(compared > count / 2, `only ${compared} of ${count} compared (${invalid} invalid)`);
  assert.ok(ripRel > count / 20, `only ${ripRel} RIP-relative operands`);
}

Deno.test(`decode64 agrees with iced-x86 on ModRM operands of ${COUNT} random instructions`, () => {
  compare(COUNT);
});

/** Offset of the ModRM byte: after legacy prefixes, REX and the one- or two-byte opcode. */
function modrmOffset(b: Uint8Array): number {
  let i = 0;
  while (PREFIXES.includes(b[i])) i++;
  if ((b[i] & 0xf0) === 0x40) i++;
  if (b[i] === 0x0f) i++;
  return i + 1;
}
