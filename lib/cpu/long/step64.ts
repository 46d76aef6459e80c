/**
 * The 64-bit interpreter: executes one instruction in 64-bit mode (EFER.LMA and CS.L).
 * This first slice covers mov (r/m, imm, imm64, movsxd, movzx/movsx), the ALU group
 * (add or adc sbb and sub xor cmp, test, inc dec not neg) at 8/16/32/64 bits with 32-bit
 * results zero-extended, lea (SIB, RIP-relative), push/pop (64-bit), xchg, jmp/jcc/call/
 * ret near, leave, setcc/cmovcc, cbw..cqo, shifts/rotates (shift64.ts), mul/imul/div/idiv
 * (muldiv64.ts), nop and hlt. Everything else raises #UD through the platform.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { testCC } from "../flags.ts";
import { F_ARITH, F_CF, F_OF, LF_NONE, materialize } from "../flags.ts";
import { VEC_DE, VEC_GP, VEC_UD } from "../platform.ts";
import { div128, mul128, P, REM } from "./muldiv64.ts";
import { alu, ALU_DEC, ALU_INC, R } from "./alu64.ts";
import { ALU_AND, ALU_CMP, ALU_SUB } from "../ops/alu.ts";
import {
  D,
  dropStack,
  fetch8,
  fetchImm,
  getLo,
  jumpRel,
  modrm,
  opSize,
  peek64,
  prefixes,
  push64,
  readReg,
  readRm,
  resetFetch,
  setRip,
  writeReg,
  writeRm,
} from "./decode64.ts";
import { read64, V } from "./mem64.ts";
import { shift } from "./shift64.ts";
import { system1, system2 } from "./system64.ts";
import { fpu1, fpu2 } from "./fpu64.ts";

function ud(c: CpuCore): never {
  return c.raise(VEC_UD, -1);
}

/** Immediate bytes for an operand size (imm32 for 64-bit operands). */
function immLen(size: number): number {
  return size === 8 ? 1 : size === 16 ? 2 : 4;
}

/** The 00-3F ALU forms: op 0..7, form 0..5. */
function aluForm(c: CpuCore, op: number, form: number): void {
  const size = (form & 1) === 0 ? 8 : opSize();
  if (form >= 4) {
    readReg(c, 0, size);
    const aLo = V[0], aHi = V[1];
    const imm = fetchImm(c, immLen(size));
    alu(c, op, size, aLo, aHi, imm, imm >> 31);
    if (op !== ALU_CMP) writeReg(c, 0, size, R[0], R[1]);
    return;
  }
  modrm(c, 0);
  readRm(c, size);
  const mLo = V[0], mHi = V[1];
  readReg(c, D.reg, size);
  const rLo = V[0], rHi = V[1];
  if (form < 2) {
    alu(c, op, size, mLo, mHi, rLo, rHi);
    if (op !== ALU_CMP) writeRm(c, size, R[0], R[1]);
  } else {
    alu(c, op, size, rLo, rHi, mLo, mHi);
    if (op !== ALU_CMP) writeReg(c, D.reg, size, R[0], R[1]);
  }
}

/** Group 1 (80 81 83): op r/m, imm. */
function group1(c: CpuCore, b: number): void {
  const size = b === 0x80 ? 8 : opSize();
  const n = b === 0x81 ? immLen(size) : 1;
  modrm(c, n);
  const imm = fetchImm(c, n);
  readRm(c, size);
  const op = D.reg & 7;
  alu(c, op, size, V[0], V[1], imm, imm >> 31);
  if (op !== ALU_CMP) writeRm(c, size, R[0], R[1]);
}

/** Group 3 (F6 F7): test imm, not, neg, mul, imul, div, idiv. */
function group3(c: CpuCore, b: number): void {
  const size = b === 0xf6 ? 8 : opSize();
  const sub = peekReg(c);
  const n = sub === 0 ? immLen(size) : 0;
  modrm(c, n);
  if (sub === 0) {
    const imm = fetchImm(c, n);
    readRm(c, size);
    alu(c, ALU_AND, size, V[0], V[1], imm, imm >> 31);
    return;
  }
  readRm(c, size);
  if (sub === 2) writeRm(c, size, ~V[0], ~V[1]);
  else if (sub === 3) {
    const lo = V[0], hi = V[1];
    alu(c, ALU_SUB, size, 0, 0, lo, hi);
    writeRm(c, size, R[0], R[1]);
  } else mulDiv(c, sub, size, V[0], V[1]);
}

/** Sign- or zero-extends (lo, hi) at size to 64 bits into V. */
function extend(size: number, lo: number, hi: number, signed: boolean): void {
  if (size === 64) {
    V[0] = lo;
    V[1] = hi;
  } else {
    const sh = 32 - size;
    V[0] = signed ? (lo << sh) >> sh : size === 32 ? lo : (lo << sh) >>> sh;
    V[1] = signed ? V[0] >> 31 : 0;
  }
}

