/**
 * Segmentation: descriptor reads (through DescriptorTables or GDTR/LDTR), the derived
 * access checks, and segment-register loads with the architectural checks (SDM vol. 2,
 * MOV/POP Sreg; vol. 3 §5).
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { FAULT } from "./core.ts";
import { TABLE_GDT, TABLE_LDT, VEC_GP, VEC_NP, VEC_SS } from "./platform.ts";
import { K_READ, K_WRITE } from "./tlb.ts";

export {
  A_ACCESSED,
  A_CODE,
  A_DB,
  A_DC,
  A_G,
  A_P,
  A_RW,
  A_S,
  dplOf,
  SC_BASE0,
  SC_BIG,
  SC_DOWN,
  SC_FLAT,
  SC_R,
  SC_VALID,
  SC_W,
  SC_WIDE,
  segChkFromAttrs,
} from "./seg_check.ts";
import { A_CODE, A_DC, A_P, A_RW, A_S, dplOf } from "./seg_check.ts";

const SEG_ES = 0, SEG_CS = 1, SEG_SS = 2;

/** Base of a descriptor (lo, hi). */
export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}

/** Byte-granular limit of a descriptor. */
export function descLimit(lo: number, hi: number): number {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) !== 0 ? (l << 12) | 0xfff : l;
}

/** Attribute word of a descriptor. */
export function descAttrs(hi: number): number {
  return (hi >> 8) & 0xf0ff;
}

/**
 * Reads the descriptor for `selector` into `c.desc`.
 * @returns false when the selector's index is beyond its table
 */
export function readDescriptor(c: Cpu, selector: number): boolean {
  const ldt = (selector & 4) !== 0;
  const index = (selector >> 3) & 0x1fff;
  const dt = c.descriptorTables;
  if (dt !== null) return dt.read(ldt ? TABLE_LDT : TABLE_GDT, index, c.desc);
  const base = ldt ? c.ldtBase : c.gdtBase;
  const limit = ldt ? c.ldtLimit : c.gdtLimit;
  if (ldt && (c.ldtSel & 0xfffc) === 0) return false;
  if (index * 8 + 7 > (limit >>> 0)) return false;
  c.desc[0] = sysRead32(c, (base + index * 8) | 0);
  c.desc[1] = sysRead32(c, (base + index * 8 + 4) | 0);
  return true;
}

/** A supervisor (implicit) dword read; raises #PF on failure. */
function sysRead32(c: Cpu, lin: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const m = c.translate(lin + i, K_READ, 0);
    if (m < 0) c.raise(14, c.pfErrorCode);
    v |= c.u8[m] << (i * 8);
  }
  return v;
}

/** Sets the accessed bit of the descriptor for `selector` (already read into c.desc). */
export function setAccessed(c: Cpu, selector: number): void {
  if ((c.desc[1] & 0x100) !== 0) return;
  c.desc[1] |= 0x100;
  const ldt = (selector & 4) !== 0;
  const index = (selector >> 3) & 0x1fff;
  const dt = c.descriptorTables;
  if (dt !== null) {
    dt.setAccessed(ldt ? TABLE_LDT : TABLE_GDT, index);
    return;
  }
  const lin = ((ldt ? c.ldtBase : c.gdtBase) + index * 8 + 5) | 0;
  const m = c.translate(lin, K_WRITE, 0);
  if (m >= 0) c.u8[m] |= 1;
}

/** Loads segment register `sreg` from the descriptor in c.desc (no checks). */
export function commitSegment(c: Cpu, sreg: number, selector: number): void {
  const lo = c.desc[0], hi = c.desc[1];
  c.setSegmentRaw(sreg, selector, descBase(lo, hi), descLimit(lo, hi), descAttrs(hi));
}

/**
 * Loads a data/stack segment register with the checks of MOV/POP Sreg; raises the fault.
 * @param sreg ES SS DS FS GS (not CS)
 */
export function loadSegmentOrFault(c: Cpu, sreg: number, selector: number): void {
  selector &= 0xffff;
  const code = selector & 0xfffc;
  const rpl = selector & 3;
  if (code === 0 && (selector & 4) === 0) {
    if (sreg === SEG_SS) c.raise(VEC_GP, 0);
    c.setSegmentRaw(sreg, selector, 0, 0, 0);
    return;
  }
  if (!readDescriptor(c, selector)) c.raise(VEC_GP, code);
  const attrs = descAttrs(c.desc[1]);
  const dpl = dplOf(attrs);
  if (sreg === SEG_SS) {
    if (
      rpl !== c.cpl || dpl !== c.cpl || (attrs & A_S) === 0 || (attrs & A_CODE) !== 0 ||
      (attrs & A_RW) === 0
    ) c.raise(VEC_GP, code);
    if ((attrs & A_P) === 0) c.raise(VEC_SS, code);
  } else {
    if ((attrs & A_S) === 0) c.raise(VEC_GP, code);
    if ((attrs & A_CODE) !== 0 && (attrs & A_RW) === 0) c.raise(VEC_GP, code);
    const conforming = (attrs & (A_CODE | A_DC)) === (A_CODE | A_DC);
    if (!conforming && (rpl > dpl || c.cpl > dpl)) c.raise(VEC_GP, code);
    if ((attrs & A_P) === 0) c.raise(VEC_NP, code);
  }
  setAccessed(c, selector);
  commitSegment(c, sreg, selector);
}

