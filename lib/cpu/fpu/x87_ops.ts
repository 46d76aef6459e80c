/**
 * x87 operations past the four basic ones: compares, fxam, fscale, fxtract, fprem/fprem1
 * and the transcendental instructions (approximated with JS Math: results may differ from
 * the host in the last bits; C1 and PE for them are not modelled exactly).
 * @module
 */

import {
  applyRounding64,
  DEFAULT_NAN,
  EXC_IE,
  EXC_PE,
  EXC_UE,
  EXC_ZE,
  expOf,
  ieee,
  mulPow2,
  NAN_X87,
  pickNan,
  quiet64,
  RC_NEAREST,
} from "./ieee.ts";
import { SW_C0, SW_C1, SW_C2, SW_C3, SW_CC, type X87State } from "./x87_state.ts";

/**
 * Compares a with b; sets C3/C2/C0 (and clears C1) per fcom/fucom; IE on NaN
 * (any NaN when `ordered`, signalling only otherwise; `snan` non-zero if one is).
 * @returns 0 greater, 1 less, 2 equal, 3 unordered (or -1 on an unmasked IE)
 */
export function compare(
  st: X87State,
  a: number,
  b: number,
  ordered: boolean,
  snan: number,
): number {
  let res: number;
  if (a !== a || b !== b) {
    const sig = snan !== 0 || ordered;
    res = 3;
    if (sig && st.signal(EXC_IE)) return -1;
  } else res = a > b ? 0 : a < b ? 1 : 2;
  st.sw &= ~SW_CC;
  st.sw |= res === 1 ? SW_C0 : res === 2 ? SW_C3 : res === 3 ? SW_C0 | SW_C2 | SW_C3 : 0;
  return res;
}

/** FXAM on ST(0): C1 = sign, C3/C2/C0 = class. */
export function fxam(st: X87State): void {
  st.sw &= ~SW_CC;
  const v = st.get(0);
  if (signOf(v)) st.sw |= SW_C1;
  if (st.isEmpty(0)) st.sw |= SW_C3 | SW_C0;
  else if (v !== v) st.sw |= SW_C0;
  else if (!isFinite(v)) st.sw |= SW_C2 | SW_C0;
  else if (v === 0) st.sw |= SW_C3;
  else st.sw |= SW_C2; // a double denormal is a normal 80-bit value
}

const sbuf = new Float64Array(1);
const sbits = new Uint32Array(sbuf.buffer);
/** Sign bit of a double (works for NaN). */
export function signOf(v: number): boolean {
  sbuf[0] = v;
  return (sbits[1] & 0x80000000) !== 0;
}

/** fscale: a * 2^trunc(b). */
export function fscale(a: number, b: number): number {
  if (a !== a || b !== b) return pickNan(a, b, NAN_X87);
  ieee.snanA = ieee.snanB = 0;
  if (!isFinite(b)) {
    if (b > 0) {
      if (a === 0) return invalid();
      return a * Infinity;
    }
    if (!isFinite(a)) return invalid();
    return a * 0;
  }
  if (a === 0 || !isFinite(a)) return a;
  let n = Math.trunc(b);
  if (n > 4000) n = 4000;
  if (n < -4000) n = -4000;
  let r = a;
  while (n > 1000) {
    r *= 2 ** 1000;
    n -= 1000;
  }
  while (n < -1000) {
    r *= 2 ** -1000;
    n += 1000;
  }
  r *= 2 ** n;
  if (!isFinite(r)) return applyRounding64(r, -r, RC_NEAREST);
  if (r === 0) ieee.flags |= EXC_UE | EXC_PE;
  return r;
}

function invalid(): number {
  ieee.flags |= EXC_IE;
  return DEFAULT_NAN;
}

/**
 * Result of {@link fxtract}: [exponent, significand]. A typed array, not an object:
 * V8 canonicalises NaNs stored in object fields.
 */
export const xtract: Float64Array = new Float64Array(2);

/** fxtract: splits v into an unbiased exponent and a significand in [1, 2). */
export function fxtract(v: number): void {
  const snan = ieee.snanA;
  ieee.snanA = 0;
  if (v !== v) {
    if (snan) ieee.flags |= EXC_IE;
    xtract[0] = xtract[1] = quiet64(v);
    return;
  }
  if (v === 0) {
    ieee.flags |= EXC_ZE;
    xtract[0] = -Infinity;
    xtract[1] = v;
    return;
  }
  if (!isFinite(v)) {
    xtract[0] = Infinity;
    xtract[1] = v;
    return;
  }
  let e = expOf(v);
  let s = mulPow2(v, -e); // exact: scaling to [1, 2) never leaves the normal range
  // a denormal's estimated exponent may be one off
  if (Math.abs(s) >= 2) {
    e++;
    s /= 2;
  } else if (Math.abs(s) < 1) {
    e--;
    s *= 2;
  }
  xtract[0] = e;
  xtract[1] = s;
}

