/**
 * The ModRM-extended opcode groups of the one-byte map (ModRM.reg validity is checked
 * from the opcode table before a handler runs): group 1 (80-83), group 2
 * (C0 C1 D0-D3), group 3 (F6 F7), groups 4/5 (FE FF), and the x87 escape (D8-DF).
 * @module
 */

import type { CpuCore as Cpu } from "../core.ts";
import { advance, callAbs } from "../ops/near.ts";
import { alu, ALU_CMP, dec, inc, neg, test } from "../ops/alu.ts";
import { callFar, jmpFar } from "../ops/far.ts";
import { div, idiv, mul1 } from "../ops/muldiv.ts";
import { shift } from "../ops/shift.ts";
import {
  decodeEA,
  eaRead,
  getR,
  jumpTo,
  push,
  readRM,
  rmwRead,
  rmwReadMem,
  rmwWrite,
} from "../operands.ts";
import { VEC_NM, VEC_UD } from "../platform.ts";
import { fpuDispatch } from "../fpu_dispatch.ts";

/** Group 1: alu Eb/Ev, imm (80, 81, 82, 83). */
export function group1(c: Cpu, op: number): void {
  const vs = c.o16 ? 2 : 4;
  const sz = op === 0x81 || op === 0x83 ? vs : 1;
  const modrm = c.fb();
  const a = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    const imm = op === 0x81 ? (vs === 4 ? c.fd() : c.fw()) : (c.fb() << 24) >> 24;
    const rm = modrm & 7;
    const res = alu(c, a, getR(c, rm, sz), imm, sz);
    if (a !== ALU_CMP) {
      if (sz === 4) c.regs[rm] = res;
      else if (sz === 2) c.r16[rm << 1] = res;
      else c.r8[rm < 4 ? rm << 2 : ((rm - 4) << 2) + 1] = res;
    }
    return;
  }
  decodeEA(c, modrm);
  const imm = op === 0x81 ? (vs === 4 ? c.fd() : c.fw()) : (c.fb() << 24) >> 24;
  if (a === ALU_CMP) {
    alu(c, a, c.readN(eaRead(c, sz), sz), imm, sz);
    return;
  }
  const v = rmwReadMem(c, sz);
  rmwWrite(c, modrm, sz, alu(c, a, v, imm, sz));
}

/** Group 2: shifts/rotates by 1, CL or imm8. */
export function group2(c: Cpu, op: number): void {
  const vs = c.o16 ? 2 : 4;
  const sz = (op & 1) === 0 ? 1 : vs;
  const modrm = c.fb();
  const o = (modrm >> 3) & 7;
  if (modrm < 0xc0) decodeEA(c, modrm);
  const cnt = op <= 0xc1 ? c.fb() : op <= 0xd1 ? 1 : c.r8[4];
  const v = modrm >= 0xc0 ? getR(c, modrm & 7, sz) : rmwReadMem(c, sz);
  if ((cnt & 31) === 0) return;
  rmwWrite(c, modrm, sz, shift(c, o, v, cnt, sz));
}

/** Group 3: test/not/neg/mul/imul/div/idiv (F6, F7). */
export function group3(c: Cpu, op: number): void {
  const vs = c.o16 ? 2 : 4;
  const sz = op === 0xf6 ? 1 : vs;
  const modrm = c.fb();
  const o = (modrm >> 3) & 7;
  switch (o) {
    case 0:
    case 1: {
      if (modrm < 0xc0) decodeEA(c, modrm);
      const imm = sz === 4 ? c.fd() : sz === 2 ? c.fw() : c.fb();
      const v = modrm >= 0xc0 ? getR(c, modrm & 7, sz) : c.readN(eaRead(c, sz), sz);
      test(c, v, imm, sz);
      return;
    }
    case 2: {
      const v = rmwRead(c, modrm, sz);
      rmwWrite(c, modrm, sz, ~v);
      return;
    }
    case 3: {
      const v = rmwRead(c, modrm, sz);
      rmwWrite(c, modrm, sz, neg(c, v, sz));
      return;
    }
    case 4:
      mul1(c, readRM(c, modrm, sz), sz, false);
      return;
    case 5:
      mul1(c, readRM(c, modrm, sz), sz, true);
      return;
    case 6:
      div(c, readRM(c, modrm, sz), sz);
      return;
    default:
      idiv(c, readRM(c, modrm, sz), sz);
  }
}

/** Groups 4 and 5 (FE, FF): inc/dec, near/far call and jmp, push; sets EIP. */
export function group45(c: Cpu, op: number): void {
  if (g45(c, op, c.o16 ? 2 : 4)) return;
  advance(c);
}

/** @returns true when EIP was set (a transfer happened) */
function g45(c: Cpu, op: number, vs: number): boolean {
  const modrm = c.fb();
  const o = (modrm >> 3) & 7;
  const sz = op === 0xfe ? 1 : vs;
  switch (o) {
    case 0: {
      const v = rmwRead(c, modrm, sz);
      rmwWrite(c, modrm, sz, inc(c, v, sz));
      return false;
    }
    case 1: {
      const v = rmwRead(c, modrm, sz);
      rmwWrite(c, modrm, sz, dec(c, v, sz));
      return false;
    }
    case 2:
      callAbs(c, readRM(c, modrm, vs), vs);
      return true;
    case 4:
      jumpTo(c, readRM(c, modrm, vs));
      return true;
    case 3:
    case 5: {
      decodeEA(c, modrm);
      const lin = eaRead(c, vs + 2);
      const off = c.readN(lin, vs);
      const sel = c.read16((lin + vs) | 0);
      if (o === 3) {
        c.eip = (c.eip + c.ilen) >>> 0;
        callFar(c, sel, off, vs);
      } else jmpFar(c, sel, off);
      return true;
    }
    case 6:
      push(c, readRM(c, modrm, vs), vs);
      return false;
    default:
      c.raise(VEC_UD, -1);
  }
}

/** x87 escape D8..DF: #NM when CR0.EM or CR0.TS, then the FPU unit. */
export function x87(c: Cpu, op: number): void {
  const modrm = c.fb();
  if ((c.cr0 & 0xc) !== 0) c.raise(VEC_NM, -1);
  let lin = -1;
  if (modrm < 0xc0) {
    decodeEA(c, modrm);
    lin = c.segAddr(c.eaSeg, c.eaOff, 1, false);
  }
  fpuDispatch.x87(c, op, modrm, lin);
}