/** Whether the product in P overflows `size` bits (CF = OF of mul and imul). */
function productOverflows(size: number, signed: boolean): boolean {
  if (size === 64) {
    const ext = signed ? P[1] >> 31 : 0;
    return P[2] !== ext || P[3] !== ext;
  }
  if (size === 32) return P[1] !== (signed ? P[0] >> 31 : 0);
  const sh = 32 - size;
  return P[0] !== (signed ? (P[0] << sh) >> sh : (P[0] << sh) >>> sh);
}

/** Sets CF and OF to `v`, the other arithmetic flags (undefined here) cleared. */
function setCarryOverflow(c: CpuCore, v: boolean): void {
  let fl = c.lfOp !== LF_NONE ? materialize(c) : c.flags;
  c.lfOp = LF_NONE;
  fl &= ~F_ARITH;
  if (v) fl |= F_CF | F_OF;
  c.flags = fl;
}

/** F6/F7 /4../7: mul, imul, div, idiv of rDX:rAX (AX for 8 bits) by (lo, hi). */
function mulDiv(c: CpuCore, sub: number, size: number, lo: number, hi: number): void {
  const signed = (sub & 1) === 1;
  extend(size, lo, hi, signed);
  const bLo = V[0], bHi = V[1];
  if (sub < 6) {
    readReg(c, 0, size);
    extend(size, V[0], V[1], signed);
    mul128(V[0], V[1], bLo, bHi, signed);
    setCarryOverflow(c, productOverflows(size, signed));
    if (size === 8) return writeReg(c, 0, 16, P[0], 0);
    if (size === 16) {
      writeReg(c, 0, 16, P[0], 0);
      return writeReg(c, 2, 16, P[0] >>> 16, 0);
    }
    if (size === 32) {
      writeReg(c, 0, 32, P[0], 0);
      return writeReg(c, 2, 32, P[1], 0);
    }
    writeReg(c, 0, 64, P[0], P[1]);
    return writeReg(c, 2, 64, P[2], P[3]);
  }
  // The dividend as 128 bits: AX, DX:AX, EDX:EAX or RDX:RAX.
  let n0: number, n1: number, n2: number, n3: number;
  readReg(c, 0, size === 8 ? 16 : size);
  const aLo = V[0], aHi = V[1];
  if (size === 64) {
    readReg(c, 2, 64);
    n0 = aLo;
    n1 = aHi;
    n2 = V[0];
    n3 = V[1];
  } else {
    let lo32 = aLo, hi32 = 0;
    if (size === 8) lo32 = signed ? (aLo << 16) >> 16 : aLo;
    else {
      readReg(c, 2, size);
      if (size === 16) lo32 = (V[0] << 16) | aLo;
      else hi32 = V[0];
    }
    if (size !== 32) hi32 = signed ? lo32 >> 31 : 0;
    n0 = lo32;
    n1 = hi32;
    n2 = n3 = signed ? hi32 >> 31 : 0;
  }
  if (!div128(n0, n1, n2, n3, bLo, bHi, size, signed)) c.raise(VEC_DE, -1);
  if (size === 8) return writeReg(c, 0, 16, (P[0] & 0xff) | ((REM[0] & 0xff) << 8), 0);
  writeReg(c, 0, size, P[0], P[1]);
  writeReg(c, 2, size, REM[0], REM[1]);
}

/** imul r, r/m (0F AF) and imul r, r/m, imm (69, 6B). */
function imulReg(c: CpuCore, immBytes: number): void {
  const size = opSize();
  modrm(c, immBytes);
  const imm = immBytes > 0 ? fetchImm(c, immBytes) : 0;
  readRm(c, size);
  extend(size, V[0], V[1], true);
  const mLo = V[0], mHi = V[1];
  if (immBytes > 0) extend(size, imm, imm >> 31, true);
  else {
    readReg(c, D.reg, size);
    extend(size, V[0], V[1], true);
  }
  mul128(mLo, mHi, V[0], V[1], true);
  setCarryOverflow(c, productOverflows(size, true));
  writeReg(c, D.reg, size, P[0], P[1]);
}

/** Group 2 (C0 C1 D0-D3): shifts and rotates by imm8, 1 or CL. */
function group2(c: CpuCore, b: number): void {
  const size = (b & 1) === 0 ? 8 : opSize();
  const imm = b < 0xd0;
  modrm(c, imm ? 1 : 0);
  const count = imm ? fetch8(c) : b < 0xd2 ? 1 : getLo(c, 1) & 0xff;
  readRm(c, size);
  const lo = V[0];
  if (shift(c, D.reg & 7, size, lo, V[1], count)) writeRm(c, size, R[0], R[1]);
  else if (size === 32 && !D.isMem) writeReg(c, D.rm, 32, lo, 0); // count 0 still zero-extends
}

