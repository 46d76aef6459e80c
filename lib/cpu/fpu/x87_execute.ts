/**
 * The x87 instruction dispatcher: opcodes D8..DF with their ModRM byte, after the core
 * has decoded the instruction and computed the operand's linear address. Precision is
 * that of a double (as with the x87 precision control set to 53 bits).
 * @module
 */

import type { CpuBus } from "./bus.ts";
import { FPU_VEC_MF, FPU_VEC_UD } from "./bus.ts";
import { DEFAULT_NAN, EXC_IE, quiet64 } from "./ieee.ts";
import {
  fldenv,
  fnsave,
  fnstenv,
  frstor,
  memOperand,
  readBcd,
  readInt,
  readM32,
  readM64,
  readM80,
  storeBcd,
  storeInt,
  storeReal,
} from "./x87_memory.ts";
import { compare, fxam, X87_CONSTANTS } from "./x87_ops.ts";
import {
  arith,
  binaryPop,
  fcmov,
  fcomi,
  fpremOp,
  fptan,
  fscaleOp,
  fstReg,
  fxch,
  fxtractOp,
  regArith,
  regCompare,
  unary,
} from "./x87_stack_ops.ts";
import { SW_C1, SW_ES, type X87State } from "./x87_state.ts";

/**
 * Executes one x87 instruction.
 * @param bus the CPU (memory, registers, eflags, exceptions)
 * @param st the x87 state
 * @param opcode the first byte, 0xD8..0xDF
 * @param modrm the ModRM byte
 * @param linear the memory operand's linear address (ignored for register forms)
 */
export function x87Execute(
  bus: CpuBus,
  st: X87State,
  opcode: number,
  modrm: number,
  linear: number,
): void {
  const reg = (modrm >> 3) & 7;
  if (modrm < 0xc0) {
    const control = isControlMem(opcode, reg);
    if (!control) {
      if ((st.sw & SW_ES) !== 0) bus.raise(FPU_VEC_MF, -1);
      latchPointers(st, opcode, modrm);
      st.fdp = linear;
      st.fdpHi = st.dataHi;
    } else unlatchPointers(st);
    execMem(bus, st, opcode, reg, linear);
    return;
  }
  const noWait = (opcode === 0xdb && (modrm === 0xe2 || modrm === 0xe3)) ||
    (opcode === 0xdf && modrm === 0xe0);
  if (!noWait) {
    if ((st.sw & SW_ES) !== 0) bus.raise(FPU_VEC_MF, -1);
    latchPointers(st, opcode, modrm);
  } else unlatchPointers(st);
  execReg(bus, st, opcode, modrm);
}

/**
 * A non-control instruction: its FOP, and the FIP/FCS the core stored before the call,
 * become the "last instruction" that fnstenv/fnsave/fxsave report.
 */
function latchPointers(st: X87State, opcode: number, modrm: number): void {
  st.fop = ((opcode & 7) << 8) | modrm;
  st.lastFip = st.fip;
  st.lastFcs = st.fcs;
  st.lastFipHi = st.fipHi;
}

/** A control instruction leaves the last-instruction pointers as they were. */
function unlatchPointers(st: X87State): void {
  st.fip = st.lastFip;
  st.fcs = st.lastFcs;
  st.fipHi = st.lastFipHi;
}

/** FWAIT (9B): raises #MF when an unmasked x87 exception is pending. */
export function x87Fwait(bus: CpuBus, st: X87State): void {
  if ((st.sw & SW_ES) !== 0) bus.raise(FPU_VEC_MF, -1);
}

/** fldenv/fldcw/fnstenv/fnstcw, frstor/fnsave/fnstsw: no FOP/FDP update, no #MF here. */
function isControlMem(opcode: number, reg: number): boolean {
  return (opcode === 0xd9 && reg >= 4) || (opcode === 0xdd && reg >= 4);
}

