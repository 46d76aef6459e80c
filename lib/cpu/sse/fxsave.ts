/**
 * fxsave/fxrstor (the 512-byte format: x87 state with the abridged tag word, MXCSR,
 * xmm0-7, and in 64-bit mode xmm8-15 and, with REX.W, 64-bit FIP/FDP) and
 * ldmxcsr/stmxcsr: 0F AE /0../3.
 * @module
 */

import type { CpuBus } from "../fpu/bus.ts";
import { FPU_VEC_GP } from "../fpu/bus.ts";
import { memOperand, readM80, writeM80 } from "../fpu/x87_memory.ts";
import type { X87State } from "../fpu/x87_state.ts";
import { MXCSR_MASK, type SseState } from "./sse_state.ts";

/** The 32-bit format (xmm0-7, FIP/FCS and FDP/FDS as offset:selector). */
export const FXS_32 = 0;
/** 64-bit mode without REX.W: the 32-bit pointer layout, xmm0-15. */
export const FXS_64 = 1;
/** 64-bit mode with REX.W (fxsave64/fxrstor64): 64-bit FIP and FDP, xmm0-15. */
export const FXS_64W = 2;

function aligned16(bus: CpuBus, linear: number): void {
  if ((linear & 15) !== 0) bus.raise(FPU_VEC_GP, 0);
}

/**
 * FXSAVE to a 16-byte aligned area (#GP(0) otherwise). Bytes 288..511 are left as they
 * are, as the hardware leaves them.
 */
export function fxsave(
  bus: CpuBus,
  st: X87State,
  x: SseState,
  linear: number,
  format = FXS_32,
): void {
  aligned16(bus, linear);
  bus.write8(linear + 511, bus.read8(linear + 511)); // probe the end: fault before writing
  let ftw = 0;
  for (let p = 0; p < 8; p++) if (st.empty[p] === 0) ftw |= 1 << p;
  bus.write32(linear, st.cw | (st.statusWord << 16));
  bus.write32(linear + 4, ftw | (st.fop << 16));
  bus.write32(linear + 8, st.fip);
  bus.write32(linear + 12, format === FXS_64W ? st.fipHi : st.fcs & 0xffff);
  bus.write32(linear + 16, st.fdp);
  bus.write32(linear + 20, format === FXS_64W ? st.fdpHi : st.fds & 0xffff);
  bus.write32(linear + 24, x.mxcsr);
  bus.write32(linear + 28, MXCSR_MASK);
  for (let i = 0; i < 8; i++) {
    const o = linear + 32 + 16 * i;
    writeM80(bus, o, st.get(i), st.isSnan(i));
    bus.write16(o + 10, 0);
    bus.write32(o + 12, 0);
  }
  const n = format === FXS_32 ? 32 : 64;
  for (let i = 0; i < n; i++) bus.write32(linear + 160 + 4 * i, x.i32[i]);
}

/** FXRSTOR from a 16-byte aligned area; #GP(0) for reserved MXCSR bits. */
export function fxrstor(
  bus: CpuBus,
  st: X87State,
  x: SseState,
  linear: number,
  format = FXS_32,
): void {
  aligned16(bus, linear);
  const mx = bus.read32(linear + 24);
  if ((mx & ~MXCSR_MASK) !== 0) bus.raise(FPU_VEC_GP, 0);
  bus.read8(linear + (format === FXS_32 ? 287 : 415)); // probe the end before changing state
  const w0 = bus.read32(linear), w1 = bus.read32(linear + 4);
  st.cw = (w0 & 0x1f7f) | 0x40;
  st.statusWord = w0 >>> 16;
  for (let p = 0; p < 8; p++) st.empty[p] = (w1 >> p) & 1 ? 0 : 1;
  st.fop = (w1 >>> 16) & 0x7ff;
  st.fip = st.lastFip = bus.read32(linear + 8);
  st.fdp = bus.read32(linear + 16);
  if (format === FXS_64W) {
    st.fipHi = st.lastFipHi = bus.read32(linear + 12);
    st.fdpHi = bus.read32(linear + 20);
    st.fcs = st.lastFcs = st.fds = 0;
  } else {
    st.fcs = st.lastFcs = bus.read16(linear + 12);
    st.fds = bus.read16(linear + 20);
    st.fipHi = st.lastFipHi = st.fdpHi = 0;
  }
  for (let i = 0; i < 8; i++) {
    st.regs[(st.top + i) & 7] = readM80(bus, linear + 32 + 16 * i);
    if (memOperand.snan) st.markSnan(i);
  }
  const n = format === FXS_32 ? 32 : 64;
  for (let i = 0; i < n; i++) x.i32[i] = bus.read32(linear + 160 + 4 * i);
  x.mxcsr = mx;
}

/** LDMXCSR m32; #GP(0) when a reserved bit is set. */
export function ldmxcsr(bus: CpuBus, x: SseState, linear: number): void {
  const v = bus.read32(linear);
  if ((v & ~MXCSR_MASK) !== 0) bus.raise(FPU_VEC_GP, 0);
  x.mxcsr = v;
}

/** STMXCSR m32. */
export function stmxcsr(bus: CpuBus, x: SseState, linear: number): void {
  bus.write32(linear, x.mxcsr);
}
