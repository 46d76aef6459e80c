/**
 * Shift and rotate semantics (group 2: rol ror rcl rcr shl shr sal sar) and shld/shrd,
 * with their flags set eagerly. Undefined flags follow the host the vectors were recorded
 * on (AMD): AF is set by every shift with a non-zero count; OF for counts above 1 comes
 * from the final result as for a count of 1.
 * @module
 */

import { F_AF, F_CF, F_OF, getCF, type LazyFlags, materialize, setArith, szp } from "../flags.ts";

/** Group-2 operation numbers (ModRM reg). */
export const SH_ROL = 0, SH_ROR = 1, SH_RCL = 2, SH_RCR = 3, SH_SHL = 4, SH_SHR = 5;
export const SH_SAL = 6, SH_SAR = 7;

function setCfOf(c: LazyFlags, cf: number, of: number): void {
  const f = materialize(c);
  c.flags = (f & ~(F_CF | F_OF)) | cf | (of << 11);
}

/**
 * Performs a group-2 operation.
 * @param v the operand (size `sz` bytes)
 * @param count the raw count (masked to 5 bits here)
 * @returns the result (unchanged when the masked count is 0, flags untouched)
 */
export function shift(c: LazyFlags, op: number, v: number, count: number, sz: number): number {
  const cnt = count & 31;
  if (cnt === 0) return v;
  const n = sz << 3;
  const m = n === 32 ? -1 : (1 << n) - 1;
  const top = n - 1;
  v &= m;
  let r: number, cf: number;
  switch (op) {
    case 0: { // SH_ROL
      const e = cnt & top;
      r = e === 0 ? v : ((v << e) | (v >>> (n - e))) & m;
      cf = r & 1;
      setCfOf(c, cf, ((r >>> top) & 1) ^ cf);
      return r;
    }
    case 1: { // SH_ROR
      const e = cnt & top;
      r = e === 0 ? v : ((v >>> e) | (v << (n - e))) & m;
      cf = (r >>> top) & 1;
      setCfOf(c, cf, cf ^ ((r >>> (top - 1)) & 1));
      return r;
    }
    case 2: { // SH_RCL
      const e = n === 32 ? cnt : cnt % (n + 1);
      const cin = getCF(c);
      if (e === 0) {
        r = v;
        cf = cin;
      } else if (n === 32) {
        cf = (v >>> (32 - e)) & 1;
        r = e === 1 ? (v << 1) | cin : (v << e) | (cin << (e - 1)) | (v >>> (33 - e));
      } else {
        const x = v | (cin << n);
        const w = ((x << e) | (x >>> (n + 1 - e))) & ((1 << (n + 1)) - 1);
        r = w & m;
        cf = (w >>> n) & 1;
      }
      setCfOf(c, cf, ((r >>> top) & 1) ^ cf);
      return r;
    }
    case 3: { // SH_RCR
      const e = n === 32 ? cnt : cnt % (n + 1);
      const cin = getCF(c);
      if (e === 0) {
        r = v;
        cf = cin;
      } else if (n === 32) {
        cf = (v >>> (e - 1)) & 1;
        r = e === 1 ? (v >>> 1) | (cin << 31) : (v >>> e) | (cin << (32 - e)) | (v << (33 - e));
      } else {
        const x = v | (cin << n);
        const w = ((x >>> e) | (x << (n + 1 - e))) & ((1 << (n + 1)) - 1);
        r = w & m;
        cf = (w >>> n) & 1;
      }
      setCfOf(c, cf, ((r >>> top) & 1) ^ ((r >>> (top - 1)) & 1));
      return r;
    }
    case 4: // SH_SHL
    case 6: // SH_SAL
      r = cnt >= 32 ? 0 : (v << cnt) & m;
      cf = cnt <= n ? (v >>> (n - cnt)) & 1 : 0;
      setArith(c, cf | ((((r >>> top) & 1) ^ cf) << 11) | F_AF | szp(r, n));
      return r;
    case 5: // SH_SHR
      r = v >>> cnt;
      cf = cnt <= n ? (v >>> (cnt - 1)) & 1 : 0;
      setArith(c, cf | ((((r >>> top) ^ (r >>> (top - 1))) & 1) << 11) | F_AF | szp(r, n));
      return r;
    default: {
      const sv = (v << (32 - n)) >> (32 - n);
      r = (sv >> (cnt > 31 ? 31 : cnt)) & m;
      cf = (sv >> (cnt - 1 > 31 ? 31 : cnt - 1)) & 1;
      setArith(c, cf | F_AF | szp(r, n));
      return r;
    }
  }
}

/**
 * shld (left = true) or shrd of `d` with bits from `s`.
 * @returns the result; flags untouched when the masked count is 0
 */
export function shiftDouble(
  c: LazyFlags,
  left: boolean,
  d: number,
  s: number,
  count: number,
  sz: number,
): number {
  const cnt = count & 31;
  if (cnt === 0) return d;
  let r: number, cf: number;
  if (sz === 4) {
    if (left) {
      r = (d << cnt) | (s >>> (32 - cnt));
      cf = (d >>> (32 - cnt)) & 1;
    } else {
      r = (d >>> cnt) | (s << (32 - cnt));
      cf = (d >>> (cnt - 1)) & 1;
    }
    const of = left ? ((r >>> 31) ^ cf) & 1 : ((r >>> 31) ^ (r >>> 30)) & 1;
    setArith(c, cf | (of << 11) | F_AF | szp(r, 32));
    return r;
  }
  // 16-bit: counts above 16 continue through the 48-bit pattern d:s:s (shld) or s:s:d
  // (shrd), i.e. a rotate of the source, as the AMD host does.
  d &= 0xffff;
  s &= 0xffff;
  if (left) {
    const x = d * 4294967296 + s * 65536 + s;
    r = Math.floor(x / 2 ** (32 - cnt)) & 0xffff;
    cf = Math.floor(x / 2 ** (48 - cnt)) & 1;
  } else {
    const x = s * 4294967296 + s * 65536 + d;
    r = Math.floor(x / 2 ** cnt) & 0xffff;
    cf = Math.floor(x / 2 ** (cnt - 1)) & 1;
  }
  let of = left ? ((r >>> 15) ^ cf) & 1 : ((r >>> 15) ^ (r >>> 14)) & 1;
  if (cnt > 16) {
    cf = 0;
    if (left) of = 0;
  } else if (cnt === 16 && left) of = cf;
  setArith(c, cf | (of << 11) | F_AF | szp(r, 16));
  return r;
}
