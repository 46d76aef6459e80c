/**
 * SSE/SSE2 floating-point lanes: arithmetic, min/max, sqrt, compares, comis/ucomis and
 * the conversions, on ps/pd/ss/sd forms, with MXCSR rounding and exception flags.
 * Results are built in the XMM_TMP scratch register; NaNs are handled on the stored bits
 * (a JS number may lose a signalling NaN's quiet bit), so only non-NaN values pass
 * through JS numbers.
 * @module
 */

import {
  applyRounding64,
  arith64,
  EXC_DE,
  EXC_IE,
  EXC_PE,
  EXC_UE,
  EXC_ZE,
  ieee,
  ieeeErr,
  NAN_SSE,
  RC_CHOP,
  RC_DOWN,
  RC_NEAREST,
  roundIntegral,
  roundToF32,
  sqrt64,
} from "../fpu/ieee.ts";
import { type SseState, XMM_TMP } from "./sse_state.ts";

/** Float operations (the low nibble of 0F 5x where it applies). */
export const FOP_ADD = 0, FOP_SUB = 1, FOP_MUL = 2, FOP_DIV = 3;
/** min, max, sqrt. */
export const FOP_MIN = 4, FOP_MAX = 5, FOP_SQRT = 6;

const T = XMM_TMP * 4; // dword index of the scratch register
const MIN32 = 2 ** -126, MIN64 = 2 ** -1022;
const MX_DAZ = 0x40, MX_FTZ = 0x8000;

/**
 * A float32 source lane (not NaN): DAZ turns a denormal into a signed zero, else DE
 * (`de` false: conversions to integer, which do not report DE on this host).
 */
