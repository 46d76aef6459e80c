/**
 * x87 memory operands: real (m32/m64/m80), integer (m16/m32/m64) and packed BCD loads and
 * stores, and the 32-bit protected-mode environment and save-area formats (fnstenv/fldenv,
 * fnsave/frstor).
 * @module
 */

import type { CpuBus } from "./bus.ts";
import { doubleToF80, f80In, f80Out, f80ToDouble } from "./f80.ts";
import {
  bits32,
  DEFAULT_NAN,
  EXC_IE,
  fromBits32,
  fromBits64,
  hiBits64,
  ieee,
  isSnanBits64,
  loBits64,
  quiet64,
  RC_CHOP,
  roundIntegral,
  roundToF32,
} from "./ieee.ts";
import { SW_C1, type X87State } from "./x87_state.ts";

const TWO32 = 4294967296;

/** Set by the read functions: 1 when the real operand read was a signalling NaN. */
export const memOperand = { snan: 0 };

/** Reads an m32 real as a double (signalling NaNs stay signalling). */
export function readM32(bus: CpuBus, linear: number): number {
  const b = bus.read32(linear) >>> 0;
  memOperand.snan = 0;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) {
    if ((b & 0x400000) === 0) memOperand.snan = 1;
    return fromBits64((b << 29) >>> 0, (b & 0x80000000) | 0x7ff00000 | ((b >>> 3) & 0xfffff));
  }
  return fromBits32(b);
}

/** Reads an m64 real. */
export function readM64(bus: CpuBus, linear: number): number {
  const lo = bus.read32(linear), hi = bus.read32(linear + 4);
  memOperand.snan = isSnanBits64(hi, lo) ? 1 : 0;
  return fromBits64(lo, hi);
}

/** Reads an m80 real (rounded to double). */
export function readM80(bus: CpuBus, linear: number): number {
  const v = f80ToDouble(bus.read32(linear), bus.read32(linear + 4), bus.read16(linear + 8));
  memOperand.snan = f80In.snan;
  return v;
}

/** Reads a signed integer of `bytes` (2, 4 or 8) as a double. */
export function readInt(bus: CpuBus, linear: number, bytes: number): number {
  memOperand.snan = 0;
  if (bytes === 2) return (bus.read16(linear) << 16) >> 16;
  if (bytes === 4) return bus.read32(linear) | 0;
  return (bus.read32(linear + 4) | 0) * TWO32 + (bus.read32(linear) >>> 0);
}

/** Writes a double as m64 real. */
export function writeM64(bus: CpuBus, linear: number, v: number): void {
  bus.write32(linear, loBits64(v));
  bus.write32(linear + 4, hiBits64(v));
}

/** Writes a double as m80 real (`snan` 1: a NaN is stored signalling). */
export function writeM80(bus: CpuBus, linear: number, v: number, snan = 0): void {
  doubleToF80(v, snan);
  bus.write32(linear, f80Out[0]);
  bus.write32(linear + 4, f80Out[1]);
  bus.write16(linear + 8, f80Out[2]);
}

/**
 * Stores ST(0) as a real of `bytes` (4, 8, 10), with the rounding, NaN and stack-fault
 * rules of fst/fstp. @returns false when an unmasked exception suppressed the store
 */
export function storeReal(bus: CpuBus, st: X87State, linear: number, bytes: number): boolean {
  let v: number, snan = 0;
  if (st.isEmpty(0)) {
    if (st.underflow()) return false;
    v = DEFAULT_NAN;
  } else {
    v = st.get(0);
    snan = st.isSnan(0);
  }
  if (bytes === 10) {
    if (!st.isEmpty(0)) st.sw &= ~SW_C1;
    writeM80(bus, linear, v, snan);
    return true;
  }
  ieee.flags = 0;
  ieee.up = 0;
  if (v !== v) {
    if (snan) ieee.flags |= EXC_IE;
    v = quiet64(v);
  } else if (bytes === 4) v = roundToF32(v, 0, st.rc);
  if (st.takeIeee()) return false;
  if (bytes === 4) bus.write32(linear, bits32(v));
  else writeM64(bus, linear, v);
  return true;
}

/**
 * Stores ST(0) as a signed integer of `bytes` (2, 4, 8) for fist/fistp/fisttp
 * (`chop` forces truncation). Out of range or NaN gives IE and the integer indefinite.
 * @returns false when an unmasked exception suppressed the store
 */
export function storeInt(
  bus: CpuBus,
  st: X87State,
  linear: number,
  bytes: number,
  chop: boolean,
): boolean {
  let v: number;
  if (st.isEmpty(0)) {
    if (st.underflow()) return false;
    v = NaN;
  } else v = st.get(0);
  ieee.flags = 0;
  ieee.up = 0;
  let r = v !== v ? v : roundIntegral(v, chop ? RC_CHOP : st.rc);
  const lim = bytes === 2 ? 32768 : bytes === 4 ? 2147483648 : 9223372036854775808;
  let indefinite = false;
  if (r !== r || r >= lim || r < -lim) {
    ieee.flags = EXC_IE;
    ieee.up = 0;
    indefinite = true;
    r = 0;
  }
  if (st.isEmpty(0)) st.sw &= ~SW_C1;
  else if (st.takeIeee()) return false;
  if (bytes === 2) bus.write16(linear, indefinite ? 0x8000 : r & 0xffff);
  else if (bytes === 4) bus.write32(linear, indefinite ? 0x80000000 | 0 : r | 0);
  else if (indefinite) {
    bus.write32(linear, 0);
    bus.write32(linear + 4, 0x80000000 | 0);
  } else {
    const a = Math.abs(r);
    let hi = Math.floor(a / TWO32) >>> 0, lo = (a - Math.floor(a / TWO32) * TWO32) >>> 0;
    if (r < 0) {
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    }
    bus.write32(linear, lo | 0);
    bus.write32(linear + 4, hi | 0);
  }
  return true;
}

