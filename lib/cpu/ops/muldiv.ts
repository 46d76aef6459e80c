/**
 * mul/imul/div/idiv semantics (64-bit products and dividends done exactly in float64
 * pieces, no BigInt). Division faults raise #DE through {@link DivHost.raise}.
 * @module
 */

import { F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF, type LazyFlags, materialize } from "../flags.ts";

/** What the mul/div group needs: flags, registers and the fault path. */
export interface DivHost extends LazyFlags {
  readonly regs: Int32Array;
  readonly r16: Uint16Array;
  readonly r8: Uint8Array;
  raise(vector: number, errorCode: number): never;
}

const VEC_DE = 0;

/** High 32 bits of the unsigned 64-bit product of a and b (u32 inputs as int32). */
export function mulHiU(a: number, b: number): number {
  const ua = a >>> 0, ub = b >>> 0;
  const al = ua & 0xffff, ah = ua >>> 16, bl = ub & 0xffff, bh = ub >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) | 0;
}

/** High 32 bits of the signed 64-bit product. */
export function mulHiS(a: number, b: number): number {
  let hi = mulHiU(a, b);
  if (a < 0) hi -= b;
  if (b < 0) hi -= a;
  return hi | 0;
}

/** mul/imul set CF=OF=overflow and leave SF ZF AF PF unchanged (as the AMD host does). */
function mulFlags(c: LazyFlags, overflow: boolean, _low: number, _bits: number): void {
  const f = materialize(c);
  c.flags = (f & ~(F_CF | F_OF)) | (overflow ? F_CF | F_OF : 0);
}

/** div/idiv flags (undefined by Intel): the AMD host clears SF ZF PF, sets AF, keeps CF OF. */
function divFlags(c: LazyFlags): void {
  const f = materialize(c);
  c.flags = (f & ~(F_SF | F_ZF | F_PF)) | F_AF;
}

/** One-operand mul (unsigned) or imul (signed) of the accumulator by `v`. */
export function mul1(c: DivHost, v: number, sz: number, signed: boolean): void {
  const r = c.regs;
  if (sz === 1) {
    const a = signed ? (c.r8[0] << 24) >> 24 : c.r8[0];
    const b = signed ? (v << 24) >> 24 : v & 0xff;
    const p = a * b;
    c.r16[0] = p;
    mulFlags(c, signed ? p !== (p << 24) >> 24 : p > 0xff, p, 8);
  } else if (sz === 2) {
    const a = signed ? (c.r16[0] << 16) >> 16 : c.r16[0];
    const b = signed ? (v << 16) >> 16 : v & 0xffff;
    const p = a * b;
    c.r16[0] = p;
    c.r16[4] = p >> 16;
    mulFlags(c, signed ? p !== (p << 16) >> 16 : p > 0xffff, p, 16);
  } else {
    const a = r[0];
    const lo = Math.imul(a, v);
    const hi = signed ? mulHiS(a, v) : mulHiU(a, v);
    r[0] = lo;
    r[2] = hi;
    mulFlags(c, signed ? hi !== lo >> 31 : hi !== 0, lo, 32);
  }
}

/** Two/three-operand imul: returns the truncated product, CF=OF when it did not fit. */
export function imul2(c: LazyFlags, a: number, b: number, sz: number): number {
  if (sz === 4) {
    const lo = Math.imul(a, b);
    // The float product is exact below 2^53, and anything larger overflows anyway.
    mulFlags(c, (a | 0) * (b | 0) !== lo, lo, 32);
    return lo;
  }
  const p = ((a << 16) >> 16) * ((b << 16) >> 16);
  mulFlags(c, p !== (p << 16) >> 16, p, 16);
  return p & 0xffff;
}

/**
 * Unsigned div of the accumulator (ax, dx:ax or edx:eax) by `v`; #DE on zero or overflow.
 * Flags as {@link divFlags}.
 */
