/**
 * mul, imul, div and idiv at 8, 16, 32 and 64 bits on int32 words, without BigInt:
 * products are 128-bit (four words in {@link P}), division is a 128-by-64-bit
 * shift-and-subtract. Operands below 64 bits are first extended to 64 (dividends to 128),
 * so one routine serves every size.
 * @module
 */

/** The product (mul) or quotient (div): four int32 words, least significant first. */
export const P: Int32Array = new Int32Array(4);
/** The remainder of {@link div}: [lo, hi]. */
export const REM: Int32Array = new Int32Array(2);

const TWO32 = 4294967296;
const M = new Float64Array(2); // mul32 result: lo, hi (unsigned)

/** Unsigned 32 x 32 -> 64 bits into M. */
function mul32(a: number, b: number): void {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const p0 = al * bl, p1 = al * bh, p2 = ah * bl, p3 = ah * bh;
  const mid = (p0 >>> 16) + (p1 & 0xffff) + (p2 & 0xffff);
  M[0] = ((mid << 16) | (p0 & 0xffff)) >>> 0;
  M[1] = (p3 + (p1 >>> 16) + (p2 >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

/** 64 x 64 -> 128-bit product of (aLo, aHi) and (bLo, bHi) into P, signed or unsigned. */
export function mul128(aLo: number, aHi: number, bLo: number, bHi: number, signed: boolean): void {
  const a0 = aLo >>> 0, a1 = aHi >>> 0, b0 = bLo >>> 0, b1 = bHi >>> 0;
  mul32(a0, b0);
  const r0 = M[0];
  let t = M[1];
  mul32(a0, b1);
  t += M[0];
  let t2 = M[1];
  mul32(a1, b0);
  t += M[0];
  t2 += M[1];
  mul32(a1, b1);
  t2 += M[0] + Math.floor(t / TWO32);
  let r3 = M[1] + Math.floor(t2 / TWO32);
  let r2 = t2 % TWO32;
  if (signed) {
    // The signed high half is the unsigned one minus b for a < 0 and minus a for b < 0.
    if (aHi < 0) {
      const l = r2 - b0;
      r2 = (l + TWO32) % TWO32;
      r3 = r3 - b1 - (l < 0 ? 1 : 0);
    }
    if (bHi < 0) {
      const l = r2 - a0;
      r2 = (l + TWO32) % TWO32;
      r3 = r3 - a1 - (l < 0 ? 1 : 0);
    }
  }
  P[0] = r0;
  P[1] = t % TWO32;
  P[2] = r2;
  P[3] = r3;
}

/** Negates the 128-bit value in P. */
function neg128(): void {
  let carry = 1;
  for (let i = 0; i < 4; i++) {
    const s = (~P[i] >>> 0) + carry;
    P[i] = s;
    carry = s >= TWO32 ? 1 : 0;
  }
}

/**
 * Divides the 128-bit dividend (n0..n3, least significant first) by (dLo, dHi), signed or
 * unsigned; the quotient must fit `size` bits (signed: -2^(size-1) .. 2^(size-1) - 1).
 * Returns false on a zero divisor or a quotient that does not fit (#DE); otherwise the
 * quotient is in P (low words) and the remainder in {@link REM}.
 */
export function div128(
  n0: number,
  n1: number,
  n2: number,
  n3: number,
  dLo: number,
  dHi: number,
  size: number,
  signed: boolean,
): boolean {
  if (dLo === 0 && dHi === 0) return false;
  const nNeg = signed && n3 < 0, dNeg = signed && dHi < 0;
  P[0] = n0;
  P[1] = n1;
  P[2] = n2;
  P[3] = n3;
  if (nNeg) neg128();
  let d0 = dLo >>> 0, d1 = dHi >>> 0;
  if (dNeg) {
    d0 = (~dLo >>> 0) + 1;
    d1 = (~dHi >>> 0) + (d0 >= TWO32 ? 1 : 0);
    d0 %= TWO32;
    d1 %= TWO32;
  }
  let r0 = 0, r1 = 0;
  for (let w = 3; w >= 0; w--) {
    const nw = P[w];
    let q = 0;
    for (let i = 31; i >= 0; i--) {
      const top = r1 >>> 31;
      r1 = ((r1 << 1) | (r0 >>> 31)) >>> 0;
      r0 = ((r0 << 1) | ((nw >>> i) & 1)) >>> 0;
      if (top !== 0 || r1 > d1 || (r1 === d1 && r0 >= d0)) {
        const l = r0 - d0;
        r0 = (l + TWO32) % TWO32;
        r1 = (r1 - d1 - (l < 0 ? 1 : 0) + TWO32) % TWO32;
        q |= 1 << i;
      }
    }
    P[w] = q;
  }
  // Range check on the magnitude: below 2^(size-1) (signed; 2^(size-1) itself when the
  // quotient is negative) or 2^size (unsigned).
  const bits = signed ? size - 1 : size;
  let over = false, exact = true; // exact: magnitude == 2^bits
  for (let w = 3; w >= 0; w--) {
    const lowBit = w * 32;
    const v = P[w] >>> 0;
    if (lowBit >= bits) {
      if (lowBit === bits) exact = exact && v === 1;
      else exact = exact && v === 0;
      if (v !== 0) over = true;
    } else if (bits < lowBit + 32) {
      const s = bits - lowBit, hiPart = v >>> s;
      if (hiPart !== 0) over = true;
      exact = exact && hiPart === 1 && (v & ((1 << s) - 1)) === 0;
    } else exact = exact && v === 0;
  }
  if (over && !(signed && nNeg !== dNeg && exact)) return false;
  if (nNeg !== dNeg) neg128();
  if (nNeg) {
    const l0 = (~r0 >>> 0) + 1;
    r1 = ((~r1 >>> 0) + (l0 >= TWO32 ? 1 : 0)) % TWO32;
    r0 = l0 % TWO32;
  }
  REM[0] = r0;
  REM[1] = r1;
  return true;
}
