/**
 * The 64-bit memory path: linear addresses as two int32 halves, translated by the 4-level
 * walker of {@link LongState} (or taken as machine addresses below 4 GiB when there is
 * none). Non-canonical addresses raise #GP(0), translation failures #PF with CR2 (both
 * halves). Values move through {@link V} (lo, hi) so nothing allocates.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_GP, VEC_PF } from "../platform.ts";
import { canonicalHi } from "./long_state.ts";

/** Access bits (the #PF error-code bits). */
export const A_READ = 0, A_WRITE = 2, A_USER = 4, A_FETCH = 16;
const WALK_NONCANONICAL = 3;

/** The value read or to write: [lo, hi]. */
export const V: Int32Array = new Int32Array(2);

function pageFault(c: CpuCore, lo: number, hi: number, code: number): never {
  c.cr2 = lo;
  c.lm.cr2Hi = hi;
  c.pfErrorCode = code;
  return c.raise(VEC_PF, code);
}

/** Translates hi:lo for one access at the current CPL; raises #GP(0) or #PF. */
export function xlate64(c: CpuCore, lo: number, hi: number, access: number): number {
  const acc = c.cpl === 3 ? access | A_USER : access;
  const w = c.lm.walker;
  if (w === null) {
    if (!canonicalHi(hi)) c.raise(VEC_GP, 0);
    const m = lo >>> 0;
    if (hi !== 0 || m >= c.mem.frames * 4096) pageFault(c, lo, hi, acc);
    return m;
  }
  const m = w.translate64(lo, hi, acc);
  if (m < 0) {
    if (w.lastFault === WALK_NONCANONICAL) c.raise(VEC_GP, 0);
    pageFault(c, lo, hi, w.pfErrorCode);
  }
  return m;
}

/** Reads `size` (1, 2, 4, 8) bytes at hi:lo into {@link V} (zero-extended). */
export function read64(c: CpuCore, lo: number, hi: number, size: number): void {
  const dv = c.dv;
  if ((lo & 0xfff) + size <= 4096) {
    const m = xlate64(c, lo, hi, A_READ);
    V[1] = 0;
    if (size === 1) V[0] = dv.getUint8(m);
    else if (size === 2) V[0] = dv.getUint16(m, true);
    else if (size === 4) V[0] = dv.getInt32(m, true);
    else {
      V[0] = dv.getInt32(m, true);
      V[1] = dv.getInt32(m + 4, true);
    }
    return;
  }
  let vlo = 0, vhi = 0;
  for (let i = 0; i < size; i++) {
    const s = (lo >>> 0) + i;
    const b = c.u8[xlate64(c, s | 0, s > 0xffffffff ? (hi + 1) | 0 : hi, A_READ)];
    if (i < 4) vlo |= b << (i * 8);
    else vhi |= b << ((i - 4) * 8);
  }
  V[0] = vlo;
  V[1] = vhi;
}

function noteWrite(c: CpuCore, m: number): void {
  const mfn = m >>> 12;
  if (c.mem.codeFrame[mfn] !== 0) c.mem.onCodeWrite(mfn);
}

/** Writes the low `size` bytes of {@link V} at hi:lo. */
export function write64(c: CpuCore, lo: number, hi: number, size: number): void {
  const dv = c.dv;
  if ((lo & 0xfff) + size <= 4096) {
    const m = xlate64(c, lo, hi, A_WRITE);
    if (size === 1) dv.setUint8(m, V[0] & 0xff);
    else if (size === 2) dv.setUint16(m, V[0] & 0xffff, true);
    else if (size === 4) dv.setInt32(m, V[0], true);
    else {
      dv.setInt32(m, V[0], true);
      dv.setInt32(m + 4, V[1], true);
    }
    noteWrite(c, m);
    return;
  }
  // Both pages must be writable before any byte changes.
  const end = (lo >>> 0) + size - 1;
  xlate64(c, lo, hi, A_WRITE);
  xlate64(c, end | 0, end > 0xffffffff ? (hi + 1) | 0 : hi, A_WRITE);
  for (let i = 0; i < size; i++) {
    const s = (lo >>> 0) + i;
    const m = xlate64(c, s | 0, s > 0xffffffff ? (hi + 1) | 0 : hi, A_WRITE);
    c.u8[m] = i < 4 ? V[0] >>> (i * 8) : V[1] >>> ((i - 4) * 8);
    noteWrite(c, m);
  }
}
