/**
 * IEEE-754 double and single arithmetic with x86 exception flags and rounding control,
 * built on JS doubles: error-free transforms give the exact rounding error, so the
 * precision flag, x87 C1 ("rounded up") and the directed rounding modes come out exact.
 * Shared by the x87 (precision control 53-bit) and SSE units. No allocation.
 * @module
 */

/** Exception flag bits, as in the x87 status word and MXCSR (bits 0..5). */
export const EXC_IE = 1, EXC_DE = 2, EXC_ZE = 4, EXC_OE = 8, EXC_UE = 16, EXC_PE = 32;
/** Rounding control values (x87 CW bits 10-11, MXCSR bits 13-14). */
export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_CHOP = 3;
/** NaN propagation rules: x87 (larger significand wins) or SSE (first operand wins). */
export const NAN_X87 = 1, NAN_SSE = 0;

/**
 * Side outputs of the last operation: exception flags raised (ORed in; the caller clears)
 * and whether the result was rounded up in magnitude (x87 C1); and side inputs: whether
 * the NaN operands a/b are signalling. JS engines may quieten a signalling NaN held in a
 * number (V8 does once code is optimised), so signalling-ness travels beside the value,
 * read from the operand's stored bits; operations read and clear snanA/snanB.
 */
export const ieee = { flags: 0, up: 0, snanA: 0, snanB: 0 };
/** The sign-carrying rounding error of the last round-to-nearest result: exact = r + err. */
export const ieeeErr: Float64Array = new Float64Array(1);

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32s = new Uint32Array(f32.buffer);

/** The floating-point indefinite (negative quiet NaN) as a double. */
export const DEFAULT_NAN: number = (() => {
  u32[0] = 0;
  u32[1] = 0xfff80000;
  return f64[0];
})();

/** True when the encoding (high word, low word) is a signalling NaN. */
export function isSnanBits64(hi: number, lo: number): boolean {
  return (hi & 0x7ff80000) === 0x7ff00000 && ((hi & 0x7ffff) | lo) !== 0;
}

/** Returns `v` (a NaN) with its quiet bit set, payload and sign kept. */
export function quiet64(v: number): number {
  f64[0] = v;
  u32[1] |= 0x80000;
  return f64[0];
}

/**
 * Rounds a finite non-zero double `r` (exact value r + err) to a 24-bit significand with
 * rounding control, keeping the double's exponent range (x87 precision control 00).
 */
export function roundTo24(r: number, err: number, rc: number): number {
  const k = expOf(r);
  const f = roundToF32(mulPow2(r, -k), mulPow2(err, -k), rc);
  return mulPow2(f, k);
}

/** Builds a double from its two 32-bit halves. */
export function fromBits64(lo: number, hi: number): number {
  u32[0] = lo;
  u32[1] = hi;
  return f64[0];
}

/** The high 32 bits of a double's encoding. */
export function hiBits64(v: number): number {
  f64[0] = v;
  return u32[1];
}

/** The low 32 bits of a double's encoding. */
export function loBits64(v: number): number {
  f64[0] = v;
  return u32[0];
}

/** Builds a float32 (returned as a double) from its encoding. */
export function fromBits32(bits: number): number {
  u32s[0] = bits;
  return f32[0];
}

/** The float32 encoding of `v` (already representable; NaN payloads kept where possible). */
export function bits32(v: number): number {
  if (v !== v) {
    f64[0] = v;
    return ((u32[1] & 0x80000000) | 0x7f800000 | ((u32[1] & 0xfffff) << 3) | (u32[0] >>> 29)) >>> 0;
  }
  f32[0] = v;
  return u32s[0];
}

/** Next double towards +inf (v finite or -inf). */
export function nextUp64(v: number): number {
  if (v === 0) return 5e-324;
  f64[0] = v;
  if (v > 0) {
    u32[0] = (u32[0] + 1) | 0;
    if (u32[0] === 0) u32[1]++;
  } else {
    if (u32[0] === 0) u32[1]--;
    u32[0] = (u32[0] - 1) | 0;
  }
  return f64[0];
}