/** FNSTENV (32-bit protected-mode format, 28 bytes); then masks all exceptions. */
export function fnstenv(bus: CpuBus, st: X87State, linear: number): void {
  writeEnv(bus, st, linear);
  st.cw |= 0x3f;
}

function writeEnv(bus: CpuBus, st: X87State, linear: number): void {
  bus.write32(linear, st.cw | 0xffff0000);
  bus.write32(linear + 4, st.statusWord | 0xffff0000);
  bus.write32(linear + 8, st.tagWord() | 0xffff0000);
  bus.write32(linear + 12, st.fip);
  bus.write32(linear + 16, (st.fcs & 0xffff) | ((st.fop & 0x7ff) << 16));
  bus.write32(linear + 20, st.fdp);
  bus.write32(linear + 24, (st.fds & 0xffff) | 0xffff0000);
}

/** FLDENV (32-bit format). */
export function fldenv(bus: CpuBus, st: X87State, linear: number): void {
  const cw = bus.read16(linear), sw = bus.read16(linear + 4), tw = bus.read16(linear + 8);
  const fip = bus.read32(linear + 12), fcsop = bus.read32(linear + 16);
  const fdp = bus.read32(linear + 20), fds = bus.read16(linear + 24);
  loadEnv(st, cw, sw, tw, fip, fcsop, fdp, fds);
}

function loadEnv(
  st: X87State,
  cw: number,
  sw: number,
  tw: number,
  fip: number,
  fcsop: number,
  fdp: number,
  fds: number,
): void {
  st.cw = cw & 0x1f7f | 0x40;
  st.statusWord = sw;
  st.setTagWord(tw);
  st.fip = st.lastFip = fip;
  st.fcs = st.lastFcs = fcsop & 0xffff;
  st.fop = (fcsop >>> 16) & 0x7ff;
  st.fdp = fdp;
  st.fds = fds;
  // A pending unmasked exception shows in ES/B after the load (SDM FLDENV).
  if ((st.sw & ~st.cw & 0x3f) !== 0) st.sw |= 0x8080;
  else st.sw &= ~0x8080;
}

/** FNSAVE (32-bit format, 108 bytes), then FNINIT. */
export function fnsave(bus: CpuBus, st: X87State, linear: number): void {
  writeEnv(bus, st, linear);
  for (let i = 0; i < 8; i++) writeM80(bus, linear + 28 + 10 * i, st.get(i), st.isSnan(i));
  st.init();
}

/** FRSTOR (32-bit format); reads the whole area before changing state. */
export function frstor(bus: CpuBus, st: X87State, linear: number): void {
  const cw = bus.read16(linear), sw = bus.read16(linear + 4), tw = bus.read16(linear + 8);
  const fip = bus.read32(linear + 12), fcsop = bus.read32(linear + 16);
  const fdp = bus.read32(linear + 20), fds = bus.read16(linear + 24);
  // Probe the last byte first so a fault leaves the state untouched.
  bus.read16(linear + 106);
  loadEnv(st, cw, sw, tw, fip, fcsop, fdp, fds);
  for (let i = 0; i < 8; i++) {
    st.regs[(st.top + i) & 7] = readM80(bus, linear + 28 + 10 * i);
    if (memOperand.snan) st.markSnan(i);
  }
}
/** Reads an m80 packed BCD (18 digits and a sign byte). */
export function readBcd(bus: CpuBus, lin: number): number {
  let v = 0;
  for (let i = 8; i >= 0; i--) {
    const b = bus.read8(lin + i);
    v = v * 100 + (b >> 4) * 10 + (b & 15);
  }
  return bus.read8(lin + 9) & 0x80 ? -v : v;
}

/** fbstp: rounds ST(0) and stores it as packed BCD; IE and the BCD indefinite if too big. */
export function storeBcd(bus: CpuBus, st: X87State, lin: number): boolean {
  if (st.isEmpty(0) && st.underflow()) return false;
  ieee.flags = 0;
  const v = st.isEmpty(0) ? NaN : st.get(0);
  let r = v !== v ? v : roundIntegral(v, st.rc);
  if (r !== r || Math.abs(r) >= 1e18) {
    ieee.flags = EXC_IE;
    if (st.takeIeee()) return false;
    for (let i = 0; i < 7; i++) bus.write8(lin + i, 0);
    bus.write8(lin + 7, 0xc0);
    bus.write8(lin + 8, 0xff);
    bus.write8(lin + 9, 0xff);
    return true;
  }
  if (st.takeIeee()) return false;
  const neg = r < 0 || Object.is(r, -0);
  r = Math.abs(r);
  for (let i = 0; i < 9; i++) {
    const two = r % 100;
    r = Math.floor(r / 100);
    bus.write8(lin + i, ((Math.floor(two / 10) << 4) | (two % 10)) & 0xff);
  }
  bus.write8(lin + 9, neg ? 0x80 : 0);
  return true;
}
