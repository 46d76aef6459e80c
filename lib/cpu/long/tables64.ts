/**
 * The descriptor-table groups in 64-bit mode: 0F 00 (sldt, str, lldt, ltr with 16-byte
 * system descriptors, verr, verw), 0F 01 (sgdt/sidt/lgdt/lidt with 10-byte
 * pseudo-descriptors, smsw, lmsw, invlpg with a 64-bit address, and the register forms
 * swapgs and rdtscp), and lar/lsl (0F 02, 0F 03).
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_GP, VEC_NP, VEC_UD } from "../platform.ts";
import { queryDescriptor } from "../ops/system.ts";
import { A_P, A_S, descAttrs, descBase, descLimit, readDescriptor } from "../segmentation.ts";
import { D, modrm, opSize, readReg, readRm, writeReg, writeRm } from "./decode64.ts";
import { canonicalHi } from "./long_state.ts";
import { cpl0, eaLinear, L, readAt, V, writeAt } from "./operands64.ts";
import { rdtscp, swapgs } from "./syscall64.ts";

/**
 * Reads a 16-byte system descriptor (LDT or TSS) for `sel` of type `types` (bit mask of
 * acceptable types); #GP(sel) when absent or of another type, #NP(sel) when not present.
 * @returns the base's high half (the low half, limit and attributes from c.desc)
 */
function systemDescriptor(c: CpuCore, sel: number, types: number): number {
  const code = sel & 0xfffc;
  if ((sel & 4) !== 0 || !readDescriptor(c, sel)) c.raise(VEC_GP, code);
  const lo = c.desc[0], hi = c.desc[1];
  const a = descAttrs(hi);
  if ((a & A_S) !== 0 || ((types >> (a & 15)) & 1) === 0) c.raise(VEC_GP, code);
  if ((a & A_P) === 0) c.raise(VEC_NP, code);
  if (!readDescriptor(c, (sel + 8) & 0xfff8)) c.raise(VEC_GP, code);
  const baseHi = c.desc[0];
  if (!canonicalHi(baseHi)) c.raise(VEC_GP, code);
  c.desc[0] = lo;
  c.desc[1] = hi;
  return baseHi;
}

/** Group 6 (0F 00): sldt str lldt ltr verr verw. */
export function group6(c: CpuCore): void {
  modrm(c, 0);
  const o = D.reg & 7;
  if (o < 2) {
    const v = o === 0 ? c.ldtSel : c.trSel;
    if (D.isMem) writeRm(c, 16, v, 0);
    else writeReg(c, D.rm, opSize(), v, 0);
    return;
  }
  if (o > 5) c.raise(VEC_UD, -1);
  readRm(c, 16);
  const sel = V[0] & 0xffff;
  if (o >= 4) {
    queryDescriptor(c, sel, o - 2);
    return;
  }
  cpl0(c);
  if (o === 2) {
    if ((sel & 0xfffc) === 0) {
      c.ldtSel = sel;
      c.ldtBase = c.ldtLimit = 0;
      c.lm.ldtBaseHi = 0;
      return;
    }
    const hi = systemDescriptor(c, sel, 1 << 2);
    c.ldtSel = sel;
    c.ldtBase = descBase(c.desc[0], c.desc[1]);
    c.ldtLimit = descLimit(c.desc[0], c.desc[1]);
    c.lm.ldtBaseHi = hi;
    return;
  }
  if ((sel & 0xfffc) === 0) c.raise(VEC_GP, 0);
  const hi = systemDescriptor(c, sel, 1 << 9); // available 64-bit TSS
  c.trSel = sel;
  c.trBase = descBase(c.desc[0], c.desc[1]);
  c.trLimit = descLimit(c.desc[0], c.desc[1]);
  c.lm.trBaseHi = hi;
}

/** lar / lsl (0F 02, 0F 03). */
export function larLsl(c: CpuCore, b: number): void {
  const size = opSize();
  modrm(c, 0);
  readRm(c, 16);
  const v = queryDescriptor(c, V[0] & 0xffff, b - 2);
  if (v !== null) writeReg(c, D.reg, size, v, 0);
}

/** Group 7 (0F 01): sgdt sidt lgdt lidt smsw lmsw invlpg; swapgs, rdtscp. */
export function group7(c: CpuCore): void {
  modrm(c, 0);
  const o = D.reg & 7;
  if (!D.isMem) {
    if (o === 4) {
      const size = opSize();
      writeReg(c, D.rm, size, c.cr0, 0);
    } else if (o === 6) {
      cpl0(c);
      readReg(c, D.rm, 16);
      lmsw(c, V[0]);
    } else if (o === 7 && (D.rm & 7) === 0) swapgs(c);
    else if (o === 7 && (D.rm & 7) === 1) rdtscp(c);
    else c.raise(VEC_UD, -1);
    return;
  }
  switch (o) {
    case 0:
    case 1: {
      eaLinear(c);
      const lo = L[0], hi = L[1];
      const g = o === 0;
      writeAt(c, lo, hi, 0, 2, g ? c.gdtLimit : c.idtLimit, 0);
      writeAt(c, lo, hi, 2, 8, g ? c.gdtBase : c.idtBase, g ? c.lm.gdtBaseHi : c.lm.idtBaseHi);
      return;
    }
    case 2:
    case 3: {
      cpl0(c);
      eaLinear(c);
      const lo = L[0], hi = L[1];
      readAt(c, lo, hi, 0, 2);
      const limit = V[0];
      readAt(c, lo, hi, 2, 8);
      if (o === 2) {
        c.gdtLimit = limit;
        c.gdtBase = V[0];
        c.lm.gdtBaseHi = V[1];
      } else {
        c.idtLimit = limit;
        c.idtBase = V[0];
        c.lm.idtBaseHi = V[1];
      }
      return;
    }
    case 4:
      writeRm(c, 16, c.cr0, 0);
      return;
    case 6:
      cpl0(c);
      readRm(c, 16);
      lmsw(c, V[0]);
      return;
    case 7:
      cpl0(c);
      eaLinear(c);
      invlpg64(c, L[0], L[1]);
      return;
    default:
      c.raise(VEC_UD, -1);
  }
}

/** lmsw: sets PE MP EM TS from the low 4 bits; cannot clear PE. */
function lmsw(c: CpuCore, v: number): void {
  c.cr0 = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & 1);
}

/**
 * invlpg of a 64-bit linear address: the core's invalidation of that page (the 64-bit TLB
 * and, below 4 GiB, the 32-bit one of compatibility mode); a non-canonical address is a
 * no-op, as on the hardware.
 */
export function invlpg64(c: CpuCore, lo: number, hi: number): void {
  if (canonicalHi(hi)) c.invlpg64(lo, hi);
}
