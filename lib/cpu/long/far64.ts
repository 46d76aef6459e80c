/**
 * Segment loads and far transfers in 64-bit mode (SDM vol. 2 MOV/POP Sreg, JMP/CALL/RET
 * far, IRET; vol. 3 §5.8): mov to/from Sreg, push/pop fs/gs, lfs/lgs/lss, jmp/call far
 * through memory (FF /5, FF /3; call gates in gate64.ts), ret far (CB/CA), iret/iretq, each able to land in 64-bit
 * code (CS.L: canonical target) or in compatibility code (CS.L = 0: a 32-bit target
 * inside the limit), at the same level or (ret, iret) at an outer one. Every check and
 * every stack read happens before the first register changes. Loading FS/GS with a
 * selector sets FS_BASE/GS_BASE to the descriptor's base, zero-extended.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_NT, getEflagsOf, setEflagsOf } from "../flags.ts";
import { VEC_GP, VEC_UD } from "../platform.ts";
import {
  A_DB,
  checkCodeSegment,
  checkStackSegment,
  commitSegment,
  descAttrs,
  descLimit,
  loadSegmentOrFault,
  nullInaccessibleSegments,
  setAccessed,
} from "../segmentation.ts";
import { loadFlags } from "../ops/far.ts";
import { D, modrm, opSize, readRm, writeReg, writeRm } from "./decode64.ts";
import { ATTR_L, canonicalHi } from "./long_state.ts";
import { segLoaded } from "./msr64.ts";
import { throughGate } from "./gate64.ts";
import { eaLinear, L, readAt, rspMinus, rspPlus, stackRead, V, writeBelow } from "./operands64.ts";
import { FAULT } from "../core.ts";

const CS = 1, SS = 2, FS = 4;

/** The target's (lo, hi) after {@link targetOf}. */
const T = new Int32Array(2);

/**
 * Loads a data or stack segment register in 64-bit mode: the 32-bit checks, plus a null
 * SS at CPL < 3 when its RPL is the CPL; FS/GS take the descriptor base as their MSR base.
 */
export function loadSeg64(c: CpuCore, sreg: number, sel: number): void {
  sel &= 0xffff;
  if (sreg === SS && (sel & 0xfffc) === 0 && (sel & 4) === 0) {
    if (c.cpl === 3 || (sel & 3) !== c.cpl) c.raise(VEC_GP, 0);
    c.setSegmentRaw(SS, sel, 0, 0, 0);
    return;
  }
  loadSegmentOrFault(c, sreg, sel);
  if (sreg >= FS) segLoaded(c, sreg - FS);
}

/** mov r/m, Sreg (8C) and mov Sreg, r/m16 (8E). */
export function movSreg(c: CpuCore, b: number): void {
  modrm(c, 0);
  const s = D.reg & 7;
  if (s > 5 || (b === 0x8e && s === CS)) c.raise(VEC_UD, -1);
  if (b === 0x8c) {
    const sel = c.segSel[s];
    if (D.isMem) writeRm(c, 16, sel, 0);
    else writeReg(c, D.rm, opSize(), sel, 0);
    return;
  }
  readRm(c, 16);
  loadSeg64(c, s, V[0]);
}

/** push fs/gs (0F A0, A8) and pop fs/gs (0F A1, A9). */
export function pushPopFsGs(c: CpuCore, b: number): void {
  const s = b < 0xa8 ? FS : FS + 1;
  const n = D.o16 ? 2 : 8;
  if ((b & 1) === 0) {
    writeBelow(c, c.regs[4], c.lm.hi[4], n, n, c.segSel[s], 0);
    rspMinus(c, n);
    return;
  }
  stackRead(c, 0, n);
  loadSeg64(c, s, V[0]);
  rspPlus(c, n);
  c.regs[4] = L[0];
  c.lm.hi[4] = L[1];
}

/** lss / lfs / lgs (0F B2 B4 B5): offset (operand size) then selector from memory. */
export function loadFarPointer64(c: CpuCore, b: number): void {
  const size = opSize(), n = size >> 3;
  modrm(c, 0);
  if (!D.isMem) c.raise(VEC_UD, -1);
  eaLinear(c);
  const lo = L[0], hi = L[1];
  readAt(c, lo, hi, 0, n);
  const oLo = V[0], oHi = V[1];
  readAt(c, lo, hi, n, 2);
  loadSeg64(c, b === 0xb2 ? SS : b === 0xb4 ? FS : FS + 1, V[0]);
  writeReg(c, D.reg, size, oLo, oHi);
}

