/**
 * Handlers of the one-byte map not in an instruction-group file (ops/near.ts,
 * ops/stack.ts, ops/io.ts, exec/groups.ts): ALU forms, moves, exchange, lea, segment
 * moves, conversions, flag instructions, BCD, string and far-transfer entry points,
 * software interrupts and hlt. A handler decodes its operands; the interpreter advances
 * EIP after it unless the row says the handler sets EIP (T_SETS_IP).
 * @module
 */

import type { CpuCore as Cpu } from "../core.ts";
import { F_DF, F_IF, F_IOPL, getCF, getOF, materialize } from "../flags.ts";
import { alu, ALU_CMP, dec, inc, test } from "../ops/alu.ts";
import { aad, aam, asciiAdjust, decimalAdjust } from "../ops/bit.ts";
import { callFar, iret as iretOp, jmpFar, retFar as retFarOp } from "../ops/far.ts";
import { imul2 } from "../ops/muldiv.ts";
import { stringOp } from "../ops/string.ts";
import { advance } from "../ops/near.ts";
import { decodeEA, eaRead, getR, readRM, rmwRead, rmwWrite, setR, writeRM } from "../operands.ts";
import { EXC_INT3, EXC_INTO, EXC_SOFTINT, EXC_TRAP, VEC_UD } from "../platform.ts";
import { loadSegmentOrFault } from "../segmentation.ts";
import { fpuDispatch } from "../fpu_dispatch.ts";

const DS = 3;

function vsOf(c: Cpu): number {
  return c.o16 ? 2 : 4;
}

/** Fetches an immediate of `sz` bytes (1, 2, 4). */
export function immOf(c: Cpu, sz: number): number {
  return sz === 4 ? c.fd() : sz === 2 ? c.fw() : c.fb();
}

/** #UD (rows that decode but do not execute here). */
export function ud(c: Cpu): void {
  c.raise(VEC_UD, -1);
}

/** ALU Eb,Gb / Ev,Gv (00 01 08 09 ... 38 39). */
export function aluEG(c: Cpu, op: number): void {
  const sz = (op & 1) === 0 ? 1 : vsOf(c);
  const a = (op >> 3) & 7;
  const modrm = c.fb();
  const g = getR(c, (modrm >> 3) & 7, sz);
  if (a === ALU_CMP) alu(c, a, readRM(c, modrm, sz), g, sz);
  else {
    const v = rmwRead(c, modrm, sz);
    rmwWrite(c, modrm, sz, alu(c, a, v, g, sz));
  }
}

/** ALU Gb,Eb / Gv,Ev (02 03 ... 3A 3B). */
export function aluGE(c: Cpu, op: number): void {
  const sz = (op & 1) === 0 ? 1 : vsOf(c);
  const a = (op >> 3) & 7;
  const modrm = c.fb();
  const reg = (modrm >> 3) & 7;
  const res = alu(c, a, getR(c, reg, sz), readRM(c, modrm, sz), sz);
  if (a !== ALU_CMP) setR(c, reg, sz, res);
}

/** ALU AL,Ib / eAX,Iz (04 05 ... 3C 3D). */
export function aluAI(c: Cpu, op: number): void {
  const a = (op >> 3) & 7;
  if ((op & 1) === 0) {
    const res = alu(c, a, c.r8[0], c.fb(), 1);
    if (a !== ALU_CMP) c.r8[0] = res;
    return;
  }
  const vs = vsOf(c);
  const imm = vs === 4 ? c.fd() : c.fw();
  const res = alu(c, a, getR(c, 0, vs), imm, vs);
  if (a !== ALU_CMP) setR(c, 0, vs, res);
}

/** daa das aaa aas (27 2F 37 3F). */
export function bcd(c: Cpu, op: number): void {
  if (op === 0x27 || op === 0x2f) decimalAdjust(c, op === 0x2f);
  else asciiAdjust(c, op === 0x3f);
}