/**
 * fprem (`ieee` false: truncating quotient) and fprem1 (round-to-nearest quotient) of
 * ST(0) by ST(1); sets C2 = 0 and C0/C3/C1 = quotient bits 2/1/0.
 * @returns the remainder
 */
export function fprem(st: X87State, a: number, b: number, nearest: boolean): number {
  st.sw &= ~SW_C2;
  if (a !== a || b !== b) return pickNan(a, b, NAN_X87);
  ieee.snanA = ieee.snanB = 0;
  if (!isFinite(a) || b === 0) return invalid();
  st.sw &= ~SW_CC;
  if (a === 0 || !isFinite(b)) return a;
  const expDiff = expOf(a) - expOf(b);
  if (expDiff >= 64) {
    // Partial remainder: reduce by b * 2^(D - N) with N = 32 as an implementation choice.
    st.sw |= SW_C2;
    return a % mulPow2(b, expDiff - 32);
  }
  let r = a % b;
  // quotient bits 0..2 from a mod 8b (scaled down when 8b would overflow: same quotient)
  const s = isFinite(8 * b) ? 1 : 1 / 256;
  let q = Math.round(Math.abs((((a * s) % (8 * b * s)) - r * s) / (b * s))) & 7;
  if (nearest) {
    const ab = Math.abs(b), ar = Math.abs(r);
    if (ar * 2 > ab || (ar * 2 === ab && (q & 1) === 1)) {
      r = r > 0 ? r - ab : r + ab;
      q = (q + 1) & 7;
    }
    if (r === 0) r = a < 0 ? -0 : 0;
  }
  if (q & 4) st.sw |= SW_C0;
  if (q & 2) st.sw |= SW_C3;
  if (q & 1) st.sw |= SW_C1;
  return r;
}

/**
 * Unary transcendental on v: 0 fsin, 1 fcos, 2 ftan (fptan), 3 f2xm1.
 * @returns the result, or NaN with C2 set in `st` for an out-of-range operand
 */
export function transcend(st: X87State, fn: number, v: number): number {
  if (fn !== 3) st.sw &= ~SW_C2;
  const snan = ieee.snanA;
  ieee.snanA = 0;
  if (v !== v) {
    if (snan) ieee.flags |= EXC_IE;
    return quiet64(v);
  }
  if (fn === 3) {
    if (v === 0 || !isFinite(v)) return isFinite(v) ? v : v > 0 ? v : -1;
    ieee.flags |= EXC_PE;
    return Math.expm1(v * Math.LN2);
  }
  if (!isFinite(v)) return invalid();
  if (Math.abs(v) >= 9223372036854775808) {
    st.sw |= SW_C2;
    return v;
  }
  if (v === 0 && fn !== 1) return v;
  ieee.flags |= EXC_PE;
  return fn === 0 ? Math.sin(v) : fn === 1 ? Math.cos(v) : Math.tan(v);
}

/** fyl2x (`plus1` false) and fyl2xp1: y * log2(x) or y * log2(x + 1). */
export function fyl2x(x: number, y: number, plus1: boolean): number {
  if (x !== x || y !== y) return pickNan(x, y, NAN_X87);
  const arg = plus1 ? x + 1 : x;
  if (arg < 0 || (plus1 && x < -1)) return invalid();
  if (arg === 0) {
    if (y === 0) return invalid();
    if (!plus1) {
      if (isFinite(y)) ieee.flags |= EXC_ZE;
      return y > 0 ? -Infinity : Infinity;
    }
  }
  if (arg === 1 && !isFinite(y)) return invalid();
  if (arg === Infinity && y === 0) return invalid(); // 0 * log2(inf)
  const l = plus1 ? Math.log1p(x) / Math.LN2 : Math.log2(x);
  if (l === 0) return y < 0 !== l < 0 && y !== 0 ? -0 : 0 * y;
  if (isFinite(l) && isFinite(y) && y !== 0) ieee.flags |= EXC_PE;
  return y * l;
}

/** fpatan: atan2(y, x). */
export function fpatan(x: number, y: number): number {
  if (x !== x || y !== y) return pickNan(x, y, NAN_X87);
  const r = Math.atan2(y, x);
  if (r !== 0 && isFinite(r)) ieee.flags |= EXC_PE;
  return r;
}

/** The x87 constants (as doubles; the hardware rounds a 66-bit value per RC). */
export const X87_CONSTANTS: Float64Array = new Float64Array([
  1,
  Math.log2(10),
  Math.LOG2E,
  Math.PI,
  Math.LN2 / Math.LN10,
  Math.LN2,
  0,
]);
