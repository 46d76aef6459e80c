/**
 * The 64-bit interpreter: executes one instruction in 64-bit mode (EFER.LMA and CS.L).
 * Decodes here: mov (r/m, imm, imm64, moffs, movsxd, movzx/movsx), the ALU group at
 * 8/16/32/64 bits with 32-bit results zero-extended, lea, xchg, jmp/jcc/call/ret near,
 * loop/jrcxz, setcc/cmovcc, cbw..cqo, xlat, hint nops, hlt; and dispatches to
 * shift64.ts (group 2), muldivop64.ts (mul/div/imul), string64.ts (movs..scas with rep),
 * bit64.ts (bt*, bsf/bsr, popcnt, bswap, shld/shrd), atomic64.ts (xadd, cmpxchg,
 * cmpxchg8b/16b, the LOCK #UD rule), stack64.ts (push/pop forms, pushf/popf, enter/
 * leave), flags64.ts (lahf/sahf, clc..std). Opcodes not decoded here go to system64.ts
 * and fpu64.ts, then #UD; the opcodes invalid in 64-bit mode raise #UD directly.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { testCC } from "../flags.ts";
import { VEC_GP, VEC_UD } from "../platform.ts";
import { imulReg, mulDiv } from "./muldivop64.ts";
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
  pushN,
  readReg,
  readRm,
  resetFetch,
  setRip,
  writeReg,
  writeRm,
} from "./decode64.ts";
import { V } from "./mem64.ts";
import { shift } from "./shift64.ts";
import { string64 } from "./string64.ts";
import { bitScan, bswap, btImm, btReg, popcnt, shiftDoubleOp } from "./bit64.ts";
import { checkLock, cmpxchg, group9, xadd } from "./atomic64.ts";
import { enter, leave, popf, popRm, pushf, pushImm, pushPopReg } from "./stack64.ts";
import { flagOp } from "./flags64.ts";
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

/**
 * Group 4/5 (FE FF): inc dec, and for FF call/jmp near (64-bit) and push r/m (16-bit with
 * 0x66). Returns false for FF /3 /5 (far call/jmp: system64.ts) without consuming ModRM.
 */
function group5(c: CpuCore, b: number): boolean {
  if (b === 0xff) {
    const r = peekReg(c);
    if (r === 3 || r === 5) return false;
  }
  modrm(c, 0);
  const sub = D.reg & 7;
  if (sub < 2) {
    const size = b === 0xfe ? 8 : opSize();
    readRm(c, size);
    alu(c, sub === 0 ? ALU_INC : ALU_DEC, size, V[0], V[1], 0, 0);
    writeRm(c, size, R[0], R[1]);
    return true;
  }
  if (b === 0xfe || sub === 7) ud(c);
  if (sub === 6 && D.o16 && (D.rex & 8) === 0) {
    readRm(c, 16);
    pushN(c, V[0], 0, 2);
    return true;
  }
  readRm(c, 64);
  const lo = V[0], hi = V[1];
  if (sub === 6) push64(c, lo, hi);
  else if (sub === 2) {
    const rl = c.eip, rh = c.lm.ripHi;
    setRip(c, lo, hi);
    push64(c, rl, rh);
  } else setRip(c, lo, hi);
  return true;
}

/** A0-A3: mov al/rAX to or from a 64-bit absolute address (32-bit with 0x67). */
function moffs(c: CpuCore, b: number): void {
  const size = (b & 1) === 0 ? 8 : opSize();
  D.eaLo = fetchImm(c, 4);
  D.eaHi = D.a32 ? 0 : fetchImm(c, 4);
  D.isMem = true;
  D.ss = false;
  if (b < 0xa2) {
    readRm(c, size);
    return writeReg(c, 0, size, V[0], V[1]);
  }
  readReg(c, 0, size);
  writeRm(c, size, V[0], V[1]);
}

