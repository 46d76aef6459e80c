/**
 * x87 80-bit extended format <-> double. The x87 unit keeps registers as doubles, so
 * conversions are exact for values a double represents; wider significands round to
 * nearest. NaN payloads keep their top 52 bits and the quiet bit.
 * @module
 */

import { fromBits64, hiBits64, loBits64 } from "./ieee.ts";

/** Set by {@link f80ToDouble}: 1 when the value read was a signalling NaN. */
export const f80In = { snan: 0 };

/** Output of {@link doubleToF80}: [significand low 32, significand high 32, sign|exponent]. */
export const f80Out: Uint32Array = new Uint32Array(3);

const TWO32 = 4294967296;

/**
 * Converts an 80-bit value to a double.
 * @param lo significand bits 0..31
 * @param hi significand bits 32..63 (bit 63 is the explicit integer bit)
 * @param se sign (bit 15) and biased exponent (bits 0..14)
 */
export function f80ToDouble(lo: number, hi: number, se: number): number {
  lo >>>= 0;
  hi >>>= 0;
  const neg = (se & 0x8000) !== 0;
  const e = se & 0x7fff;
  f80In.snan = 0;
  if (e === 0x7fff) {
    if ((hi & 0x7fffffff) === 0 && lo === 0) return neg ? -Infinity : Infinity;
    // NaN: fraction bits 62..11 -> double fraction bits 51..0
    let fhi = (hi >>> 11) & 0xfffff;
    let flo = ((hi << 21) | (lo >>> 11)) >>> 0;
    if (fhi === 0 && flo === 0) flo = 1;
    if ((hi & 0x40000000) !== 0) fhi |= 0x80000;
    else f80In.snan = 1;
    return fromBits64(flo, (neg ? 0x80000000 : 0) | 0x7ff00000 | fhi);
  }
  if (hi === 0 && lo === 0) return neg ? -0 : 0;
  // value = significand * 2^(e - 16383 - 63); one rounding in the sum below
  let v = hi * TWO32 + lo;
  let k = (e === 0 ? 1 : e) - 16383 - 63;
  while (k > 1000) {
    v *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    v *= 2 ** -1000;
    k += 1000;
  }
  v *= 2 ** k;
  return neg ? -v : v;
}

/**
 * Converts a double to 80-bit format, into {@link f80Out}.
 * @param v the value
 * @param snan 1 to store a NaN as signalling (its quiet bit clear)
 */
export function doubleToF80(v: number, snan = 0): void {
  const bhi = hiBits64(v), blo = loBits64(v);
  const sign = bhi & 0x80000000 ? 0x8000 : 0;
  const e = (bhi >>> 20) & 0x7ff;
  let fhi = bhi & 0xfffff, flo = blo >>> 0;
  if (e === 0x7ff) {
    f80Out[2] = sign | 0x7fff;
    f80Out[1] = 0x80000000 | (fhi << 11) | (flo >>> 21);
    if (snan && (fhi | flo) !== 0) f80Out[1] &= ~0x40000000;
    f80Out[0] = flo << 11;
    return;
  }
  if (e === 0) {
    if (fhi === 0 && flo === 0) {
      f80Out[0] = 0;
      f80Out[1] = 0;
      f80Out[2] = sign;
      return;
    }
    // A double denormal is a normal 80-bit value: normalise the fraction.
    let exp = -1022;
    while ((fhi & 0x100000) === 0) {
      fhi = (fhi << 1) | (flo >>> 31);
      flo = (flo << 1) >>> 0;
      exp--;
    }
    f80Out[2] = sign | (exp + 16383);
    f80Out[1] = 0x80000000 | ((fhi & 0xfffff) << 11) | (flo >>> 21);
    f80Out[0] = flo << 11;
    return;
  }
  f80Out[2] = sign | (e - 1023 + 16383);
  f80Out[1] = 0x80000000 | (fhi << 11) | (flo >>> 21);
  f80Out[0] = flo << 11;
}
