/**
 * The IA-32e MSRs (STAR, LSTAR, CSTAR, SFMASK, FS_BASE, GS_BASE, KERNEL_GS_BASE, TSC_AUX)
 * and EFER, for rdmsr/wrmsr in every mode, and the coherence of FS_BASE/GS_BASE with the
 * 32-bit segment bases: the MSR is the hidden base of FS/GS, so a selector load (32-bit
 * `segBase`, with the high half cleared as the SDM says) and an MSR write (both halves)
 * are two views of one register. {@link syncSegBases} reconciles them wherever one side
 * may have changed the other's view (mode switches, rdmsr/wrmsr, after platform calls).
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_GP } from "../platform.ts";
import {
  canonicalHi,
  EFER_LMA,
  EFER_LME,
  longMsrSlot,
  M_FS_BASE,
  M_SFMASK,
  M_STAR,
  M_TSC_AUX,
} from "./long_state.ts";

const FS = 4;

/**
 * EFER bits wrmsr takes: SCE, LME, NXE, and LMA (pvx does not model the switch into long
 * mode by CR0.PG, so a native test or builder may set LMA directly; once set, wrmsr does
 * not clear it).
 */
const EFER_WRITABLE = 0xd01;

/** Sets the 32-bit view of FS (i = 0) or GS (i = 1) to `lo`, keeping the selector. */
function setSegBase(c: CpuCore, i: number, lo: number): void {
  const s = FS + i;
  c.setSegmentRaw(s, c.segSel[s], lo, c.segLimit[s], c.segAttr[s]);
  c.lm.segSeen[i] = lo;
}

/**
 * Reconciles FS_BASE/GS_BASE with `segBase[FS]`/`segBase[GS]`: a 32-bit segment load
 * since the last call wins (the MSR becomes its base zero-extended); otherwise an MSR
 * write wins (the 32-bit view takes its low half). Cheap when nothing changed.
 */
export function syncSegBases(c: CpuCore): void {
  const seen = c.lm.segSeen, msr = c.lm.msr, base = c.segBase;
  for (let i = 0; i < 2; i++) {
    const b = base[FS + i], slot = (M_FS_BASE + i) * 2;
    if (b !== seen[i]) {
      msr[slot] = b;
      msr[slot + 1] = 0;
      seen[i] = b;
    } else if (msr[slot] !== b) setSegBase(c, i, msr[slot]);
  }
}

/**
 * After a selector load into FS (i = 0) or GS (i = 1) by a 64-bit instruction: the MSR
 * becomes the descriptor's base, zero-extended.
 */
export function segLoaded(c: CpuCore, i: number): void {
  const b = c.segBase[FS + i], slot = (M_FS_BASE + i) * 2;
  c.lm.msr[slot] = b;
  c.lm.msr[slot + 1] = 0;
  c.lm.segSeen[i] = b;
}

/**
 * Writes the FS_BASE (i = 0) or GS_BASE (i = 1) MSR (canonical already checked) and the
 * 32-bit view of it.
 */
export function writeSegBaseMsr(c: CpuCore, i: number, lo: number, hi: number): void {
  syncSegBases(c);
  const slot = (M_FS_BASE + i) * 2;
  c.lm.msr[slot] = lo;
  c.lm.msr[slot + 1] = hi;
  setSegBase(c, i, lo);
}

/**
 * rdmsr of EFER or an IA-32e MSR into `out` (lo, hi).
 * @returns false when `index` is none of them (the caller's table answers)
 */
export function readLongMsr(c: CpuCore, index: number, out: Int32Array): boolean {
  if (index === 0xc0000080) {
    out[0] = c.efer;
    out[1] = 0;
    return true;
  }
  const slot = longMsrSlot(index);
  if (slot < 0) return false;
  if (slot === M_FS_BASE || slot === M_FS_BASE + 1) syncSegBases(c);
  out[0] = c.lm.msr[slot * 2];
  out[1] = c.lm.msr[slot * 2 + 1];
  return true;
}

/**
 * wrmsr of EFER or an IA-32e MSR: #GP(0) on a non-canonical base or target, on TSC_AUX
 * bits 63..32, on reserved EFER bits, or on clearing EFER.LME while long mode is active;
 * EFER.LMA, once set, is kept.
 * @returns false when `index` is none of them
 */
export function writeLongMsr(c: CpuCore, index: number, lo: number, hi: number): boolean {
  if (index === 0xc0000080) {
    if (hi !== 0 || (lo & ~EFER_WRITABLE) !== 0) c.raise(VEC_GP, 0);
    const lma = c.efer & EFER_LMA;
    if (lma !== 0 && (lo & EFER_LME) === 0 && (c.efer & EFER_LME) !== 0) c.raise(VEC_GP, 0);
    c.efer = (lo & EFER_WRITABLE) | lma;
    c.flushTlb();
    return true;
  }
  const slot = longMsrSlot(index);
  if (slot < 0) return false;
  if (slot === M_TSC_AUX) {
    if (hi !== 0) c.raise(VEC_GP, 0);
  } else if (slot !== M_STAR && slot !== M_SFMASK && !canonicalHi(hi)) c.raise(VEC_GP, 0);
  if (slot === M_FS_BASE || slot === M_FS_BASE + 1) {
    writeSegBaseMsr(c, slot - M_FS_BASE, lo, hi);
    return true;
  }
  c.lm.msr[slot * 2] = lo;
  c.lm.msr[slot * 2 + 1] = hi;
  return true;
}