/** The reg field of the ModRM byte at RIP without consuming it. */
function peekReg(c: CpuCore): number {
  const lo = c.eip, hi = c.lm.ripHi, len = D.len;
  const m = fetch8(c);
  c.eip = lo;
  c.lm.ripHi = hi;
  D.len = len;
  return (m >> 3) & 7;
}

/** Group 4/5 (FE FF): inc dec, and for FF call/jmp/push r/m (64-bit). */
function group5(c: CpuCore, b: number): void {
  modrm(c, 0);
  const sub = D.reg & 7;
  if (sub < 2) {
    const size = b === 0xfe ? 8 : opSize();
    readRm(c, size);
    alu(c, sub === 0 ? ALU_INC : ALU_DEC, size, V[0], V[1], 0, 0);
    writeRm(c, size, R[0], R[1]);
    return;
  }
  if (b === 0xfe) ud(c);
  if (sub === 2 || sub === 4 || sub === 6) {
    readRm(c, 64);
    const lo = V[0], hi = V[1];
    if (sub === 6) return push64(c, lo, hi);
    if (sub === 2) {
      const rl = c.eip, rh = c.lm.ripHi;
      setRip(c, lo, hi);
      push64(c, rl, rh);
      return;
    }
    return setRip(c, lo, hi);
  }
  ud(c);
}

function twoByte(c: CpuCore): void {
  const b = fetch8(c);
  if (b >= 0x80 && b <= 0x8f) {
    const d = fetchImm(c, 4);
    if (testCC(c, b & 15)) jumpRel(c, d);
    return;
  }
  if ((b & 0xf0) === 0x40) { // cmovcc (a 32-bit cmov zero-extends even when not taken)
    const size = opSize();
    modrm(c, 0);
    readRm(c, size);
    if (testCC(c, b & 15)) return writeReg(c, D.reg, size, V[0], V[1]);
    readReg(c, D.reg, size);
    return writeReg(c, D.reg, size, V[0], V[1]);
  }
  if ((b & 0xf0) === 0x90) { // setcc r/m8
    modrm(c, 0);
    return writeRm(c, 8, testCC(c, b & 15) ? 1 : 0, 0);
  }
  switch (b) {
    case 0x1f: // nop r/m
      modrm(c, 0);
      return;
    case 0xaf:
      return imulReg(c, 0);
    case 0xb6:
    case 0xb7:
    case 0xbe:
    case 0xbf: {
      const src = (b & 1) === 0 ? 8 : 16, size = opSize();
      modrm(c, 0);
      readRm(c, src);
      let lo = V[0];
      if (b >= 0xbe) lo = src === 8 ? (lo << 24) >> 24 : (lo << 16) >> 16;
      writeReg(c, D.reg, size, lo, lo >> 31);
      return;
    }
  }
  if (system2(c, b) || fpu2(c, b)) return;
  ud(c);
}