/** ST(0) op memory operand (or compare). */
function memArith(st: X87State, op: number, b: number): void {
  const sb = memOperand.snan;
  if (st.isEmpty(0)) {
    if (st.underflow()) return;
    if (op === 2 || op === 3) {
      st.sw |= 0x4500;
      if (op === 3) st.pop();
      return;
    }
    st.set(0, DEFAULT_NAN);
    return;
  }
  if (op === 2 || op === 3) {
    if (compare(st, st.get(0), b, true, st.isSnan(0) | sb) >= 0 && op === 3) st.pop();
    return;
  }
  arith(st, op, 0, st.get(0), b, st.isSnan(0), sb);
}

function execMem(bus: CpuBus, st: X87State, opcode: number, reg: number, lin: number): void {
  switch (opcode) {
    case 0xd8:
      return memArith(st, reg, readM32(bus, lin));
    case 0xdc:
      return memArith(st, reg, readM64(bus, lin));
    case 0xda:
      return memArith(st, reg, readInt(bus, lin, 4));
    case 0xde:
      return memArith(st, reg, readInt(bus, lin, 2));
    case 0xd9:
      switch (reg) {
        case 0:
          return loadReal(st, readM32(bus, lin));
        case 2:
        case 3:
          if (storeReal(bus, st, lin, 4) && reg === 3) st.pop();
          return;
        case 4:
          return fldenv(bus, st, lin);
        case 5:
          st.cw = (bus.read16(lin) & 0x1f7f) | 0x40;
          if ((st.sw & ~st.cw & 0x3f) !== 0) st.sw |= 0x8080;
          else st.sw &= ~0x8080;
          return;
        case 6:
          return fnstenv(bus, st, lin);
        case 7:
          return bus.write16(lin, st.cw);
      }
      break;
    case 0xdb:
      switch (reg) {
        case 0:
          st.push(readInt(bus, lin, 4));
          return;
        case 1:
        case 2:
        case 3:
          if (storeInt(bus, st, lin, 4, reg === 1) && reg !== 2) st.pop();
          return;
        case 5:
          if (st.push(readM80(bus, lin)) && memOperand.snan) st.markSnan(0);
          return;
        case 7:
          if (storeReal(bus, st, lin, 10)) st.pop();
          return;
      }
      break;
    case 0xdd:
      switch (reg) {
        case 0:
          return loadReal(st, readM64(bus, lin));
        case 1:
          if (storeInt(bus, st, lin, 8, true)) st.pop();
          return;
        case 2:
        case 3:
          if (storeReal(bus, st, lin, 8) && reg === 3) st.pop();
          return;
        case 4:
          return frstor(bus, st, lin);
        case 6:
          return fnsave(bus, st, lin);
        case 7:
          return bus.write16(lin, st.statusWord);
      }
      break;
    case 0xdf:
      switch (reg) {
        case 0:
          st.push(readInt(bus, lin, 2));
          return;
        case 1:
        case 2:
        case 3:
          if (storeInt(bus, st, lin, 2, reg === 1) && reg !== 2) st.pop();
          return;
        case 4:
          st.push(readBcd(bus, lin));
          return;
        case 5:
          st.push(readInt(bus, lin, 8));
          return;
        case 6:
          if (storeBcd(bus, st, lin)) st.pop();
          return;
        case 7:
          if (storeInt(bus, st, lin, 8, false)) st.pop();
          return;
      }
      break;
  }
  bus.raise(FPU_VEC_UD, -1);
}

/** fld m32/m64: a signalling NaN raises IE and loads quietened. */
function loadReal(st: X87State, v: number): void {
  if (v !== v && memOperand.snan) {
    if (st.signal(EXC_IE)) return;
    v = quiet64(v);
  }
  st.push(v);
}