/** D7: xlat (AL = [rBX + AL]). */
function xlat(c: CpuCore): void {
  const s = (c.regs[3] >>> 0) + (c.regs[0] & 0xff);
  D.eaLo = s | 0;
  D.eaHi = D.a32 ? 0 : (c.lm.hi[3] + (s > 0xffffffff ? 1 : 0)) | 0;
  D.isMem = true;
  D.ss = false;
  readRm(c, 8);
  writeReg(c, 0, 8, V[0], 0);
}

/** E0-E3: loopne, loope, loop, jrcxz (RCX, or ECX with 0x67). */
function loop(c: CpuCore, b: number): void {
  const d = fetchImm(c, 1);
  let lo = c.regs[1], hi = D.a32 ? 0 : c.lm.hi[1];
  if (b === 0xe3) {
    if (lo === 0 && hi === 0) jumpRel(c, d);
    return;
  }
  if (lo === 0) hi = D.a32 ? 0 : (hi - 1) | 0;
  lo = (lo - 1) | 0;
  const zf = testCC(c, 4);
  const go = (lo !== 0 || hi !== 0) && (b === 0xe2 || (b === 0xe1) === zf);
  if (go) jumpRel(c, d);
  c.regs[1] = lo;
  c.lm.hi[1] = hi;
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
  switch (b) {
    case 0x0d: // prefetch/prefetchw: hints
    case 0x18:
    case 0x19:
    case 0x1a:
    case 0x1b:
    case 0x1c:
    case 0x1d:
    case 0x1e:
      modrm(c, 0);
      return;
    case 0xa3:
    case 0xab:
    case 0xb3:
    case 0xbb:
      return btReg(c, b);
    case 0xba:
      return btImm(c);
    case 0xbc:
    case 0xbd:
      return bitScan(c, b);
    case 0xb8:
      return popcnt(c);
    case 0xa4:
    case 0xa5:
    case 0xac:
    case 0xad:
      return shiftDoubleOp(c, b);
    case 0xb0:
    case 0xb1:
      return cmpxchg(c, b);
    case 0xc0:
    case 0xc1:
      return xadd(c, b);
    case 0xc7:
      if (group9(c)) return;
      break;
  }
  if (b >= 0xc8 && b < 0xd0) return bswap(c, b);
  if (system2(c, b) || fpu2(c, b)) return;
  ud(c);
}

/** Executes one instruction at RIP in 64-bit mode (faults throw FAULT via `c.raise`). */
export function step64(c: CpuCore): void {
  resetFetch(c);
  const b = prefixes(c);
  if (D.lock) checkLock(c, b);
  if (b < 0x40) {
    if (b === 0x0f) return twoByte(c);
    if ((b & 7) < 6) return aluForm(c, b >> 3, b & 7);
    return ud(c); // segment pushes/pops, BCD: invalid in 64-bit mode
  }
  if (b >= 0x50 && b < 0x60) return pushPopReg(c, b);
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
    case 0x6a:
      return pushImm(c, b);
    case 0x8f:
      return popRm(c);
    case 0x9c:
      return pushf(c);
    case 0x9d:
      return popf(c);
    case 0x9e:
    case 0x9f:
    case 0xf5:
    case 0xf8:
    case 0xf9:
    case 0xfc:
    case 0xfd:
      flagOp(c, b);
      return;
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3:
      return moffs(c, b);
    case 0xa4:
    case 0xa5:
    case 0xa6:
    case 0xa7:
    case 0xaa:
    case 0xab:
    case 0xac:
    case 0xad:
    case 0xae:
    case 0xaf:
      return string64(c, b);
    case 0xc8:
      return enter(c);
    case 0xd7:
      return xlat(c);
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3:
      return loop(c, b);
    case 0x60: // pusha popa bound, the far forms, les/lds (VEX), into, aam aad salc:
    case 0x61: // invalid in 64-bit mode
    case 0x62:
    case 0x82:
    case 0x9a:
    case 0xc4:
    case 0xc5:
    case 0xce:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xea:
      return ud(c);
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
    case 0xc9:
      return leave(c);
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
      if (group5(c, b)) return;
      break;
  }
  if (system1(c, b) || fpu1(c, b)) return;
  ud(c);
}