/** Executes one instruction at RIP in 64-bit mode (faults throw FAULT via `c.raise`). */
export function step64(c: CpuCore): void {
  resetFetch();
  const b = prefixes(c);
  if (b < 0x40) {
    if (b === 0x0f) return twoByte(c);
    if ((b & 7) < 6) return aluForm(c, b >> 3, b & 7);
    return ud(c); // segment pushes/pops, BCD: invalid in 64-bit mode
  }
  if (b >= 0x50 && b < 0x60) {
    if (D.o16) ud(c); // 16-bit push/pop: not in this slice
    const r = (b & 7) | ((D.rex & 1) << 3);
    if (b < 0x58) {
      readReg(c, r, 64);
      return push64(c, V[0], V[1]);
    }
    peek64(c);
    const lo = V[0], hi = V[1];
    dropStack(c, 8);
    return writeReg(c, r, 64, lo, hi);
  }
  if (b >= 0x70 && b < 0x80) {
    const d = fetchImm(c, 1);
    if (testCC(c, b & 15)) jumpRel(c, d);
    return;
  }
  if (b >= 0x90 && b < 0x98) {
    const r = (b & 7) | ((D.rex & 1) << 3);
    if (r === 0) return; // nop (and pause)
    const size = opSize();
    readReg(c, r, size);
    const lo = V[0], hi = V[1];
    readReg(c, 0, size);
    writeReg(c, r, size, V[0], V[1]);
    return writeReg(c, 0, size, lo, hi);
  }
  if (b >= 0xb0 && b < 0xc0) {
    const r = (b & 7) | ((D.rex & 1) << 3);
    if (b < 0xb8) return writeReg(c, r, 8, fetch8(c), 0);
    const size = opSize();
    if (size === 64) {
      const lo = fetchImm(c, 4);
      return writeReg(c, r, 64, lo, fetchImm(c, 4));
    }
    return writeReg(c, r, size, fetchImm(c, size === 16 ? 2 : 4), 0);
  }
  switch (b) {
    case 0x63: { // movsxd
      modrm(c, 0);
      readRm(c, 32);
      const size = opSize();
      return writeReg(c, D.reg, size, V[0], size === 64 ? V[0] >> 31 : 0);
    }
    case 0x69:
      return imulReg(c, immLen(opSize()));
    case 0x6b:
      return imulReg(c, 1);
    case 0x68:
    case 0x6a: {
      if (D.o16) ud(c);
      const imm = fetchImm(c, b === 0x68 ? 4 : 1);
      return push64(c, imm, imm >> 31);
    }
    case 0x80:
    case 0x81:
    case 0x83:
      return group1(c, b);
    case 0x84:
    case 0x85: {
      const size = b === 0x84 ? 8 : opSize();
      modrm(c, 0);
      readRm(c, size);
      const lo = V[0], hi = V[1];
      readReg(c, D.reg, size);
      return alu(c, ALU_AND, size, lo, hi, V[0], V[1]);
    }
    case 0x86:
    case 0x87: {
      const size = b === 0x86 ? 8 : opSize();
      modrm(c, 0);
      readRm(c, size);
      const lo = V[0], hi = V[1];
      readReg(c, D.reg, size);
      writeRm(c, size, V[0], V[1]);
      return writeReg(c, D.reg, size, lo, hi);
    }
    case 0x88:
    case 0x89: {
      const size = b === 0x88 ? 8 : opSize();
      modrm(c, 0);
      readReg(c, D.reg, size);
      return writeRm(c, size, V[0], V[1]);
    }
    case 0x8a:
    case 0x8b: {
      const size = b === 0x8a ? 8 : opSize();
      modrm(c, 0);
      readRm(c, size);
      return writeReg(c, D.reg, size, V[0], V[1]);
    }
    case 0x8d: {
      modrm(c, 0);
      if (!D.isMem) ud(c);
      return writeReg(c, D.reg, opSize(), D.eaLo, D.eaHi);
    }
    case 0x98: { // cbw / cwde / cdqe
      const size = opSize();
      const lo = c.regs[0];
      if (size === 16) return writeReg(c, 0, 16, (lo << 24) >> 24, 0);
      if (size === 32) return writeReg(c, 0, 32, (lo << 16) >> 16, 0);
      return writeReg(c, 0, 64, lo, lo >> 31);
    }
    case 0x99: { // cwd / cdq / cqo
      const size = opSize();
      const sign = size === 64
        ? c.lm.hi[0] >> 31
        : size === 32
        ? c.regs[0] >> 31
        : (c.regs[0] << 16) >> 31;
      return writeReg(c, 2, size, sign, sign);
    }
    case 0xc9: { // leave: rsp = rbp, pop rbp
      if (D.o16) ud(c);
      read64(c, getLo(c, 5), c.lm.hi[5], 8);
      const lo = V[0], hi = V[1];
      writeReg(c, 4, 64, getLo(c, 5), c.lm.hi[5]);
      dropStack(c, 8);
      return writeReg(c, 5, 64, lo, hi);
    }
    case 0xa8:
    case 0xa9: {
      const size = b === 0xa8 ? 8 : opSize();
      readReg(c, 0, size);
      const lo = V[0], hi = V[1];
      const imm = fetchImm(c, immLen(size));
      return alu(c, ALU_AND, size, lo, hi, imm, imm >> 31);
    }
    case 0xc2:
    case 0xc3: {
      const n = b === 0xc2 ? fetchImm(c, 2) & 0xffff : 0;
      peek64(c);
      setRip(c, V[0], V[1]);
      return dropStack(c, 8 + n);
    }
    case 0xc6:
    case 0xc7: {
      const size = b === 0xc6 ? 8 : opSize();
      const n = immLen(size);
      if (peekReg(c) !== 0) ud(c);
      modrm(c, n);
      const imm = fetchImm(c, n);
      return writeRm(c, size, imm, imm >> 31);
    }
    case 0xe8: {
      const d = fetchImm(c, 4);
      const rl = c.eip, rh = c.lm.ripHi;
      jumpRel(c, d);
      return push64(c, rl, rh);
    }
    case 0xe9:
      return jumpRel(c, fetchImm(c, 4));
    case 0xeb:
      return jumpRel(c, fetchImm(c, 1));
    case 0xf4:
      if (c.cpl !== 0) c.raise(VEC_GP, 0);
      c.halted = true;
      c.stopRequested = true;
      return;
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return group2(c, b);
    case 0xf6:
    case 0xf7:
      return group3(c, b);
    case 0xfe:
    case 0xff:
      return group5(c, b);
  }
  if (system1(c, b) || fpu1(c, b)) return;
  ud(c);
}