function in32(x: SseState, idx: number, de = true): number {
  const b = x.u32[idx];
  if ((b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0) {
    if ((x.mxcsr & MX_DAZ) !== 0) return b >>> 31 ? -0 : 0;
    if (de) ieee.flags |= EXC_DE;
  }
  return x.f32[idx];
}

/** A float64 source lane (qword q, not NaN), with DAZ/DE as {@link in32}. */
function in64(x: SseState, q: number, de = true): number {
  const hi = x.u32[2 * q + 1];
  if ((hi & 0x7ff00000) === 0 && ((hi & 0xfffff) | x.u32[2 * q]) !== 0) {
    if ((x.mxcsr & MX_DAZ) !== 0) return hi >>> 31 ? -0 : 0;
    if (de) ieee.flags |= EXC_DE;
  }
  return x.f64[q];
}

/**
 * Writes a rounded float32 result to dword `out`: a tiny result (below the smallest
 * normal, after rounding) is flushed to a signed zero under FTZ (UE|PE), else gives UE
 * when inexact. `lf` = the lane's own flags.
 */
function store32(x: SseState, out: number, f: number, lf: number): void {
  if (f !== 0 ? Math.abs(f) < MIN32 : (lf & EXC_PE) !== 0) {
    if ((x.mxcsr & MX_FTZ) !== 0) {
      x.u32[out] = f < 0 || Object.is(f, -0) ? 0x80000000 : 0;
      ieee.flags |= EXC_UE | EXC_PE;
      return;
    }
    if ((lf & EXC_PE) !== 0) ieee.flags |= EXC_UE;
  }
  x.f32[out] = f;
}

/** As {@link store32} for a float64 result into qword `out`. */
function store64(x: SseState, out: number, r: number, lf: number): void {
  if (r !== 0 ? Math.abs(r) < MIN64 : (lf & EXC_PE) !== 0) {
    if ((x.mxcsr & MX_FTZ) !== 0) {
      x.u32[2 * out] = 0;
      x.u32[2 * out + 1] = r < 0 || Object.is(r, -0) ? 0x80000000 : 0;
      ieee.flags |= EXC_UE | EXC_PE;
      return;
    }
    if ((lf & EXC_PE) !== 0) ieee.flags |= EXC_UE;
  }
  x.f64[out] = r;
}

function isNan32(b: number): boolean {
  return (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
}

function isNan64(hi: number, lo: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0;
}

/** One float32 lane: dword index da (dest) and sa (source); writes T + lane. */
function lane32(x: SseState, op: number, da: number, sa: number, out: number): void {
  const ab = x.i32[da], bb = x.i32[sa];
  const an = op !== FOP_SQRT && isNan32(ab), bn = isNan32(bb);
  if (an || bn) {
    if (op === FOP_MIN || op === FOP_MAX) {
      ieee.flags |= EXC_IE;
      x.i32[out] = bb;
      return;
    }
    if ((an && (ab & 0x400000) === 0) || (bn && (bb & 0x400000) === 0)) ieee.flags |= EXC_IE;
    x.i32[out] = (an ? ab : bb) | 0x400000;
    return;
  }
  const saved = ieee.flags;
  ieee.flags = 0;
  const a = op === FOP_SQRT ? 0 : in32(x, da), b = in32(x, sa);
  let r: number;
  if (op === FOP_MIN || op === FOP_MAX) {
    ieee.flags |= saved;
    // Both zeros, or not ordered: the second (source) operand (as DAZ left it)
    const first = op === FOP_MIN ? a < b : a > b;
    if (first) {
      if (a === 0) x.u32[out] = ab & 0x80000000;
      else x.i32[out] = ab;
    } else if (b === 0) x.u32[out] = bb & 0x80000000;
    else x.i32[out] = bb;
    return;
  }
  if (op === FOP_SQRT) r = sqrt64(b, RC_NEAREST);
  else {
    r = arith64(op, a, b, RC_NEAREST, NAN_SSE);
    if (r === 0 && op <= FOP_SUB && x.rc === RC_DOWN) r = arith64(op, a, b, RC_DOWN, NAN_SSE);
  }
  if (r !== r) {
    ieee.flags = saved | (ieee.flags & ~EXC_DE); // IE takes precedence over DE
    x.i32[out] = 0xffc00000 | 0;
    return;
  }
  const f = roundToF32(r, ieeeErr[0], x.rc);
  let lf = ieee.flags;
  if ((lf & EXC_ZE) !== 0) lf &= ~EXC_DE; // x / 0 reports ZE alone
  ieee.flags = saved | lf;
  store32(x, out, f, lf);
}

/** One float64 lane: qword index da (dest) and sa (source); writes qword out. */
function lane64(x: SseState, op: number, da: number, sa: number, out: number): void {
  const u = x.u32;
  const ahi = u[2 * da + 1], alo = u[2 * da], bhi = u[2 * sa + 1], blo = u[2 * sa];
  const an = op !== FOP_SQRT && isNan64(ahi, alo), bn = isNan64(bhi, blo);
  if (an || bn) {
    if (op === FOP_MIN || op === FOP_MAX) {
      ieee.flags |= EXC_IE;
      u[2 * out] = blo;
      u[2 * out + 1] = bhi;
      return;
    }
    if ((an && (ahi & 0x80000) === 0) || (bn && (bhi & 0x80000) === 0)) ieee.flags |= EXC_IE;
    u[2 * out] = an ? alo : blo;
    u[2 * out + 1] = (an ? ahi : bhi) | 0x80000;
    return;
  }
  const saved = ieee.flags;
  ieee.flags = 0;
  const a = op === FOP_SQRT ? 0 : in64(x, da), b = in64(x, sa);
  let r: number;
  if (op === FOP_MIN || op === FOP_MAX) {
    ieee.flags |= saved;
    const pick = op === FOP_MIN ? a < b : a > b;
    const v = pick ? a : b, hi = pick ? ahi : bhi;
    u[2 * out] = v === 0 ? 0 : pick ? alo : blo;
    u[2 * out + 1] = v === 0 ? hi & 0x80000000 : hi;
    return;
  }
  if (op === FOP_SQRT) r = sqrt64(b, x.rc);
  else r = arith64(op, a, b, x.rc, NAN_SSE);
  let lf = ieee.flags;
  if (r !== r || (lf & EXC_ZE) !== 0) lf &= ~EXC_DE; // IE, ZE take precedence over DE
  ieee.flags = saved | lf;
  if (r !== r) {
    u[2 * out] = 0;
    u[2 * out + 1] = 0xfff80000;
    return;
  }
  store64(x, out, r, lf);
}

/**
 * dst op src into XMM_TMP (which starts as a copy of dst).
 * @param kind 0 ps, 1 pd, 2 ss, 3 sd
 */
export function floatOp(x: SseState, op: number, kind: number, d: number, s: number): void {
  x.copy(XMM_TMP, d);
  if (kind === 0 || kind === 2) {
    const n = kind === 0 ? 4 : 1;
    for (let i = 0; i < n; i++) lane32(x, op, 4 * d + i, 4 * s + i, T + i);
  } else {
    const n = kind === 1 ? 2 : 1;
    for (let i = 0; i < n; i++) lane64(x, op, 2 * d + i, 2 * s + i, 2 * XMM_TMP + i);
  }
}

/** Compare predicate 0..7 on ordered/unordered results; sets IE per predicate. */
function predicate(p: number, a: number, b: number, unordered: boolean, snan: boolean): boolean {
  // LT, LE, NLT, NLE signal on any NaN; EQ, UNORD, NEQ, ORD on signalling ones only
  if (unordered && (snan || p === 1 || p === 2 || p === 5 || p === 6)) ieee.flags |= EXC_IE;
  switch (p & 7) {
    case 0:
      return !unordered && a === b;
    case 1:
      return !unordered && a < b;
    case 2:
      return !unordered && a <= b;
    case 3:
      return unordered;
    case 4:
      return unordered || a !== b;
    case 5:
      return unordered || !(a < b);
    case 6:
      return unordered || !(a <= b);
    default:
      return !unordered;
  }
}

/** cmpps/cmppd/cmpss/cmpsd with predicate `p` into XMM_TMP. @param kind as floatOp */
export function cmpOp(x: SseState, p: number, kind: number, d: number, s: number): void {
  x.copy(XMM_TMP, d);
  const u = x.u32;
  if (kind === 0 || kind === 2) {
    const n = kind === 0 ? 4 : 1;
    for (let i = 0; i < n; i++) {
      const ab = u[4 * d + i], bb = u[4 * s + i];
      const an = isNan32(ab), bn = isNan32(bb);
      const sn = (an && (ab & 0x400000) === 0) || (bn && (bb & 0x400000) === 0);
      const unord = an || bn;
      const t = predicate(
        p,
        unord ? 0 : in32(x, 4 * d + i),
        unord ? 0 : in32(x, 4 * s + i),
        unord,
        sn,
      );
      x.i32[T + i] = t ? -1 : 0;
    }
  } else {
    const n = kind === 1 ? 2 : 1;
    for (let i = 0; i < n; i++) {
      const da = 2 * d + i, sa = 2 * s + i;
      const an = isNan64(u[2 * da + 1], u[2 * da]), bn = isNan64(u[2 * sa + 1], u[2 * sa]);
      const sn = (an && (u[2 * da + 1] & 0x80000) === 0) || (bn && (u[2 * sa + 1] & 0x80000) === 0);
      const unord = an || bn;
      const t = predicate(p, unord ? 0 : in64(x, da), unord ? 0 : in64(x, sa), unord, sn);
      x.i32[T + 2 * i] = x.i32[T + 2 * i + 1] = t ? -1 : 0;
    }
  }
}

/**
 * comiss/ucomiss (double false) and comisd/ucomisd: the compare result as
 * 0 greater, 1 less, 2 equal, 3 unordered; IE per ordered/unordered rules.
 */
export function comis(
  x: SseState,
  d: number,
  s: number,
  double: boolean,
  ordered: boolean,
): number {
  const u = x.u32;
  let an: boolean, bn: boolean, as: boolean, bs: boolean, a: number, b: number;
  if (!double) {
    const ab = u[4 * d], bb = u[4 * s];
    an = isNan32(ab);
    bn = isNan32(bb);
    as = an && (ab & 0x400000) === 0;
    bs = bn && (bb & 0x400000) === 0;
    a = an || bn ? 0 : in32(x, 4 * d);
    b = an || bn ? 0 : in32(x, 4 * s);
  } else {
    an = isNan64(u[4 * d + 1], u[4 * d]);
    bn = isNan64(u[4 * s + 1], u[4 * s]);
    as = an && (u[4 * d + 1] & 0x80000) === 0;
    bs = bn && (u[4 * s + 1] & 0x80000) === 0;
    a = an || bn ? 0 : in64(x, 2 * d);
    b = an || bn ? 0 : in64(x, 2 * s);
  }
  if (an || bn) {
    if (ordered || as || bs) ieee.flags |= EXC_IE;
    return 3;
  }
  return a > b ? 0 : a < b ? 1 : 2;
}

/**
 * Rounds a double to int32 per `rc` (or truncation): the integer, or the integer
 * indefinite 0x80000000 with IE for NaN and out-of-range values; PE when inexact.
 */
export function toInt32(v: number, rc: number, nan: boolean): number {
  if (nan) {
    ieee.flags |= EXC_IE;
    return 0x80000000 | 0;
  }
  const before = ieee.flags; // other lanes' flags stay; this lane's PE does not on IE
  const r = roundIntegral(v, rc);
  if (!(r >= -2147483648 && r < 2147483648)) {
    ieee.flags = before | EXC_IE;
    return 0x80000000 | 0;
  }
  return r | 0;
}

/** Float32 lane `i` of register r as a number for conversion (nan reported separately). */
function f32Lane(x: SseState, idx: number): number {
  return isNan32(x.i32[idx]) ? NaN : in32(x, idx, false);
}

/**
 * The conversions of 0F 2A/2C/2D/5A/5B/E6 on xmm operands, into XMM_TMP (or returning
 * an int32 for the to-GPR forms via {@link cvtToGpr}).
 * @param form one of the CVT_* values
 */
export function convert(x: SseState, form: number, d: number, s: number): void {
  x.copy(XMM_TMP, d);
  const i32 = x.i32, u = x.u32, rc = x.rc;
  switch (form) {
    case CVT_SS2SD: {
      const b = u[4 * s];
      if (isNan32(b)) {
        if ((b & 0x400000) === 0) ieee.flags |= EXC_IE;
        u[T] = b << 29;
        u[T + 1] = (b & 0x80000000) | 0x7ff80000 | ((b >>> 3) & 0xfffff);
      } else x.f64[2 * XMM_TMP] = in32(x, 4 * s);
      return;
    }
    case CVT_SD2SS:
      return f64ToF32Lane(x, 2 * s, T);
    case CVT_PS2PD: {
      // read both lanes first: the source may be the destination
      const b0 = u[4 * s], b1 = u[4 * s + 1];
      x.u32[T] = b0;
      x.u32[T + 1] = b1;
      for (let i = 1; i >= 0; i--) {
        const b = u[T + i];
        if (isNan32(b)) {
          if ((b & 0x400000) === 0) ieee.flags |= EXC_IE;
          u[T + 2 * i] = b << 29;
          u[T + 2 * i + 1] = (b & 0x80000000) | 0x7ff80000 | ((b >>> 3) & 0xfffff);
        } else x.f64[2 * XMM_TMP + i] = in32(x, T + i);
      }
      return;
    }
    case CVT_PD2PS:
      f64ToF32Lane(x, 2 * s, T);
      f64ToF32Lane(x, 2 * s + 1, T + 1);
      i32[T + 2] = i32[T + 3] = 0;
      return;
    case CVT_DQ2PS:
      for (let i = 0; i < 4; i++) x.f32[T + i] = roundToF32(i32[4 * s + i], 0, rc);
      return;
    case CVT_DQ2PD: {
      const a0 = i32[4 * s], a1 = i32[4 * s + 1];
      x.f64[2 * XMM_TMP] = a0;
      x.f64[2 * XMM_TMP + 1] = a1;
      return;
    }
    case CVT_PS2DQ:
    case CVT_TPS2DQ:
      for (let i = 0; i < 4; i++) {
        const idx = 4 * s + i;
        i32[T + i] = toInt32(
          f32Lane(x, idx),
          form === CVT_TPS2DQ ? RC_CHOP : rc,
          isNan32(i32[idx]),
        );
      }
      return;
    case CVT_PD2DQ:
    case CVT_TPD2DQ:
      for (let i = 0; i < 2; i++) {
        const q = 2 * s + i;
        const nan = isNan64(u[2 * q + 1], u[2 * q]);
        i32[T + i] = toInt32(nan ? 0 : in64(x, q, false), form === CVT_TPD2DQ ? RC_CHOP : rc, nan);
      }
      i32[T + 2] = i32[T + 3] = 0;
      return;
  }
}

/** Conversion forms for {@link convert}. */
export const CVT_SS2SD = 0, CVT_SD2SS = 1, CVT_PS2PD = 2, CVT_PD2PS = 3, CVT_DQ2PS = 4;
/** More conversion forms. */
export const CVT_DQ2PD = 5, CVT_PS2DQ = 6, CVT_TPS2DQ = 7, CVT_PD2DQ = 8, CVT_TPD2DQ = 9;

/** Rounds the double in qword q to float32 into dword out (MXCSR rounding, NaN rules). */
function f64ToF32Lane(x: SseState, q: number, out: number): void {
  const u = x.u32, hi = u[2 * q + 1], lo = u[2 * q];
  if (isNan64(hi, lo)) {
    if ((hi & 0x80000) === 0) ieee.flags |= EXC_IE;
    u[out] = ((hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29)) >>> 0;
    return;
  }
  const v = in64(x, q);
  const saved = ieee.flags;
  ieee.flags = 0;
  const f = roundToF32(v, 0, x.rc);
  const lf = ieee.flags;
  ieee.flags = saved | lf;
  store32(x, out, f, lf);
}

/**
 * cvt(t)ss2si / cvt(t)sd2si: lane 0 of register s to int32.
 * @param double sd source
 * @param chop truncate (cvtt forms)
 */
export function cvtToGpr(x: SseState, s: number, double: boolean, chop: boolean): number {
  const rc = chop ? RC_CHOP : x.rc;
  if (double) {
    const nan = isNan64(x.u32[4 * s + 1], x.u32[4 * s]);
    return toInt32(nan ? 0 : in64(x, 2 * s, false), rc, nan);
  }
  return toInt32(f32Lane(x, 4 * s), rc, isNan32(x.i32[4 * s]));
}

/** cvtsi2ss / cvtsi2sd: int32 into lane 0 of XMM_TMP (a copy of d). */
export function cvtFromGpr(x: SseState, d: number, v: number, double: boolean): void {
  x.copy(XMM_TMP, d);
  if (double) x.f64[2 * XMM_TMP] = v | 0;
  else x.f32[T] = roundToF32(v | 0, 0, x.rc);
}

const TWO32 = 4294967296, TWO63 = 9223372036854775808;

/** The 64-bit integer result of {@link cvtToGpr64}: [lo, hi]. */
export const Q64: Int32Array = new Int32Array(2);

/**
 * cvt(t)ss2si / cvt(t)sd2si with a 64-bit destination (REX.W): lane 0 of register s to
 * int64 in {@link Q64}; the indefinite 0x8000000000000000 with IE for NaN and values
 * out of range, PE when inexact.
 */
export function cvtToGpr64(x: SseState, s: number, double: boolean, chop: boolean): void {
  const rc = chop ? RC_CHOP : x.rc;
  const nan = double ? isNan64(x.u32[4 * s + 1], x.u32[4 * s]) : isNan32(x.i32[4 * s]);
  const before = ieee.flags;
  const r = nan ? NaN : roundIntegral(double ? in64(x, 2 * s, false) : f32Lane(x, 4 * s), rc);
  if (!(r >= -TWO63 && r < TWO63)) {
    ieee.flags = before | EXC_IE;
    Q64[0] = 0;
    Q64[1] = 0x80000000 | 0;
    return;
  }
  const hi = Math.floor(r / TWO32);
  Q64[0] = (r - hi * TWO32) | 0;
  Q64[1] = hi | 0;
}

/**
 * cvtsi2ss / cvtsi2sd from a 64-bit integer (REX.W): (lo, hi) into lane 0 of XMM_TMP (a
 * copy of d), rounded per MXCSR.RC with PE when inexact.
 */
export function cvtFromGpr64(
  x: SseState,
  d: number,
  lo: number,
  hi: number,
  double: boolean,
): void {
  x.copy(XMM_TMP, d);
  const a = (hi | 0) * TWO32, b = lo >>> 0;
  const s = a + b; // round to nearest once; err = the exact remainder
  const bb = s - a;
  const err = (a - (s - bb)) + (b - bb);
  if (double) x.f64[2 * XMM_TMP] = applyRounding64(s, err, x.rc);
  else x.f32[T] = roundToF32(s, err, x.rc);
}