export function div(c: DivHost, v: number, sz: number): void {
  const r = c.regs;
  divBody(c, v, sz, r);
  divFlags(c);
}

function divBody(c: DivHost, v: number, sz: number, r: Int32Array): void {
  if (sz === 1) {
    const d = v & 0xff;
    if (d === 0) c.raise(VEC_DE, -1);
    const n = c.r16[0];
    const q = Math.floor(n / d);
    if (q > 0xff) c.raise(VEC_DE, -1);
    c.r8[0] = q;
    c.r8[1] = n - q * d;
  } else if (sz === 2) {
    const d = v & 0xffff;
    if (d === 0) c.raise(VEC_DE, -1);
    const n = c.r16[4] * 65536 + c.r16[0];
    const q = Math.floor(n / d);
    if (q > 0xffff) c.raise(VEC_DE, -1);
    c.r16[0] = q;
    c.r16[4] = n - q * d;
  } else {
    const d = v >>> 0;
    if (d === 0) c.raise(VEC_DE, -1);
    const hi = r[2] >>> 0;
    if (hi >= d) c.raise(VEC_DE, -1);
    divU64(hi, r[0] >>> 0, d);
    r[0] = divQ;
    r[2] = divR;
  }
}

let divQ = 0, divR = 0;

/** (hi:lo) / d with hi < d: sets divQ/divR (u32). Exact: each partial fits in 48 bits. */
function divU64(hi: number, lo: number, d: number): void {
  let t = hi * 65536 + (lo >>> 16);
  let q1 = Math.floor(t / d);
  let rem = t - q1 * d;
  if (rem < 0) {
    q1--;
    rem += d;
  }
  t = rem * 65536 + (lo & 0xffff);
  let q0 = Math.floor(t / d);
  rem = t - q0 * d;
  if (rem < 0) {
    q0--;
    rem += d;
  }
  divQ = (q1 * 65536 + q0) | 0;
  divR = rem | 0;
}

/** Signed idiv of the accumulator by `v`; #DE on zero or a quotient out of range. */
export function idiv(c: DivHost, v: number, sz: number): void {
  idivBody(c, v, sz, c.regs);
  divFlags(c);
}

function idivBody(c: DivHost, v: number, sz: number, r: Int32Array): void {
  if (sz === 1) {
    const d = (v << 24) >> 24;
    if (d === 0) c.raise(VEC_DE, -1);
    const n = (c.r16[0] << 16) >> 16;
    const q = Math.trunc(n / d);
    if (q > 127 || q < -128) c.raise(VEC_DE, -1);
    c.r8[0] = q;
    c.r8[1] = n - q * d;
  } else if (sz === 2) {
    const d = (v << 16) >> 16;
    if (d === 0) c.raise(VEC_DE, -1);
    const n = ((c.r16[4] << 16) | c.r16[0]) | 0;
    const q = Math.trunc(n / d);
    if (q > 32767 || q < -32768) c.raise(VEC_DE, -1);
    c.r16[0] = q;
    c.r16[4] = n - q * d;
  } else {
    const d = v | 0;
    if (d === 0) c.raise(VEC_DE, -1);
    let hi = r[2], lo = r[0];
    const nNeg = hi < 0;
    if (nNeg) {
      lo = (-lo) | 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
    }
    const ad = d < 0 ? -d : d; // up to 2^31, exact
    const uhi = hi >>> 0;
    if (uhi >= ad) c.raise(VEC_DE, -1);
    divU64(uhi, lo >>> 0, ad);
    const qu = divQ >>> 0, ru = divR >>> 0;
    const qNeg = nNeg !== d < 0;
    if (qNeg ? qu > 0x80000000 : qu > 0x7fffffff) c.raise(VEC_DE, -1);
    r[0] = qNeg ? -qu | 0 : qu | 0;
    r[2] = nNeg ? -ru | 0 : ru | 0;
  }
}