function execReg(bus: CpuBus, st: X87State, opcode: number, modrm: number): void {
  const reg = (modrm >> 3) & 7, i = modrm & 7;
  switch (opcode) {
    case 0xd8:
      if (reg === 2 || reg === 3) return regCompare(st, i, true, reg === 3 ? 1 : 0);
      return regArith(st, reg, 0, i, false);
    case 0xdc:
      if (reg === 2 || reg === 3) return regCompare(st, i, true, reg === 3 ? 1 : 0);
      return regArith(st, reg ^ (reg >= 4 ? 1 : 0), i, 0, false);
    case 0xde:
      if (reg === 3 && i === 1) return regCompare(st, 1, true, 2);
      if (reg === 2) return regCompare(st, i, true, 1);
      return regArith(st, reg ^ (reg >= 4 ? 1 : 0), i, 0, true);
    case 0xd9:
      return execD9(bus, st, modrm);
    case 0xda:
      if (reg < 4) return fcmov(bus, st, reg, false, i);
      if (modrm === 0xe9) return regCompare(st, 1, false, 2);
      break;
    case 0xdb:
      if (reg < 4) return fcmov(bus, st, reg, true, i);
      if (reg === 5 || reg === 6) return fcomi(bus, st, i, reg === 6, false);
      if (modrm === 0xe2) {
        st.sw &= 0x7f00;
        return;
      }
      if (modrm === 0xe3) return st.init();
      if (modrm === 0xe0 || modrm === 0xe1 || modrm === 0xe4) return; // feni/fdisi/fsetpm
      break;
    case 0xdd:
      switch (reg) {
        case 0:
          st.sw &= ~SW_C1;
          st.empty[(st.top + i) & 7] = 1;
          return;
        case 1:
          return fxch(st, i);
        case 2:
        case 3:
          return fstReg(st, i, reg === 3);
        case 4:
          return regCompare(st, i, false, 0);
        case 5:
          return regCompare(st, i, false, 1);
      }
      break;
    case 0xdf:
      if (modrm === 0xe0) {
        bus.regs[0] = (bus.regs[0] & ~0xffff) | st.statusWord;
        return;
      }
      if (reg === 5 || reg === 6) return fcomi(bus, st, i, reg === 6, true);
      if (reg === 0) {
        st.empty[(st.top + i) & 7] = 1;
        st.pop();
        return;
      }
      if (reg === 1) return fxch(st, i);
      if (reg === 2 || reg === 3) return fstReg(st, i, true);
      break;
  }
  bus.raise(FPU_VEC_UD, -1);
}

function execD9(bus: CpuBus, st: X87State, modrm: number): void {
  const i = modrm & 7;
  if (modrm < 0xc8) {
    // fld st(i)
    if (st.isEmpty(i)) {
      if (st.underflow()) return;
      st.push(DEFAULT_NAN);
      return;
    }
    st.sw &= ~SW_C1;
    if (st.push(st.get(i))) st.copy(0, i + 1);
    return;
  }
  if (modrm < 0xd0) return fxch(st, i);
  if (modrm === 0xd0) return; // fnop
  if (modrm >= 0xd8 && modrm < 0xe0) return fstReg(st, i, true);
  switch (modrm) {
    case 0xe0:
      return unary(st, 0);
    case 0xe1:
      return unary(st, 1);
    case 0xe4:
      if (st.isEmpty(0)) {
        if (!st.underflow()) st.sw |= 0x4500;
        return;
      }
      compare(st, st.get(0), 0, true, st.isSnan(0));
      return;
    case 0xe5:
      return fxam(st);
    case 0xe8:
    case 0xe9:
    case 0xea:
    case 0xeb:
    case 0xec:
    case 0xed:
    case 0xee:
      st.sw &= ~SW_C1;
      st.push(X87_CONSTANTS[modrm - 0xe8]);
      return;
    case 0xf0:
      return unary(st, 7);
    case 0xf1:
      return binaryPop(st, 0);
    case 0xf2:
      return fptan(st, false);
    case 0xf3:
      return binaryPop(st, 2);
    case 0xf4:
      return fxtractOp(st);
    case 0xf5:
    case 0xf8:
      return fpremOp(st, modrm === 0xf5);
    case 0xf6:
      st.sw &= ~SW_C1;
      st.top = (st.top - 1) & 7;
      return;
    case 0xf7:
      st.sw &= ~SW_C1;
      st.top = (st.top + 1) & 7;
      return;
    case 0xf9:
      return binaryPop(st, 1);
    case 0xfa:
      return unary(st, 2);
    case 0xfb:
      return fptan(st, true);
    case 0xfc:
      return unary(st, 3);
    case 0xfd:
      return fscaleOp(st);
    case 0xfe:
      return unary(st, 4);
    case 0xff:
      return unary(st, 5);
  }
  bus.raise(FPU_VEC_UD, -1);
}
