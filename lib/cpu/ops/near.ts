/**
 * Near control flow: Jcc, jmp/call rel, ret, loop/jcxz, and the indirect near forms
 * (group 5 /2 /4). Every handler here sets EIP (the row's T_SETS_IP).
 * @module
 */

import type { CpuCore as Cpu } from "../core.ts";
import { testCC } from "../flags.ts";
import { addSp, jumpTo, peek, push } from "../operands.ts";

/** EIP of the next instruction. */
export function nextIp(c: Cpu): number {
  return (c.eip + c.ilen) >>> 0;
}

/** Advances EIP past the instruction. */
export function advance(c: Cpu): void {
  c.eip = (c.eip + c.ilen) >>> 0;
}

/** Jcc rel8 (70-7F) and Jcc rel16/32 (0F 80-8F). */
export function jccRel(c: Cpu, op: number): void {
  const d = (op & 0xf0) === 0x70 ? (c.fb() << 24) >> 24 : c.o16 ? (c.fw() << 16) >> 16 : c.fd();
  if (testCC(c, op & 15)) jumpTo(c, c.eip + c.ilen + d);
  else advance(c);
}

/** jmp rel8 (EB) / rel16/32 (E9). */
export function jmpRel(c: Cpu, op: number): void {
  const d = op === 0xeb ? (c.fb() << 24) >> 24 : c.o16 ? (c.fw() << 16) >> 16 : c.fd();
  jumpTo(c, c.eip + c.ilen + d);
}

/** call rel16/32 (E8). */
export function callRel(c: Cpu): void {
  const vs = c.o16 ? 2 : 4;
  const d = vs === 4 ? c.fd() : (c.fw() << 16) >> 16;
  const ret = nextIp(c);
  push(c, ret, vs);
  jumpTo(c, ret + d);
}

/** call near to an absolute target (group 5 /2): pushes the return address. */
export function callAbs(c: Cpu, target: number, vs: number): void {
  push(c, nextIp(c), vs);
  jumpTo(c, target);
}

/** ret / ret imm16 (C3, C2). */
export function retNear(c: Cpu, op: number): void {
  const vs = c.o16 ? 2 : 4;
  const imm = op === 0xc2 ? c.fw() : 0;
  const t = peek(c, 0, vs);
  jumpTo(c, t);
  addSp(c, vs + imm);
}

/** loopne/loope/loop/jcxz (E0-E3). */
export function loop(c: Cpu, op: number): void {
  const r = c.regs;
  const d = (c.fb() << 24) >> 24;
  let taken: boolean;
  if (op === 0xe3) taken = (c.a16 ? c.r16[2] : r[1]) === 0;
  else {
    let cnt: number;
    if (c.a16) cnt = c.r16[2] = c.r16[2] - 1;
    else cnt = r[1] = r[1] - 1;
    taken = cnt !== 0;
    if (op === 0xe0) taken = taken && !testCC(c, 4);
    else if (op === 0xe1) taken = taken && testCC(c, 4);
  }
  if (taken) jumpTo(c, c.eip + c.ilen + d);
  else advance(c);
}
