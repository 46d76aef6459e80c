/**
 * Stack instructions: push/pop of registers, immediates, segment registers and r/m,
 * pusha/popa, pushf/popf, enter/leave.
 * @module
 */

import type { CpuCore as Cpu } from "../core.ts";
import { addSp, getR, peek, pop, push, setR, writeRM } from "../operands.ts";
import { loadSegmentOrFault } from "../segmentation.ts";
import { loadFlags } from "./far.ts";

const SS = 2;
const FS = 4, GS = 5;

function vsOf(c: Cpu): number {
  return c.o16 ? 2 : 4;
}

/** push of a segment register: a 16-bit write into a `sz`-byte slot (as recent Intel CPUs). */
export function pushSegReg(c: Cpu, s: number, sz: number): void {
  if (sz === 2) push(c, c.segSel[s], 2);
  else {
    const lin = c.segAddr(SS, (c.regs[4] - 4) | 0, 4, true);
    c.write16(lin, c.segSel[s]);
    addSp(c, -4);
  }
}

/** pop into a segment register. */
export function popSegReg(c: Cpu, s: number, sz: number): void {
  const v = peek(c, 0, sz) & 0xffff;
  loadSegmentOrFault(c, s, v);
  addSp(c, sz);
}

/** push ES/CS/SS/DS (06 0E 16 1E). */
export function pushSeg(c: Cpu, op: number): void {
  pushSegReg(c, op >> 3, vsOf(c));
}

/** pop ES/SS/DS (07 17 1F). */
export function popSeg(c: Cpu, op: number): void {
  popSegReg(c, op >> 3, vsOf(c));
}

/** push FS/GS (0F A0, 0F A8). */
export function pushFsGs(c: Cpu, op: number): void {
  pushSegReg(c, op === 0xa0 ? FS : GS, vsOf(c));
}

/** pop FS/GS (0F A1, 0F A9). */
export function popFsGs(c: Cpu, op: number): void {
  popSegReg(c, op === 0xa1 ? FS : GS, vsOf(c));
}

/** push r (50-57). */
export function pushR(c: Cpu, op: number): void {
  const vs = vsOf(c);
  push(c, getR(c, op & 7, vs), vs);
}

/** pop r (58-5F). */
export function popR(c: Cpu, op: number): void {
  const vs = vsOf(c);
  const v = pop(c, vs);
  setR(c, op & 7, vs, v);
}

/** push imm (68, 6A). */
export function pushI(c: Cpu, op: number): void {
  const vs = vsOf(c);
  const v = op === 0x6a ? (c.fb() << 24) >> 24 : vs === 4 ? c.fd() : c.fw();
  push(c, v, vs);
}

/** pop r/m (8F /0). */
export function popEv(c: Cpu): void {
  const vs = vsOf(c);
  const modrm = c.fb();
  const v = peek(c, 0, vs);
  addSp(c, vs);
  writeRM(c, modrm, vs, v);
}

/** pusha (60). */
export function pusha(c: Cpu): void {
  const vs = vsOf(c);
  const sp = c.regs[4];
  for (let i = 0; i < 8; i++) push(c, i === 4 ? sp : getR(c, i, vs), vs);
}

/** popa (61). */
export function popa(c: Cpu): void {
  const vs = vsOf(c);
  for (let i = 7; i >= 0; i--) {
    const v = peek(c, (7 - i) * vs, vs);
    if (i !== 4) setR(c, i, vs, v);
  }
  addSp(c, 8 * vs);
}

/** pushf (9C). */
export function pushf(c: Cpu): void {
  push(c, c.getEflags() & 0xfcffff, vsOf(c));
}

/** popf (9D). */
export function popf(c: Cpu): void {
  const vs = vsOf(c);
  const v = pop(c, vs);
  loadFlags(c, v, vs === 2, false);
}

/** enter imm16, imm8 (C8). */
export function enter(c: Cpu): void {
  const sz = vsOf(c);
  const alloc = c.fw(), level = c.fb() & 31;
  const r = c.regs;
  const big = (c.segChk[SS] & 16) !== 0;
  push(c, r[5], sz);
  const frame = big ? r[4] : r[4] & 0xffff;
  let bp = r[5];
  for (let i = 1; i < level; i++) {
    bp = (bp - sz) | 0;
    push(c, c.readN(c.segAddr(SS, big ? bp : bp & 0xffff, sz, false), sz), sz);
  }
  if (level > 0) push(c, frame, sz);
  // Probe the new stack bottom as hardware does before committing.
  const nsp = big ? (r[4] - alloc) | 0 : (r[4] - alloc) & 0xffff;
  if (alloc > 0) c.segAddr(SS, nsp, 1, true);
  setR(c, 5, sz, frame);
  if (big) r[4] = nsp;
  else c.r16[8] = nsp;
}

/** leave (C9). */
export function leave(c: Cpu): void {
  const vs = vsOf(c);
  const r = c.regs;
  if ((c.segChk[SS] & 16) !== 0) r[4] = r[5];
  else c.r16[8] = c.r16[10];
  setR(c, 5, vs, pop(c, vs));
}
