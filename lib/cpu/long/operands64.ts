/**
 * Operand helpers of the 64-bit system instructions: the linear address of the decoded
 * memory operand (FS/GS base included), reads and writes at an offset from it, and stack
 * reads and pushes of 2, 4 or 8 bytes at RSP (far transfers and iret use the operand
 * size, not always 8). Nothing allocates; results go through {@link V} and {@link L}.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { D } from "./decode64.ts";
import { read64, V, write64 } from "./mem64.ts";
import { VEC_GP } from "../platform.ts";

export { V };

/** #GP(0) unless CPL is 0 (the privileged instructions). */
export function cpl0(c: CpuCore): void {
  if (c.cpl !== 0) c.raise(VEC_GP, 0);
}

/** A linear address [lo, hi] (the result of {@link eaLinear} and {@link offsetOf}). */
export const L: Int32Array = new Int32Array(2);

/** The linear address of the memory operand decoded by `modrm` into {@link L}. */
export function eaLinear(c: CpuCore): void {
  let lo = D.eaLo, hi = D.eaHi;
  const s = D.segSlot;
  if (s >= 0) {
    const b = (lo >>> 0) + (c.lm.msr[s * 2] >>> 0);
    lo = b | 0;
    hi = (hi + c.lm.msr[s * 2 + 1] + (b > 0xffffffff ? 1 : 0)) | 0;
  }
  L[0] = lo;
  L[1] = hi;
}

/** (lo, hi) + n (n >= 0, small) into {@link L}. */
export function offsetOf(lo: number, hi: number, n: number): void {
  const s = (lo >>> 0) + n;
  L[0] = s | 0;
  L[1] = (hi + (s > 0xffffffff ? 1 : 0)) | 0;
}

/** Reads `size` bytes at (lo, hi) + off into V. */
export function readAt(c: CpuCore, lo: number, hi: number, off: number, size: number): void {
  offsetOf(lo, hi, off);
  read64(c, L[0], L[1], size);
}

/** Writes `size` bytes of (vlo, vhi) at (lo, hi) + off. */
export function writeAt(
  c: CpuCore,
  lo: number,
  hi: number,
  off: number,
  size: number,
  vlo: number,
  vhi: number,
): void {
  offsetOf(lo, hi, off);
  V[0] = vlo;
  V[1] = vhi;
  write64(c, L[0], L[1], size);
}

/** Reads `size` bytes at RSP + off into V (zero-extended). */
export function stackRead(c: CpuCore, off: number, size: number): void {
  readAt(c, c.regs[4], c.lm.hi[4], off, size);
}

/** RSP after a pop of `n` bytes, into {@link L} (RSP itself unchanged). */
export function rspPlus(c: CpuCore, n: number): void {
  offsetOf(c.regs[4], c.lm.hi[4], n);
}

/** Writes `size` bytes at (lo, hi) - n (a push below a stack pointer); returns nothing. */
export function writeBelow(
  c: CpuCore,
  lo: number,
  hi: number,
  n: number,
  size: number,
  vlo: number,
  vhi: number,
): void {
  const s = (lo >>> 0) - n;
  V[0] = vlo;
  V[1] = vhi;
  write64(c, s | 0, (hi + (s < 0 ? -1 : 0)) | 0, size);
}

/** Sets RSP to RSP - n. */
export function rspMinus(c: CpuCore, n: number): void {
  const s = (c.regs[4] >>> 0) - n;
  c.regs[4] = s | 0;
  c.lm.hi[4] = (c.lm.hi[4] + (s < 0 ? -1 : 0)) | 0;
}
