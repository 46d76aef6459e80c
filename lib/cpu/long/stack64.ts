/**
 * Stack instructions in 64-bit mode beyond push/pop r64: 16-bit push/pop (0x66), pop r/m
 * (8F /0, the address computed with RSP already incremented), push imm16, enter (nesting
 * level 0..31) and leave at 64 and 16 bits, pushf/popf (64-bit and 0x66 forms; popf applies
 * the CPL/IOPL rules of the SDM through ops/far.ts's loadFlags: IOPL only at CPL 0, IF only
 * at CPL <= IOPL, RF and VM cleared). Non-canonical stack addresses raise #SS(0)
 * (decode64's stack helpers). Every form commits RSP after its last memory access.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_UD } from "../platform.ts";
import { loadFlags } from "../ops/far.ts";
import {
  D,
  dropStack,
  fetch8,
  fetchImm,
  getLo,
  modrm,
  peekN,
  pushN,
  readReg,
  stackCheck,
  writeReg,
  writeRm,
} from "./decode64.ts";
import { A_WRITE, read64, V, write64, xlate64 } from "./mem64.ts";

/** The stack operand size in bytes: 2 with 0x66, else 8 (REX.W or not). */
function stackBytes(): number {
  return D.o16 && (D.rex & 8) === 0 ? 2 : 8;
}

/** 50-5F: push/pop of a register (16-bit with 0x66). */
export function pushPopReg(c: CpuCore, b: number): void {
  const r = (b & 7) | ((D.rex & 1) << 3);
  const n = stackBytes();
  if (b < 0x58) {
    readReg(c, r, n * 8);
    return pushN(c, V[0], V[1], n);
  }
  peekN(c, n);
  const lo = V[0], hi = V[1];
  dropStack(c, n);
  writeReg(c, r, n * 8, lo, hi);
}

/** 68/6A: push imm32/imm8 sign-extended to 64 bits, or imm16/imm8 with 0x66. */
export function pushImm(c: CpuCore, b: number): void {
  const n = stackBytes();
  const imm = fetchImm(c, b === 0x6a ? 1 : n === 2 ? 2 : 4);
  pushN(c, imm, imm >> 31, n);
}

/** 8F /0: pop r/m (64-bit, 16-bit with 0x66); the address uses the incremented RSP. */
export function popRm(c: CpuCore): void {
  const n = stackBytes();
  peekN(c, n);
  const lo = V[0], hi = V[1];
  const spLo = c.regs[4], spHi = c.lm.hi[4];
  dropStack(c, n);
  try {
    modrm(c, 0);
    if ((D.reg & 7) !== 0) c.raise(VEC_UD, -1);
    writeRm(c, n * 8, lo, hi);
  } catch (e) {
    c.regs[4] = spLo;
    c.lm.hi[4] = spHi;
    throw e;
  }
}

/** 9C: pushf (VM and RF read as 0). */
export function pushf(c: CpuCore): void {
  pushN(c, c.getEflags() & 0xfcffff, 0, stackBytes());
}

/** 9D: popf. */
export function popf(c: CpuCore): void {
  const n = stackBytes();
  peekN(c, n);
  const v = V[0];
  dropStack(c, n);
  loadFlags(c, v, n === 2, false);
}

/** (lo, hi) - n into T. */
const T = new Int32Array(2);
function sub(lo: number, hi: number, n: number): void {
  const s = (lo >>> 0) - n;
  T[0] = s | 0;
  T[1] = (hi + (s < 0 ? -1 : 0)) | 0;
}

/** Writes `bytes` of (lo, hi) at the stack address (aLo, aHi), #SS(0) if non-canonical. */
function stackWrite(c: CpuCore, aLo: number, aHi: number, lo: number, hi: number, bytes: number) {
  stackCheck(c, aHi);
  V[0] = lo;
  V[1] = hi;
  write64(c, aLo, aHi, bytes);
}

/** C8 iw ib: enter (64-bit frames, 16-bit with 0x66). */
export function enter(c: CpuCore): void {
  const alloc = fetchImm(c, 2) & 0xffff, level = fetch8(c) & 31;
  const n = stackBytes();
  let spLo = c.regs[4], spHi = c.lm.hi[4];
  let bpLo = c.regs[5], bpHi = c.lm.hi[5];
  sub(spLo, spHi, n);
  spLo = T[0];
  spHi = T[1];
  stackWrite(c, spLo, spHi, bpLo, bpHi, n);
  const frameLo = spLo, frameHi = spHi;
  if (level > 0) {
    for (let i = 1; i < level; i++) {
      sub(bpLo, bpHi, n);
      bpLo = T[0];
      bpHi = T[1];
      stackCheck(c, bpHi);
      read64(c, bpLo, bpHi, n);
      const vLo = V[0], vHi = V[1];
      sub(spLo, spHi, n);
      spLo = T[0];
      spHi = T[1];
      stackWrite(c, spLo, spHi, vLo, vHi, n);
    }
    sub(spLo, spHi, n);
    spLo = T[0];
    spHi = T[1];
    stackWrite(c, spLo, spHi, frameLo, frameHi, n);
  }
  sub(spLo, spHi, alloc);
  if (alloc > 0) {
    stackCheck(c, T[1]);
    xlate64(c, T[0], T[1], A_WRITE); // the new stack bottom must be writable
  }
  writeReg(c, 5, n * 8, frameLo, frameHi);
  c.regs[4] = T[0];
  c.lm.hi[4] = T[1];
}

/** C9: leave (RSP = RBP, pop RBP; BP only with 0x66). */
export function leave(c: CpuCore): void {
  const n = stackBytes();
  const lo = getLo(c, 5), hi = c.lm.hi[5];
  stackCheck(c, hi);
  read64(c, lo, hi, n);
  const vLo = V[0], vHi = V[1];
  c.regs[4] = lo;
  c.lm.hi[4] = hi;
  dropStack(c, n);
  writeReg(c, 5, n * 8, vLo, vHi);
}