/** Next double towards -inf. */
export function nextDown64(v: number): number {
  return -nextUp64(-v);
}

/** Next float32 towards +inf. */
export function nextUp32(v: number): number {
  if (v === 0) return fromBits32(1);
  f32[0] = v;
  u32s[0] += v > 0 ? 1 : -1;
  return f32[0];
}

/** Next float32 towards -inf. */
export function nextDown32(v: number): number {
  return -nextUp32(-v);
}

/**
 * Applies rounding control to a round-to-nearest result `r` whose exact value is
 * `r + err` (err's sign is all that matters), setting PE and `ieee.up`.
 */
export function applyRounding64(r: number, err: number, rc: number): number {
  ieee.up = 0;
  ieeeErr[0] = err;
  if (err === 0 || r !== r) return r;
  ieee.flags |= EXC_PE;
  if (r === Infinity || r === -Infinity) {
    ieee.flags |= EXC_OE;
    if (rc === RC_CHOP || (rc === RC_DOWN && r > 0) || (rc === RC_UP && r < 0)) {
      return r > 0 ? 1.7976931348623157e308 : -1.7976931348623157e308;
    }
    ieee.up = 1;
    return r;
  }
  const r0 = r;
  if (rc === RC_DOWN && err < 0) r = nextDown64(r);
  else if (rc === RC_UP && err > 0) r = nextUp64(r);
  else if (rc === RC_CHOP && r !== 0 && (r > 0 ? err < 0 : err > 0)) {
    r = r > 0 ? nextDown64(r) : nextUp64(r);
  }
  // Rounded up in magnitude when the result lies beyond the exact value.
  if (r === r0) ieee.up = (r > 0 ? err < 0 : err > 0) ? 1 : 0;
  else ieee.up = (r < r0 ? r < 0 : r > 0) ? 1 : 0;
  return r;
}

/**
 * Rounds a double `v` (exact value `v + err`) to float32 with rounding control, setting
 * PE/OE and `ieee.up`.
 */
export function roundToF32(v: number, err: number, rc: number): number {
  ieee.up = 0;
  if (v !== v) return v;
  let f = Math.fround(v);
  if (f === v && err === 0) return f;
  ieee.flags |= EXC_PE;
  // below: the float lies below the exact value
  const below = f === v ? err > 0 : f < v;
  if (f === Infinity || f === -Infinity) {
    ieee.flags |= EXC_OE;
    if (rc === RC_CHOP || (rc === RC_DOWN && f > 0) || (rc === RC_UP && f < 0)) {
      return f > 0 ? 3.4028234663852886e38 : -3.4028234663852886e38;
    }
    ieee.up = 1;
    return f;
  }
  if (rc === RC_DOWN && !below) f = nextDown32(f);
  else if (rc === RC_UP && below) f = nextUp32(f);
  else if (rc === RC_CHOP && f !== 0 && (f > 0 ? !below : below)) {
    f = f > 0 ? nextDown32(f) : nextUp32(f);
  } else if (rc === RC_NEAREST && f !== v && err !== 0) {
    // v (already rounded) on a float midpoint: the exact value decides, not ties-to-even
    const other = v > f ? nextUp32(f) : nextDown32(f);
    if (f + other === 2 * v && (err > 0) === (other > v)) f = other;
  }
  const fBelow = f === v ? err > 0 : f < v;
  ieee.up = (f > 0 ? !fBelow : fBelow) ? 1 : 0;
  return f;
}

/** The exact rounding error of a + b (rounded sum s): exact = s + err. */
function sumErr(a: number, b: number, s: number): number {
  const bb = s - a;
  return (a - (s - bb)) + (b - bb);
}