/**
 * Loads a data/stack segment register with the architectural checks; never throws.
 * @returns 0, or the fault vector with the error code in c.excCode
 */
export function loadSegment(c: Cpu, sreg: number, selector: number): number {
  if (sreg === SEG_CS || sreg < SEG_ES || sreg > 5) {
    c.excCode = 0;
    return 6;
  }
  try {
    loadSegmentOrFault(c, sreg, selector);
    return 0;
  } catch (e) {
    if (e !== FAULT) throw e;
    return c.excVector;
  }
}

/**
 * Checks that `selector` names a present code segment usable at privilege `rpl`, and
 * leaves its descriptor in c.desc; raises #GP(sel)/#NP(sel).
 * @param mode 0: same or outward return (DPL == RPL, or <= RPL when conforming);
 *   1: jmp/call (DPL == CPL, or <= CPL when conforming, RPL <= CPL)
 */
export function checkCodeSegment(c: Cpu, selector: number, mode: number): void {
  const code = selector & 0xfffc;
  if (code === 0 && (selector & 4) === 0) c.raise(VEC_GP, 0);
  if (!readDescriptor(c, selector)) c.raise(VEC_GP, code);
  const attrs = descAttrs(c.desc[1]);
  if ((attrs & (A_S | A_CODE)) !== (A_S | A_CODE)) c.raise(VEC_GP, code);
  const dpl = dplOf(attrs);
  const rpl = selector & 3;
  const conforming = (attrs & A_DC) !== 0;
  if (mode === 0) {
    if (conforming ? dpl > rpl : dpl !== rpl) c.raise(VEC_GP, code);
  } else if (conforming ? dpl > c.cpl : (rpl > c.cpl || dpl !== c.cpl)) c.raise(VEC_GP, code);
  if ((attrs & A_P) === 0) c.raise(VEC_NP, code);
}

/**
 * Checks a stack segment for privilege `pl`; leaves the descriptor in c.desc.
 * Raises #GP(sel) (or `badVec`) / #SS(sel).
 */
export function checkStackSegment(c: Cpu, selector: number, pl: number, badVec: number): void {
  const code = selector & 0xfffc;
  if (code === 0 && (selector & 4) === 0) c.raise(badVec, 0);
  if (!readDescriptor(c, selector)) c.raise(badVec, code);
  const attrs = descAttrs(c.desc[1]);
  if (
    (selector & 3) !== pl || dplOf(attrs) !== pl || (attrs & A_S) === 0 ||
    (attrs & A_CODE) !== 0 || (attrs & A_RW) === 0
  ) c.raise(badVec, code);
  if ((attrs & A_P) === 0) c.raise(VEC_SS, code);
}

/**
 * Enters a handler at cs:eip with stack ss:esp, CPL = cs.RPL. Nothing changes on failure.
 * @returns 0, or the fault vector (error code in c.excCode)
 */
export function enterHandler(c: Cpu, cs: number, eip: number, ss: number, esp: number): number {
  try {
    const pl = cs & 3;
    checkCodeSegment(c, cs, 0);
    const clo = c.desc[0], chi = c.desc[1];
    if ((eip >>> 0) > (descLimit(clo, chi) >>> 0)) c.raise(VEC_GP, 0);
    checkStackSegment(c, ss, pl, VEC_GP);
    setAccessed(c, ss);
    commitSegment(c, SEG_SS, ss);
    c.desc[0] = clo;
    c.desc[1] = chi;
    setAccessed(c, cs);
    commitSegment(c, SEG_CS, cs);
    c.eip = eip >>> 0;
    c.regs[4] = esp | 0;
    return 0;
  } catch (e) {
    if (e !== FAULT) throw e;
    return c.excVector;
  }
}

/**
 * After a return to an outer level: data segment registers whose DPL is below the new
 * CPL (and that are not conforming code) become null (SDM RET/IRET).
 */
export function nullInaccessibleSegments(c: Cpu): void {
  for (const s of [0, 3, 4, 5]) {
    const a = c.segAttr[s];
    if (a === 0) continue;
    const conforming = (a & (A_CODE | A_DC)) === (A_CODE | A_DC);
    if (!conforming && dplOf(a) < c.cpl) c.setSegmentRaw(s, 0, 0, 0, 0);
  }
}