/** inc r (40-47, legacy modes). */
export function incR(c: Cpu, op: number): void {
  const vs = vsOf(c);
  setR(c, op & 7, vs, inc(c, getR(c, op & 7, vs), vs));
}

/** dec r (48-4F, legacy modes). */
export function decR(c: Cpu, op: number): void {
  const vs = vsOf(c);
  setR(c, op & 7, vs, dec(c, getR(c, op & 7, vs), vs));
}

/** bound Gv, Ma (62). */
export function bound(c: Cpu): void {
  const vs = vsOf(c);
  const modrm = c.fb();
  decodeEA(c, modrm);
  const lin = eaRead(c, 2 * vs);
  const lo = c.readN(lin, vs), hi = c.readN((lin + vs) | 0, vs);
  const idx = getR(c, (modrm >> 3) & 7, vs);
  const sh = 32 - vs * 8;
  if ((idx << sh) < (lo << sh) || (idx << sh) > (hi << sh)) c.raise(5, -1);
}

/** arpl Ew, Gw (63, legacy modes). */
export function arpl(c: Cpu): void {
  const modrm = c.fb();
  const v = rmwRead(c, modrm, 2);
  const s = getR(c, (modrm >> 3) & 7, 2);
  const f = materialize(c);
  if ((v & 3) < (s & 3)) {
    rmwWrite(c, modrm, 2, (v & ~3) | (s & 3));
    c.flags = f | 0x40;
  } else c.flags = f & ~0x40;
}

/** movsxd Gv, Ed (63, 64-bit mode): not reachable until 64-bit mode executes. */
export function movsxd(c: Cpu): void {
  c.raise(VEC_UD, -1);
}

/** imul Gv, Ev, Iz/Ib (69, 6B). */
export function imulI(c: Cpu, op: number): void {
  const vs = vsOf(c);
  const modrm = c.fb();
  const v = readRM(c, modrm, vs);
  const imm = op === 0x69 ? (vs === 4 ? c.fd() : c.fw()) : (c.fb() << 24) >> 24;
  setR(c, (modrm >> 3) & 7, vs, imul2(c, v, imm, vs));
}

/** test Eb,Gb / Ev,Gv (84, 85). */
export function testEG(c: Cpu, op: number): void {
  const sz = op === 0x84 ? 1 : vsOf(c);
  const modrm = c.fb();
  test(c, readRM(c, modrm, sz), getR(c, (modrm >> 3) & 7, sz), sz);
}

/** xchg Eb,Gb / Ev,Gv (86, 87). */
export function xchgEG(c: Cpu, op: number): void {
  const sz = op === 0x86 ? 1 : vsOf(c);
  const modrm = c.fb();
  const reg = (modrm >> 3) & 7;
  const v = rmwRead(c, modrm, sz);
  const g = getR(c, reg, sz);
  rmwWrite(c, modrm, sz, g);
  setR(c, reg, sz, v);
}

/** mov Eb,Gb / Ev,Gv (88, 89). */
export function movEG(c: Cpu, op: number): void {
  const sz = op === 0x88 ? 1 : vsOf(c);
  const modrm = c.fb();
  writeRM(c, modrm, sz, getR(c, (modrm >> 3) & 7, sz));
}

/** mov Gb,Eb / Gv,Ev (8A, 8B). */
export function movGE(c: Cpu, op: number): void {
  const sz = op === 0x8a ? 1 : vsOf(c);
  const modrm = c.fb();
  setR(c, (modrm >> 3) & 7, sz, readRM(c, modrm, sz));
}

/** mov Ev, Sw (8C). */
export function movEvSw(c: Cpu): void {
  const modrm = c.fb();
  const s = (modrm >> 3) & 7;
  if (modrm >= 0xc0) setR(c, modrm & 7, vsOf(c), c.segSel[s]);
  else writeRM(c, modrm, 2, c.segSel[s]);
}

