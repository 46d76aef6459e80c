/**
 * Read-modify-write instructions in 64-bit mode and the LOCK prefix rule: xadd,
 * cmpxchg, cmpxchg8b and cmpxchg16b (0F C7 /1, REX.W; #GP(0) unless the m128 is 16-byte
 * aligned), and {@link checkLock}: LOCK is #UD except on the lockable forms with a memory
 * destination. One CPU runs at a time, so every form is atomic as executed; a compare that
 * fails still writes the old value back to memory (so a read-only page faults either way),
 * as the SDM describes. A failing register cmpxchg leaves the destination as it was (the
 * host CPU does not zero-extend it).
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_ZF, LF_NONE, materialize } from "../flags.ts";
import { VEC_GP, VEC_UD } from "../platform.ts";
import { ALU_ADD, ALU_CMP } from "../ops/alu.ts";
import { alu, R } from "./alu64.ts";
import {
  D,
  fetch8,
  modrm,
  opSize,
  readReg,
  readRm,
  stackCheck,
  writeReg,
  writeRm,
} from "./decode64.ts";
import { A_WRITE, read64, V, write64, xlate64 } from "./mem64.ts";

/** 0F C0/C1: xadd r/m, reg. */
export function xadd(c: CpuCore, b: number): void {
  const size = b === 0xc0 ? 8 : opSize();
  modrm(c, 0);
  readRm(c, size);
  const dLo = V[0], dHi = V[1];
  readReg(c, D.reg, size);
  alu(c, ALU_ADD, size, dLo, dHi, V[0], V[1]);
  const sLo = R[0], sHi = R[1];
  if (D.isMem) {
    writeRm(c, size, sLo, sHi);
    writeReg(c, D.reg, size, dLo, dHi);
  } else {
    writeReg(c, D.reg, size, dLo, dHi);
    writeRm(c, size, sLo, sHi);
  }
}

/** 0F B0/B1: cmpxchg r/m, reg (compares with rAX). */
export function cmpxchg(c: CpuCore, b: number): void {
  const size = b === 0xb0 ? 8 : opSize();
  modrm(c, 0);
  readRm(c, size);
  const dLo = V[0], dHi = V[1];
  readReg(c, 0, size);
  alu(c, ALU_CMP, size, V[0], V[1], dLo, dHi);
  if ((c.flags & F_ZF) !== 0) {
    readReg(c, D.reg, size);
    return writeRm(c, size, V[0], V[1]);
  }
  if (D.isMem) writeRm(c, size, dLo, dHi);
  writeReg(c, 0, size, dLo, dHi);
}

/** Linear address of the decoded memory operand (FS/GS base added). */
function linearOf(c: CpuCore): void {
  let lo = D.eaLo, hi = D.eaHi;
  const s = D.segSlot;
  if (s >= 0) {
    const t = (lo >>> 0) + (c.lm.msr[s * 2] >>> 0);
    lo = t | 0;
    hi = (hi + c.lm.msr[s * 2 + 1] + (t > 0xffffffff ? 1 : 0)) | 0;
  } else if (D.ss) stackCheck(c, hi);
  LIN[0] = lo;
  LIN[1] = hi;
}
const LIN = new Int32Array(2);

/** (lo, hi) + 8 into LIN2. */
const LIN2 = new Int32Array(2);
function plus(lo: number, hi: number, n: number): void {
  const s = (lo >>> 0) + n;
  LIN2[0] = s | 0;
  LIN2[1] = (hi + (s > 0xffffffff ? 1 : 0)) | 0;
}

function setZF(c: CpuCore, z: boolean): void {
  let fl = c.flags;
  if (c.lfOp !== LF_NONE) {
    fl = materialize(c);
    c.lfOp = LF_NONE;
  }
  c.flags = z ? fl | F_ZF : fl & ~F_ZF;
}

/**
 * 0F C7: /1 with a memory operand is cmpxchg8b (cmpxchg16b with REX.W).
 * @returns false for the other forms (left to system64/fpu64, RIP after the opcode)
 */