const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)
/** The exact error of the rounded product p = a*b: exact = p + err. */
export function prodErr(a: number, b: number, p: number): number {
  if (!isFinite(p) || Math.abs(a) > 1e300 || Math.abs(b) > 1e300) return 0;
  let c = SPLIT * a;
  const ah = c - (c - a), al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/**
 * Picks the NaN result of a two-operand operation where at least one operand is NaN
 * (signalling-ness from ieee.snanA/snanB, which this clears); IE for a signalling one.
 */
export function pickNan(a: number, b: number, mode: number): number {
  const an = a !== a, bn = b !== b;
  const sa = an && ieee.snanA !== 0, sb = bn && ieee.snanB !== 0;
  ieee.snanA = ieee.snanB = 0;
  if (sa || sb) ieee.flags |= EXC_IE;
  if (an && bn && mode === NAN_X87) {
    // the larger significand (quiet bit included, as stored) wins; on a tie the positive
    f64[0] = a;
    const ah = (u32[1] & 0x7ffff) | (sa ? 0 : 0x80000), al = u32[0] >>> 0, asg = u32[1] >>> 31;
    f64[0] = b;
    const bh = (u32[1] & 0x7ffff) | (sb ? 0 : 0x80000), bl = u32[0] >>> 0, bsg = u32[1] >>> 31;
    if (ah > bh || (ah === bh && al > bl)) return quiet64(a);
    if (ah === bh && al === bl) return quiet64(asg <= bsg ? a : b);
    return quiet64(b);
  }
  return quiet64(an ? a : b);
}

/** The binary exponent of a finite non-zero double (denormals included). */
export function expOf(x: number): number {
  f64[0] = x;
  const e = (u32[1] >>> 20) & 0x7ff;
  return e !== 0 ? e - 1023 : Math.floor(Math.log2(Math.abs(x)));
}

/** 2^k for -1022 <= k <= 1023, built from its bits (no Math.pow). */
function pow2(k: number): number {
  u32[0] = 0;
  u32[1] = (k + 1023) << 20;
  return f64[0];
}

/** x * 2^k, exact while the result is normal (k may exceed the exponent range). */
export function mulPow2(x: number, k: number): number {
  while (k > 1000) {
    x *= TWO_1000;
    k -= 1000;
  }
  while (k < -1000) {
    x *= TWO_M1000;
    k += 1000;
  }
  return x * pow2(k);
}

const TWO_1000 = 2 ** 1000, TWO_M1000 = 2 ** -1000;
/** Operands and results strictly inside (2^-900, 2^900) need no scaling for error terms. */
const LO = 2 ** -900, HI = 2 ** 900;

function inRange(x: number): boolean {
  const m = x < 0 ? -x : x;
  return m > LO && m < HI;
}

/**
 * The error of the rounded product r = a*b (finite, non-zero operands): exact = r + err
 * in sign. The operands are first scaled to [1, 2) (and r with them, exactly: r is normal
 * there or a denormal scaled up), so the Veltkamp split neither overflows nor underflows.
 */
function mulErr(a: number, b: number, r: number): number {
  if (inRange(a) && inRange(b) && inRange(r)) return prodErr(a, b, r);
  const ea = expOf(a), eb = expOf(b);
  const as = mulPow2(a, -ea), bs = mulPow2(b, -eb), p = as * bs;
  return (p - mulPow2(r, -ea - eb)) + prodErr(as, bs, p);
}

/** The sign-carrying error of the rounded quotient r = a/b (finite, non-zero a and b). */
function divErr(a: number, b: number, r: number): number {
  if (inRange(a) && inRange(b) && inRange(r)) {
    const p = r * b;
    const rem = (a - p) - prodErr(r, b, p);
    return b > 0 ? rem : -rem;
  }
  const ea = expOf(a), eb = expOf(b);
  const as = mulPow2(a, -ea), bs = mulPow2(b, -eb), rs = mulPow2(r, eb - ea);
  const p = rs * bs;
  const rem = (as - p) - prodErr(rs, bs, p);
  return bs > 0 ? rem : -rem;
}

/** op codes for {@link arith64}. */
export const OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3;

/**
 * a op b in double precision with rounding control `rc`, NaN rule `mode`; sets
 * ieee.flags (IE, ZE, PE, OE) and ieee.up.
 */
export function arith64(op: number, a: number, b: number, rc: number, mode: number): number {
  ieee.up = 0;
  ieeeErr[0] = 0;
  if (a !== a || b !== b) return pickNan(a, b, mode);
  ieee.snanA = ieee.snanB = 0;
  let r: number;
  switch (op) {
    case OP_ADD:
    case OP_SUB:
      if (op === OP_SUB) b = -b;
      r = a + b;
      if (r !== r) {
        ieee.flags |= EXC_IE;
        return DEFAULT_NAN;
      }
      if (r === 0) {
        // An exact zero: -0 only from (-0)+(-0), or under round-down (IEEE 754 6.3)
        if (rc === RC_DOWN && !(a === 0 && b === 0 && 1 / a > 0 && 1 / b > 0)) return -0;
        return r;
      }
      if (!isFinite(r)) return isFinite(a) && isFinite(b) ? applyRounding64(r, -r, rc) : r;
      return applyRounding64(r, sumErr(a, b, r), rc);
    case OP_MUL:
      r = a * b;
      if (r !== r) {
        ieee.flags |= EXC_IE;
        return DEFAULT_NAN;
      }
      if (!isFinite(r)) return isFinite(a) && isFinite(b) ? applyRounding64(r, -r, rc) : r;
      if (a === 0 || b === 0) return r;
      return applyRounding64(r, mulErr(a, b, r), rc);
    default: {
      r = a / b;
      if (r !== r) {
        ieee.flags |= EXC_IE;
        return DEFAULT_NAN;
      }
      if (b === 0) {
        if (isFinite(a)) ieee.flags |= EXC_ZE;
        return r;
      }
      if (!isFinite(a) || !isFinite(b) || a === 0) return r;
      if (!isFinite(r)) return applyRounding64(r, -r, rc);
      return applyRounding64(r, divErr(a, b, r), rc);
    }
  }
}

/** sqrt(a) in double precision with rounding control; IE on negative input. */
export function sqrt64(a: number, rc: number): number {
  ieee.up = 0;
  ieeeErr[0] = 0;
  if (a !== a) return pickNan(a, 0, NAN_SSE);
  ieee.snanA = ieee.snanB = 0;
  if (a < 0) {
    ieee.flags |= EXC_IE;
    return DEFAULT_NAN;
  }
  const r = Math.sqrt(a);
  if (r === 0 || !isFinite(r)) return r;
  if (inRange(a)) {
    const p = r * r;
    return applyRounding64(r, (a - p) - prodErr(r, r, p), rc);
  }
  // scale by an even power of two to [1, 4): the residual a - r*r stays exact
  const k = expOf(a) >> 1, as = mulPow2(a, -2 * k), rs = mulPow2(r, -k);
  const p = rs * rs;
  const rem = (as - p) - prodErr(rs, rs, p);
  return applyRounding64(r, rem, rc);
}

/**
 * Rounds a double to an integral double per `rc` (PE and ieee.up on inexact).
 */
export function roundIntegral(v: number, rc: number): number {
  ieee.up = 0;
  if (v !== v || !isFinite(v) || Math.abs(v) >= 4503599627370496) return v;
  let r = Math.floor(v);
  const d = v - r;
  if (d === 0) return v;
  switch (rc) {
    case RC_NEAREST:
      if (d > 0.5 || (d === 0.5 && r % 2 !== 0)) r += 1;
      break;
    case RC_UP:
      r += 1;
      break;
    case RC_CHOP:
      if (v < 0) r += 1;
      break;
  }
  ieee.flags |= EXC_PE;
  ieee.up = Math.abs(r) > Math.abs(v) ? 1 : 0;
  if (r === 0 && v < 0) r = -0;
  return r;
}