/** lea Gv, M (8D). */
export function lea(c: Cpu): void {
  const modrm = c.fb();
  decodeEA(c, modrm);
  setR(c, (modrm >> 3) & 7, vsOf(c), c.eaOff);
}

/** mov Sw, Ew (8E). */
export function movSwEw(c: Cpu): void {
  const modrm = c.fb();
  loadSegmentOrFault(c, (modrm >> 3) & 7, readRM(c, modrm, 2));
}

/** nop (90) and the hint NOPs. */
export function nop(): void {}

/** xchg r, eAX (91-97). */
export function xchgR(c: Cpu, op: number): void {
  const vs = vsOf(c);
  const v = getR(c, op & 7, vs);
  setR(c, op & 7, vs, getR(c, 0, vs));
  setR(c, 0, vs, v);
}

/** cbw / cwde (98). */
export function cbw(c: Cpu): void {
  if (!c.o16) c.regs[0] = (c.regs[0] << 16) >> 16;
  else c.r16[0] = (c.r8[0] << 24) >> 24;
}

/** cwd / cdq (99). */
export function cwd(c: Cpu): void {
  if (!c.o16) c.regs[2] = c.regs[0] >> 31;
  else c.r16[4] = (c.regs[0] << 16) >> 31;
}

/** call far ptr16:16/32 (9A). */
export function callFarAp(c: Cpu): void {
  const vs = vsOf(c);
  const off = vs === 4 ? c.fd() : c.fw();
  const sel = c.fw();
  advance(c);
  callFar(c, sel, off, vs);
}

/** jmp far ptr16:16/32 (EA). */
export function jmpFarAp(c: Cpu): void {
  const off = c.o16 ? c.fw() : c.fd();
  const sel = c.fw();
  jmpFar(c, sel, off);
}

/** fwait (9B). */
export function fwait(c: Cpu): void {
  if ((c.cr0 & 0xa) === 0xa) c.raise(7, -1);
  fpuDispatch.fwait(c);
}

/** sahf (9E). */
export function sahf(c: Cpu): void {
  const f = materialize(c);
  c.flags = (f & ~0xd5) | (c.r8[1] & 0xd5);
}

/** lahf (9F). */
export function lahf(c: Cpu): void {
  c.r8[1] = (materialize(c) & 0xd5) | 2;
}

/** mov AL/eAX <-> moffs (A0-A3). */
export function movMoffs(c: Cpu, op: number): void {
  const sz = (op & 1) === 0 ? 1 : vsOf(c);
  const off = c.a16 ? c.fw() : c.fd();
  const seg = c.segOv >= 0 ? c.segOv : DS;
  if (op < 0xa2) setR(c, 0, sz, c.readN(c.segAddr(seg, off, sz, false), sz));
  else c.writeN(c.segAddr(seg, off, sz, true), sz, getR(c, 0, sz));
}

/** movs cmps stos lods scas (A4-AF); sets EIP (a rep may stay on the instruction). */
export function string(c: Cpu, op: number): void {
  const sz = (op & 1) === 0 ? 1 : vsOf(c);
  const kind = op < 0xa6 ? 0 : op < 0xa8 ? 1 : op < 0xac ? 2 : op < 0xae ? 3 : 4;
  if (stringOp(c, kind, sz)) advance(c);
}

/** test AL,Ib / eAX,Iz (A8, A9). */
export function testAI(c: Cpu, op: number): void {
  if (op === 0xa8) test(c, c.r8[0], c.fb(), 1);
  else {
    const vs = vsOf(c);
    test(c, c.regs[0], vs === 4 ? c.fd() : c.fw(), vs);
  }
}

/** mov r8, imm8 (B0-B7). */
export function movRIb(c: Cpu, op: number): void {
  setR(c, op & 7, 1, c.fb());
}

/** mov r, imm (B8-BF). */
export function movRIv(c: Cpu, op: number): void {
  const vs = vsOf(c);
  setR(c, op & 7, vs, vs === 4 ? c.fd() : c.fw());
}