/**
 * Checks a far target offset against the code descriptor in c.desc: a 64-bit segment
 * (L, not D) takes a canonical address, a compatibility one a 32-bit offset inside its
 * limit. Leaves the target in {@link T}.
 */
function targetOf(c: CpuCore, sel: number, lo: number, hi: number): void {
  const attrs = descAttrs(c.desc[1]);
  if ((attrs & ATTR_L) !== 0) {
    if ((attrs & A_DB) !== 0) c.raise(VEC_GP, sel & 0xfffc);
    if (!canonicalHi(hi)) c.raise(VEC_GP, 0);
  } else if (hi !== 0 || (lo >>> 0) > (descLimit(c.desc[0], c.desc[1]) >>> 0)) {
    c.raise(VEC_GP, 0);
  }
  T[0] = lo;
  T[1] = hi;
}

/** Commits CS (descriptor in c.desc, selector `sel`) and RIP = {@link T}. */
function commitCs(c: CpuCore, sel: number): void {
  setAccessed(c, sel);
  commitSegment(c, CS, sel);
  c.eip = T[0];
  c.lm.ripHi = T[1];
}

/** Reads an m16:16/32/64 far pointer at the decoded operand: offset in T, returns the selector. */
function farPointer(c: CpuCore, n: number): number {
  if (!D.isMem) c.raise(VEC_UD, -1);
  eaLinear(c);
  const lo = L[0], hi = L[1];
  readAt(c, lo, hi, 0, n);
  T[0] = n === 2 ? V[0] & 0xffff : V[0];
  T[1] = n === 8 ? V[1] : 0;
  const oLo = T[0], oHi = T[1];
  readAt(c, lo, hi, n, 2);
  T[0] = oLo;
  T[1] = oHi;
  return V[0] & 0xffff;
}

/** jmp far m16:xx (FF /5; ModRM already decoded): same privilege (no gates). */
export function jmpFar64(c: CpuCore): void {
  const n = opSize() >> 3;
  const sel = farPointer(c, n);
  const tLo = T[0], tHi = T[1];
  if (throughGate(c, sel, false)) return;
  checkCodeSegment(c, sel, 1);
  targetOf(c, sel, tLo, tHi);
  commitCs(c, (sel & 0xfffc) | c.cpl);
}

/** call far m16:xx (FF /3; ModRM already decoded): pushes CS and RIP at operand size. */
export function callFar64(c: CpuCore): void {
  const n = opSize() >> 3;
  const sel = farPointer(c, n);
  const tLo0 = T[0], tHi0 = T[1];
  if (throughGate(c, sel, true)) return;
  checkCodeSegment(c, sel, 1);
  targetOf(c, sel, tLo0, tHi0);
  const lo = c.desc[0], hi = c.desc[1], tLo = T[0], tHi = T[1];
  const sp = c.regs[4], spHi = c.lm.hi[4];
  writeBelow(c, sp, spHi, n, n, c.segSel[CS], 0);
  writeBelow(c, sp, spHi, 2 * n, n, c.eip, c.lm.ripHi);
  rspMinus(c, 2 * n);
  c.desc[0] = lo;
  c.desc[1] = hi;
  T[0] = tLo;
  T[1] = tHi;
  commitCs(c, (sel & 0xfffc) | c.cpl);
}

/**
 * Loads SS for a return to privilege `rpl` (64-bit mode allows a null SS when the target is
 * 64-bit code below ring 3); the code descriptor is in (lo, hi), the target in T.
 */
function commitOuter(
  c: CpuCore,
  cs: number,
  lo: number,
  hi: number,
  ss: number,
  spLo: number,
  spHi: number,
): void {
  const rpl = cs & 3;
  const tLo = T[0], tHi = T[1];
  if ((ss & 0xfffc) === 0 && (ss & 4) === 0) {
    if ((descAttrs(hi) & ATTR_L) === 0 || rpl === 3) c.raise(VEC_GP, 0);
    c.setSegmentRaw(SS, ss, 0, 0, 0);
  } else {
    checkStackSegment(c, ss, rpl, VEC_GP);
    setAccessed(c, ss);
    commitSegment(c, SS, ss);
  }
  c.desc[0] = lo;
  c.desc[1] = hi;
  T[0] = tLo;
  T[1] = tHi;
  commitCs(c, cs);
  c.regs[4] = spLo;
  c.lm.hi[4] = spHi;
}

