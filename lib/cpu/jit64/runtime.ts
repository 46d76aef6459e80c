/**
 * What generated 64-bit regions call off their fast paths: memory accesses through
 * mem64.ts (TLB misses, page crossings, faults with CR2, A/D bits), the stack-access rule
 * (#SS(0) for a non-canonical RSP/RBP-based address), #GP(0) for a non-canonical jump
 * target, and the flags of shl/shr/sar as lib/cpu/long/shift64.ts computes them.
 * @module
 */
import type { CpuCore } from "../core.ts";
import { F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF, PARITY } from "../flags.ts";
import { VEC_GP, VEC_SS } from "../platform.ts";
import { read64, V, write64 } from "../long/mem64.ts";

/** Whether a high half is canonical (bits 63..47 equal). */
function canonical(hi: number): boolean {
  const t = hi >> 15;
  return t === 0 || t === -1;
}

/** Reads `size` bytes at hi:lo into mem64's V (`ss`: a stack access). */
export function rd(c: CpuCore, lo: number, hi: number, size: number, ss: boolean): void {
  if (ss && !canonical(hi)) c.raise(VEC_SS, 0);
  read64(c, lo, hi, size);
}

/** Writes `size` bytes of (vlo, vhi) at hi:lo (`ss`: a stack access). */
export function wr(
  c: CpuCore,
  lo: number,
  hi: number,
  size: number,
  vlo: number,
  vhi: number,
  ss: boolean,
): void {
  if (ss && !canonical(hi)) c.raise(VEC_SS, 0);
  V[0] = vlo;
  V[1] = vhi;
  write64(c, lo, hi, size);
}

/** Raises #GP(0) (a jump to a non-canonical address). */
export function gp(c: CpuCore): never {
  return c.raise(VEC_GP, 0);
}

/** Bit i (0..63) of (lo, hi). */
function bit(lo: number, hi: number, i: number): number {
  return i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
}

/**
 * EFLAGS after shl (op 4), shr (5) or sar (7) of (lo, hi) at 32 or 64 bits by n (1..63,
 * already masked) giving (rlo, rhi): CF, OF, SF, ZF, PF from the result, AF set.
 */
export function shiftFlags(
  fl: number,
  op: number,
  size: number,
  lo: number,
  hi: number,
  n: number,
  rlo: number,
  rhi: number,
): number {
  const wide = size === 64, t = size - 1;
  let cf: number;
  if (wide) cf = op === 4 ? bit(lo, hi, 64 - n) : bit(lo, hi, n - 1);
  else if (op === 4) cf = (lo >>> (32 - n)) & 1;
  else if (op === 5) cf = (lo >>> (n - 1)) & 1;
  else cf = (lo >> (n - 1)) & 1;
  const h = wide ? rhi : 0;
  const msb = bit(rlo, h, t);
  const of = op === 4 ? msb ^ cf : msb ^ bit(rlo, h, t - 1);
  fl = (fl & ~(F_CF | F_OF | F_SF | F_ZF | F_PF)) | F_AF;
  if (cf) fl |= F_CF;
  if (of) fl |= F_OF;
  if (msb) fl |= F_SF;
  if (rlo === 0 && h === 0) fl |= F_ZF;
  return fl | PARITY[rlo & 0xff];
}

/** The low 64 bits of the last {@link imul64} product: [lo, hi]. */
export const IM: Int32Array = new Int32Array(2);
const LA = new Float64Array(4), LB = new Float64Array(4), LP = new Float64Array(8);

/**
 * Signed 64 x 64-bit multiply of (a0, a1) by (b0, b1) on 16-bit limbs (no BigInt): the low
 * 64 bits go to {@link IM}.
 * @returns 1 when the signed product does not fit in 64 bits (imul's CF and OF), else 0
 */
export function imul64(a0: number, a1: number, b0: number, b1: number): number {
  LA[0] = a0 & 0xffff;
  LA[1] = a0 >>> 16;
  LA[2] = a1 & 0xffff;
  LA[3] = a1 >>> 16;
  LB[0] = b0 & 0xffff;
  LB[1] = b0 >>> 16;
  LB[2] = b1 & 0xffff;
  LB[3] = b1 >>> 16;
  LP.fill(0);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) LP[i + j] += LA[i] * LB[j];
  let carry = 0;
  for (let k = 0; k < 8; k++) {
    const v = LP[k] + carry;
    LP[k] = v % 65536;
    carry = Math.floor(v / 65536);
  }
  const lo = LP[0] + LP[1] * 65536, hi = LP[2] + LP[3] * 65536;
  let h0 = (LP[4] + LP[5] * 65536) | 0, h1 = (LP[6] + LP[7] * 65536) | 0;
  // signed: the unsigned high half minus b for a < 0, minus a for b < 0
  if (a1 < 0) {
    const t = (h0 - b0) | 0;
    h1 = (h1 - b1 - ((h0 >>> 0) < (b0 >>> 0) ? 1 : 0)) | 0;
    h0 = t;
  }
  if (b1 < 0) {
    const t = (h0 - a0) | 0;
    h1 = (h1 - a1 - ((h0 >>> 0) < (a0 >>> 0) ? 1 : 0)) | 0;
    h0 = t;
  }
  IM[0] = lo | 0;
  IM[1] = hi | 0;
  const ext = IM[1] >> 31;
  return h0 !== ext || h1 !== ext ? 1 : 0;
}