/** les / lds (C4, C5, legacy modes). */
export function loadFarPtr(c: Cpu, op: number): void {
  loadFarPointer(c, c.fb(), op === 0xc4 ? 0 : DS, vsOf(c));
}

/** les/lds/lss/lfs/lgs: loads offset into reg and selector into segment `s`. */
export function loadFarPointer(c: Cpu, modrm: number, s: number, sz: number): void {
  decodeEA(c, modrm);
  const lin = eaRead(c, sz + 2);
  const off = c.readN(lin, sz);
  const sel = c.read16((lin + sz) | 0);
  loadSegmentOrFault(c, s, sel);
  setR(c, (modrm >> 3) & 7, sz, off);
}

/** mov Eb,Ib / Ev,Iz (C6 /0, C7 /0). */
export function movEI(c: Cpu, op: number): void {
  const sz = op === 0xc6 ? 1 : vsOf(c);
  const modrm = c.fb();
  if (modrm >= 0xc0) setR(c, modrm & 7, sz, immOf(c, sz));
  else {
    decodeEA(c, modrm);
    const imm = immOf(c, sz);
    c.writeN(c.segAddr(c.eaSeg, c.eaOff, sz, true), sz, imm);
  }
}

/** retf / retf imm16 (CB, CA). */
export function retFar(c: Cpu, op: number): void {
  const imm = op === 0xca ? c.fw() : 0;
  retFarOp(c, vsOf(c), imm);
}

/** int3 (CC). */
export function int3(c: Cpu): void {
  advance(c);
  c.report(3, -1, EXC_INT3);
}

/** int imm8 (CD). */
export function intIb(c: Cpu): void {
  const n = c.fb();
  advance(c);
  c.report(n, -1, EXC_SOFTINT);
}

/** into (CE, legacy modes). */
export function into(c: Cpu): void {
  advance(c);
  if (getOF(c)) c.report(4, -1, EXC_INTO);
}

/** iret (CF). */
export function iret(c: Cpu): void {
  iretOp(c, vsOf(c));
}

/** aam imm8 (D4). */
export function aamH(c: Cpu): void {
  const imm = c.fb();
  if (imm === 0) c.raise(0, -1);
  aam(c, imm);
}

/** aad imm8 (D5). */
export function aadH(c: Cpu): void {
  aad(c, c.fb());
}

/** salc (D6, undocumented). */
export function salc(c: Cpu): void {
  c.r8[0] = getCF(c) ? 0xff : 0;
}

/** xlat (D7). */
export function xlat(c: Cpu): void {
  const off = c.a16 ? (c.r16[6] + c.r8[0]) & 0xffff : c.regs[3] + c.r8[0];
  c.r8[0] = c.read8(c.segAddr(c.segOv >= 0 ? c.segOv : DS, off, 1, false));
}

/** int1 / icebp (F1). */
export function int1(c: Cpu): void {
  advance(c);
  c.report(1, -1, EXC_TRAP);
}

/** hlt (F4). */
export function hlt(c: Cpu): void {
  if (c.cpl !== 0) c.gp(0);
  advance(c);
  c.halted = true;
  c.stop();
}

/** cmc clc stc (F5 F8 F9). */
export function cfOp(c: Cpu, op: number): void {
  const f = materialize(c);
  c.flags = op === 0xf5 ? f ^ 1 : op === 0xf8 ? f & ~1 : f | 1;
}

/** cli / sti (FA, FB). */
export function cliSti(c: Cpu, op: number): void {
  if (c.cpl > (c.flags & F_IOPL) >> 12) c.gp(0);
  if (op === 0xfa) c.flags &= ~F_IF;
  else c.flags |= F_IF;
}

/** cld / std (FC, FD). */
export function cldStd(c: Cpu, op: number): void {
  if (op === 0xfc) c.flags &= ~F_DF;
  else c.flags |= F_DF;
}