/** After a return to an outer level: data segments the new CPL may not use become null. */
function nullOuter(c: CpuCore): void {
  nullInaccessibleSegments(c);
  segLoaded(c, 0);
  segLoaded(c, 1);
}

/** ret far [imm16] (CB, CA): pops RIP and CS at operand size; outward also RSP and SS. */
export function retFar64(c: CpuCore, imm: number): void {
  const n = opSize() >> 3;
  stackRead(c, 0, n);
  const rLo = n === 2 ? V[0] & 0xffff : V[0], rHi = n === 8 ? V[1] : 0;
  stackRead(c, n, n);
  const cs = V[0] & 0xffff, rpl = cs & 3;
  if (rpl < c.cpl) c.raise(VEC_GP, cs & 0xfffc);
  checkCodeSegment(c, cs, 0);
  targetOf(c, cs, rLo, rHi);
  if (rpl === c.cpl) {
    rspPlus(c, 2 * n + imm);
    const spLo = L[0], spHi = L[1];
    commitCs(c, cs);
    c.regs[4] = spLo;
    c.lm.hi[4] = spHi;
    return;
  }
  const lo = c.desc[0], hi = c.desc[1];
  stackRead(c, 2 * n + imm, n);
  const spLo = n === 2 ? V[0] & 0xffff : V[0], spHi = n === 8 ? V[1] : 0;
  stackRead(c, 3 * n + imm, n);
  commitOuter(c, cs, lo, hi, V[0] & 0xffff, spLo, spHi);
  rspPlus(c, imm);
  c.regs[4] = L[0];
  c.lm.hi[4] = L[1];
  nullOuter(c);
}

/**
 * iret / iretd / iretq (CF) in 64-bit mode: pops RIP, CS, RFLAGS, RSP and SS at operand
 * size (SS:RSP always), returning to 64-bit or compatibility code at the same or an outer
 * level. RFLAGS is loaded with the old CPL's rights (IOPL at CPL 0, IF at CPL <= IOPL).
 */
export function iret64(c: CpuCore): void {
  if ((c.flags & F_NT) !== 0) c.raise(VEC_GP, 0); // no task return in IA-32e mode
  const n = opSize() >> 3;
  stackRead(c, 0, n);
  const rLo = n === 2 ? V[0] & 0xffff : V[0], rHi = n === 8 ? V[1] : 0;
  stackRead(c, n, n);
  const cs = V[0] & 0xffff, rpl = cs & 3;
  stackRead(c, 2 * n, n);
  const fl = V[0];
  stackRead(c, 3 * n, n);
  const spLo = n === 2 ? V[0] & 0xffff : V[0], spHi = n === 8 ? V[1] : 0;
  stackRead(c, 4 * n, n);
  const ss = V[0] & 0xffff;
  if (rpl < c.cpl) c.raise(VEC_GP, cs & 0xfffc);
  checkCodeSegment(c, cs, 0);
  targetOf(c, cs, rLo, rHi);
  const lo = c.desc[0], hi = c.desc[1], old = c.cpl;
  const saved = getEflagsOf(c);
  loadFlags(c, fl, n === 2, true);
  try {
    commitOuter(c, cs, lo, hi, ss, spLo, spHi);
  } catch (e) {
    setEflagsOf(c, saved);
    throw e;
  }
  if (rpl > old) nullOuter(c);
}

/**
 * Enters a handler: loads CS and SS with their checks (SS may be null for 64-bit code
 * below ring 3), sets CPL to the code selector's RPL, RIP and RSP. Nothing changes when
 * a check fails. For a platform delivering events to 64-bit code (pv64's bounce frames).
 * @returns 0, or the fault vector (error code in `c.excCode`)
 */
export function enterHandler64(
  c: CpuCore,
  cs: number,
  ripLo: number,
  ripHi: number,
  ss: number,
  rspLo: number,
  rspHi: number,
): number {
  try {
    checkCodeSegment(c, cs, 0);
    targetOf(c, cs, ripLo, ripHi);
    commitOuter(c, cs, c.desc[0], c.desc[1], ss, rspLo, rspHi);
    return 0;
  } catch (e) {
    if (e !== FAULT) throw e;
    return c.excVector;
  }
}