export function group9(c: CpuCore): boolean {
  const lo = c.eip, hi = c.lm.ripHi, len = D.len;
  const m = fetch8(c);
  c.eip = lo;
  c.lm.ripHi = hi;
  D.len = len;
  if (((m >> 3) & 7) !== 1) return false;
  if (m >= 0xc0) c.raise(VEC_UD, -1);
  modrm(c, 0);
  linearOf(c);
  const aLo = LIN[0], aHi = LIN[1];
  if ((D.rex & 8) === 0) {
    read64(c, aLo, aHi, 8);
    const mLo = V[0], mHi = V[1];
    const eq = mLo === c.regs[0] && mHi === c.regs[2];
    if (eq) {
      V[0] = c.regs[3];
      V[1] = c.regs[1];
    }
    write64(c, aLo, aHi, 8);
    setZF(c, eq);
    if (!eq) {
      writeReg(c, 0, 32, mLo, 0);
      writeReg(c, 2, 32, mHi, 0);
    }
    return true;
  }
  if ((aLo & 15) !== 0) c.raise(VEC_GP, 0);
  plus(aLo, aHi, 8);
  xlate64(c, aLo, aHi, A_WRITE); // the whole m128 must be writable before any change
  read64(c, aLo, aHi, 8);
  const m0 = V[0], m1 = V[1];
  read64(c, LIN2[0], LIN2[1], 8);
  const m2 = V[0], m3 = V[1];
  const eq = m0 === c.regs[0] && m1 === c.lm.hi[0] && m2 === c.regs[2] && m3 === c.lm.hi[2];
  if (eq) {
    V[0] = c.regs[3];
    V[1] = c.lm.hi[3];
    write64(c, aLo, aHi, 8);
    V[0] = c.regs[1];
    V[1] = c.lm.hi[1];
    write64(c, LIN2[0], LIN2[1], 8);
  } else {
    V[0] = m0;
    V[1] = m1;
    write64(c, aLo, aHi, 8);
    V[0] = m2;
    V[1] = m3;
    write64(c, LIN2[0], LIN2[1], 8);
  }
  setZF(c, eq);
  if (!eq) {
    writeReg(c, 0, 64, m0, m1);
    writeReg(c, 2, 64, m2, m3);
  }
  return true;
}

/**
 * Raises #UD unless the instruction at RIP (opcode `b`, prefixes consumed) is a lockable
 * form with a memory destination: 00-33 ALU r/m, reg forms (not cmp), 80/81/83 (not /7),
 * 86/87, F6/F7 /2 /3, FE/FF /0 /1, 0F AB B3 BB BA /5-/7, 0F B0 B1 C0 C1, 0F C7 /1.
 */
export function checkLock(c: CpuCore, b: number): void {
  const lo = c.eip, hi = c.lm.ripHi, len = D.len;
  let op2 = -1;
  if (b === 0x0f) op2 = fetch8(c);
  const m = fetch8(c);
  c.eip = lo;
  c.lm.ripHi = hi;
  D.len = len;
  const reg = (m >> 3) & 7;
  let ok: boolean;
  if (op2 < 0) {
    if (b < 0x40) ok = (b & 6) === 0 && b < 0x38;
    else if (b === 0x80 || b === 0x81 || b === 0x83) ok = reg !== 7;
    else if (b === 0x86 || b === 0x87) ok = true;
    else if (b === 0xf6 || b === 0xf7) ok = reg === 2 || reg === 3;
    else if (b === 0xfe || b === 0xff) ok = reg < 2;
    else ok = false;
  } else {
    if (op2 === 0xab || op2 === 0xb3 || op2 === 0xbb) ok = true;
    else if (op2 === 0xba) ok = reg >= 5;
    else if (op2 === 0xb0 || op2 === 0xb1 || op2 === 0xc0 || op2 === 0xc1) ok = true;
    else if (op2 === 0xc7) ok = reg === 1;
    else ok = false;
  }
  if (!ok || m >= 0xc0) c.raise(VEC_UD, -1);
}
