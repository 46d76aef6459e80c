/**
 * Bit instructions in 64-bit mode: bt/bts/btr/btc (register, imm8, and memory forms whose
 * signed register bit offset reaches outside the operand), bsf/bsr (F3 0F BC/BD too: with
 * no BMI1/ABM in CPUID, tzcnt/lzcnt execute as bsf/bsr), popcnt (F3 0F B8), bswap with
 * REX.W/REX.B, shld/shrd (shift64.ts computes them). Flags follow the host CPU (AMD) where
 * the SDM leaves them undefined: bt* change only CF; bsf/bsr clear CF OF SF AF and set ZF
 * and PF from the source and the index; a zero source leaves the destination unchanged.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_ARITH, F_CF, F_ZF, LF_NONE, materialize, PARITY } from "../flags.ts";
import { VEC_UD } from "../platform.ts";
import { D, fetch8, getLo, modrm, opSize, readReg, readRm, writeReg, writeRm } from "./decode64.ts";
import { V } from "./mem64.ts";
import { R } from "./alu64.ts";
import { shiftDouble } from "./shift64.ts";

function flagsNow(c: CpuCore): number {
  if (c.lfOp !== LF_NONE) {
    const fl = materialize(c);
    c.lfOp = LF_NONE;
    return fl;
  }
  return c.flags;
}

/** Moves the effective address by the signed byte displacement (lo, hi) of a bit offset. */
function eaMove(lo: number, hi: number): void {
  const s = (D.eaLo >>> 0) + (lo >>> 0);
  D.eaLo = s | 0;
  D.eaHi = D.a32 ? 0 : (D.eaHi + hi + (s > 0xffffffff ? 1 : 0)) | 0;
}

/**
 * bt (op 0), bts (1), btr (2), btc (3) of r/m (decoded) at `size` bits, bit offset
 * (oLo, oHi); `fromReg`: a register offset, which addresses memory outside the operand.
 */
function bitOp(c: CpuCore, op: number, size: number, oLo: number, oHi: number, fromReg: boolean) {
  if (fromReg && D.isMem) {
    // The byte displacement: the signed offset >> 3, aligned down to the operand size.
    const align = ~((size >> 3) - 1);
    if (size === 64) eaMove(((oLo >>> 3) | (oHi << 29)) & align, oHi >> 3);
    else {
      const off = size === 32 ? oLo : (oLo << 16) >> 16;
      eaMove((off >> 3) & align, off >> 31);
    }
  }
  const n = oLo & (size - 1);
  readRm(c, size);
  let lo = V[0], hi = V[1];
  const word = n < 32 ? lo : hi, m = 1 << (n & 31);
  const cf = (word & m) !== 0;
  const fl = flagsNow(c) & ~F_CF;
  c.flags = cf ? fl | F_CF : fl;
  if (op === 0) return;
  const nw = op === 1 ? word | m : op === 2 ? word & ~m : word ^ m;
  if (n < 32) lo = nw;
  else hi = nw;
  writeRm(c, size, lo, hi);
}

/** 0F A3/AB/B3/BB: bt* r/m, reg. */
export function btReg(c: CpuCore, b: number): void {
  const size = opSize();
  modrm(c, 0);
  readReg(c, D.reg, size);
  bitOp(c, (b >> 3) & 3, size, V[0], V[1], true);
}

/** 0F BA: bt* r/m, imm8 (/4../7). */
export function btImm(c: CpuCore): void {
  const size = opSize();
  modrm(c, 1);
  const op = D.reg & 7;
  if (op < 4) c.raise(VEC_UD, -1);
  bitOp(c, op - 4, size, fetch8(c), 0, false);
}

/** Index of the lowest (forward) or highest set bit of (lo, hi), or -1. */
function scan(lo: number, hi: number, forward: boolean): number {
  if (forward) {
    if (lo !== 0) return 31 - Math.clz32(lo & -lo);
    return hi !== 0 ? 63 - Math.clz32(hi & -hi) : -1;
  }
  if (hi !== 0) return 63 - Math.clz32(hi);
  return lo !== 0 ? 31 - Math.clz32(lo) : -1;
}

/** 0F BC/BD: bsf/bsr (with F3 too: tzcnt/lzcnt are not advertised). */
export function bitScan(c: CpuCore, b: number): void {
  const size = opSize();
  modrm(c, 0);
  readRm(c, size);
  const i = scan(V[0], V[1], b === 0xbc);
  const fl = flagsNow(c) & ~F_ARITH;
  if (i < 0) {
    c.flags = fl | F_ZF | PARITY[0];
    return;
  }
  c.flags = fl | PARITY[i];
  writeReg(c, D.reg, size, i, 0);
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** F3 0F B8: popcnt (0F B8 without F3 is #UD). */
export function popcnt(c: CpuCore): void {
  if (D.rep !== 0xf3) c.raise(VEC_UD, -1);
  const size = opSize();
  modrm(c, 0);
  readRm(c, size);
  const n = popcount32(V[0]) + popcount32(V[1]);
  const fl = flagsNow(c) & ~F_ARITH;
  c.flags = n === 0 ? fl | F_ZF : fl;
  writeReg(c, D.reg, size, n, 0);
}

function swap32(v: number): number {
  return (v >>> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

/** 0F C8+r: bswap (64-bit with REX.W; 16-bit operands clear the low word, as hardware). */
export function bswap(c: CpuCore, b: number): void {
  const r = (b & 7) | ((D.rex & 1) << 3);
  const size = opSize();
  if (size === 64) return writeReg(c, r, 64, swap32(c.lm.hi[r]), swap32(getLo(c, r)));
  if (size === 32) return writeReg(c, r, 32, swap32(getLo(c, r)), 0);
  writeReg(c, r, 16, 0, 0);
}

/** 0F A4/A5 (shld) and AC/AD (shrd) r/m, reg, imm8 or CL. */
export function shiftDoubleOp(c: CpuCore, b: number): void {
  const size = opSize();
  const imm = (b & 1) === 0;
  modrm(c, imm ? 1 : 0);
  const count = imm ? fetch8(c) : getLo(c, 1) & 0xff;
  readReg(c, D.reg, size);
  const sLo = V[0], sHi = V[1];
  readRm(c, size);
  const dLo = V[0];
  if (shiftDouble(c, b < 0xa8, size, dLo, V[1], sLo, sHi, count)) writeRm(c, size, R[0], R[1]);
  else if (size === 32 && !D.isMem) writeReg(c, D.rm, 32, dLo, 0);
}
