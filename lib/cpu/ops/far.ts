/**
 * Far control transfers through descriptors: jmp far, call far, ret far and iret (same
 * privilege and outward with the ss:esp pop), plus the privileged EFLAGS load of popf/iret.
 * Gates and task switches are not modelled (#GP with the selector).
 * @module
 */

import type { CpuCore as Cpu } from "../core.ts";
import {
  F_IF,
  F_IOPL,
  F_NT,
  F_RF,
  F_VIF,
  F_VIP,
  F_VM,
  getEflagsOf,
  setEflagsOf,
} from "../flags.ts";
import { VEC_GP } from "../platform.ts";
import {
  checkCodeSegment,
  checkStackSegment,
  commitSegment,
  descLimit,
  nullInaccessibleSegments,
  setAccessed,
} from "../segmentation.ts";
import { addSp, peek, push } from "../operands.ts";

const CS = 1, SS = 2;

/**
 * Loads EFLAGS from a popped value with the privilege rules of popf/iret (SDM POPF):
 * IOPL changes only at CPL 0, IF only when CPL <= IOPL; VM is never set.
 * @param o16 only the low 16 bits change
 * @param iret also allows VIF/VIP at CPL 0
 */
export function loadFlags(c: Cpu, v: number, o16: boolean, iret: boolean): void {
  const old = getEflagsOf(c);
  // CF PF AF ZF SF TF IF DF OF IOPL NT RF AC ID
  let mask = 0x257fd5;
  if (c.cpl > 0) mask &= ~F_IOPL;
  if (c.cpl > ((old & F_IOPL) >> 12)) mask &= ~F_IF;
  if (iret && c.cpl === 0) mask |= F_VIF | F_VIP;
  if (!iret) mask &= ~F_RF;
  if (o16) mask &= 0xffff;
  let nv = (old & ~mask) | (v & mask);
  if (!iret) nv &= ~F_RF;
  setEflagsOf(c, nv & ~F_VM);
}

function checkLimit(c: Cpu, off: number): void {
  if ((off >>> 0) > (descLimit(c.desc[0], c.desc[1]) >>> 0)) c.raise(VEC_GP, 0);
}

/** jmp far ptr16:off (EA or FF /5) to a code segment at the same CPL. */
export function jmpFar(c: Cpu, sel: number, off: number): void {
  sel &= 0xffff;
  checkCodeSegment(c, sel, 1);
  checkLimit(c, off);
  setAccessed(c, sel);
  commitSegment(c, CS, (sel & 0xfffc) | c.cpl);
  c.eip = off >>> 0;
}

/** call far ptr16:off (9A or FF /3): pushes CS and the return EIP (`sz` bytes each). */
export function callFar(c: Cpu, sel: number, off: number, sz: number): void {
  sel &= 0xffff;
  checkCodeSegment(c, sel, 1);
  checkLimit(c, off);
  const lo = c.desc[0], hi = c.desc[1];
  push(c, c.segSel[CS], sz);
  push(c, c.eip, sz);
  c.desc[0] = lo;
  c.desc[1] = hi;
  setAccessed(c, sel);
  commitSegment(c, CS, (sel & 0xfffc) | c.cpl);
  c.eip = off >>> 0;
}

/**
 * Loads the outer-level SS:ESP for a return to privilege `rpl` (after the code segment's
 * descriptor was checked and saved in lo/hi), commits SS and CS, and nulls data segments
 * the new CPL may not use.
 */
function returnOuter(
  c: Cpu,
  rpl: number,
  cs: number,
  lo: number,
  hi: number,
  ss: number,
  esp: number,
): void {
  checkStackSegment(c, ss, rpl, VEC_GP);
  setAccessed(c, ss);
  commitSegment(c, SS, ss);
  c.desc[0] = lo;
  c.desc[1] = hi;
  setAccessed(c, cs);
  commitSegment(c, CS, cs);
  c.regs[4] = esp;
  nullInaccessibleSegments(c);
}

/** ret far [imm16] (CA/CB): same level, or outward popping SS:ESP. */
export function retFar(c: Cpu, sz: number, imm: number): void {
  const eip = peek(c, 0, sz) >>> 0;
  const cs = peek(c, sz, sz) & 0xffff;
  const rpl = cs & 3;
  if (rpl < c.cpl) c.raise(VEC_GP, cs & 0xfffc);
  checkCodeSegment(c, cs, 0);
  checkLimit(c, eip);
  if (rpl === c.cpl) {
    setAccessed(c, cs);
    commitSegment(c, CS, cs);
    addSp(c, 2 * sz + imm);
  } else {
    const lo = c.desc[0], hi = c.desc[1];
    const esp = peek(c, 2 * sz + imm, sz);
    const ss = peek(c, 3 * sz + imm, sz) & 0xffff;
    returnOuter(c, rpl, cs, lo, hi, ss, (sz === 2 ? esp & 0xffff : esp) + imm);
  }
  c.eip = sz === 2 ? eip & 0xffff : eip;
}

/** iret: same level, or outward to a less privileged level (pops SS:ESP). */
export function iret(c: Cpu, sz: number): void {
  if ((c.flags & F_NT) !== 0) c.raise(VEC_GP, 0); // task return: not modelled
  const eip = peek(c, 0, sz) >>> 0;
  const cs = peek(c, sz, sz) & 0xffff;
  const fl = peek(c, 2 * sz, sz);
  if ((fl & F_VM) !== 0 && sz === 4 && c.cpl === 0) c.raise(VEC_GP, 0); // no v8086
  const rpl = cs & 3;
  if (rpl < c.cpl) c.raise(VEC_GP, cs & 0xfffc);
  checkCodeSegment(c, cs, 0);
  const neip = sz === 2 ? eip & 0xffff : eip;
  checkLimit(c, neip);
  if (rpl === c.cpl) {
    setAccessed(c, cs);
    commitSegment(c, CS, cs);
    addSp(c, 3 * sz);
    loadFlags(c, fl, sz === 2, true);
  } else {
    const lo = c.desc[0], hi = c.desc[1];
    const esp = peek(c, 3 * sz, sz);
    const ss = peek(c, 4 * sz, sz) & 0xffff;
    // Flags are loaded with the old CPL's rights (checks above leave state untouched).
    const savedFlags = getEflagsOf(c);
    loadFlags(c, fl, sz === 2, true);
    try {
      returnOuter(c, rpl, cs, lo, hi, ss, esp);
    } catch (e) {
      setEflagsOf(c, savedFlags);
      throw e;
    }
  }
  c.eip = neip;
}
