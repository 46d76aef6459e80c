/**
 * The x87 instruction dispatcher: opcodes D8..DF with their ModRM byte, after the core
 * has decoded the instruction and computed the operand's linear address. Precision is
 * that of a double (as with the x87 precision control set to 53 bits).
 * @module
 */

import type { CpuBus } from "./bus.ts";
import { FPU_VEC_MF, FPU_VEC_UD } from "./bus.ts";
import {
  arith64,
  DEFAULT_NAN,
  EXC_IE,
  ieee,
  OP_ADD,
  OP_DIV,
  OP_MUL,
  OP_SUB,
  quiet64,
  roundIntegral,
  sqrt64,
} from "./ieee.ts";
import {
  fldenv,
  fnsave,
  fnstenv,
  frstor,
  memOperand,
  readInt,
  readM32,
  readM64,
  readM80,
  storeInt,
  storeReal,
} from "./x87_memory.ts";
import {
  compare,
  fpatan,
  fprem,
  fscale,
  fxam,
  fxtract,
  fyl2x,
  transcend,
  X87_CONSTANTS,
  xtract,
} from "./x87_ops.ts";
import { SW_C1, SW_C2, SW_ES, type X87State } from "./x87_state.ts";

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
      st.fop = ((opcode & 7) << 8) | modrm;
      st.fdp = linear;
    }
    execMem(bus, st, opcode, reg, linear);
    return;
  }
  const noWait = (opcode === 0xdb && (modrm === 0xe2 || modrm === 0xe3)) ||
    (opcode === 0xdf && modrm === 0xe0);
  if (!noWait) {
    if ((st.sw & SW_ES) !== 0) bus.raise(FPU_VEC_MF, -1);
    st.fop = ((opcode & 7) << 8) | modrm;
  }
  execReg(bus, st, opcode, modrm);
}

/** FWAIT (9B): raises #MF when an unmasked x87 exception is pending. */
export function x87Fwait(bus: CpuBus, st: X87State): void {
  if ((st.sw & SW_ES) !== 0) bus.raise(FPU_VEC_MF, -1);
}

/** fldenv/fldcw/fnstenv/fnstcw, frstor/fnsave/fnstsw: no FOP/FDP update, no #MF here. */
function isControlMem(opcode: number, reg: number): boolean {
  return (opcode === 0xd9 && reg >= 4) || (opcode === 0xdd && reg >= 4);
}

/**
 * reg field of D8/DC/DA/DE: 0 add 1 mul 2 com 3 comp 4 sub 5 subr 6 div 7 divr;
 * `sa`/`sb` say whether a/b are signalling NaNs.
 */
function arith(
  st: X87State,
  op: number,
  dest: number,
  a: number,
  b: number,
  sa: number,
  sb: number,
): boolean {
  ieee.flags = 0;
  const rev = op === 5 || op === 7;
  ieee.snanA = rev ? sb : sa;
  ieee.snanB = rev ? sa : sb;
  let r: number;
  switch (op) {
    case 0:
      r = arith64(OP_ADD, a, b, st.rc, 1);
      break;
    case 1:
      r = arith64(OP_MUL, a, b, st.rc, 1);
      break;
    case 4:
      r = arith64(OP_SUB, a, b, st.rc, 1);
      break;
    case 5:
      r = arith64(OP_SUB, b, a, st.rc, 1);
      break;
    case 6:
      r = arith64(OP_DIV, a, b, st.rc, 1);
      break;
    default:
      r = arith64(OP_DIV, b, a, st.rc, 1);
      break;
  }
  if (st.takeIeee()) return false;
  st.set(dest, r);
  return true;
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

/** Reads an m80 packed BCD (18 digits and a sign byte). */
function readBcd(bus: CpuBus, lin: number): number {
  let v = 0;
  for (let i = 8; i >= 0; i--) {
    const b = bus.read8(lin + i);
    v = v * 100 + (b >> 4) * 10 + (b & 15);
  }
  return bus.read8(lin + 9) & 0x80 ? -v : v;
}

/** fbstp: rounds ST(0) and stores it as packed BCD; IE and the BCD indefinite if too big. */
function storeBcd(bus: CpuBus, st: X87State, lin: number): boolean {
  if (st.isEmpty(0) && st.underflow()) return false;
  ieee.flags = 0;
  const v = st.isEmpty(0) ? NaN : st.get(0);
  let r = v !== v ? v : roundIntegral(v, st.rc);
  if (r !== r || Math.abs(r) >= 1e18) {
    ieee.flags = EXC_IE;
    if (st.takeIeee()) return false;
    for (let i = 0; i < 7; i++) bus.write8(lin + i, 0);
    bus.write8(lin + 7, 0xc0);
    bus.write8(lin + 8, 0xff);
    bus.write8(lin + 9, 0xff);
    return true;
  }
  if (st.takeIeee()) return false;
  const neg = r < 0 || Object.is(r, -0);
  r = Math.abs(r);
  for (let i = 0; i < 9; i++) {
    const two = r % 100;
    r = Math.floor(r / 100);
    bus.write8(lin + i, ((Math.floor(two / 10) << 4) | (two % 10)) & 0xff);
  }
  bus.write8(lin + 9, neg ? 0x80 : 0);
  return true;
}

/** Stack overflow of a push that also rewrites ST(0) (C1 = 1). @returns true if unmasked */
function overflow(st: X87State): boolean {
  st.sw |= SW_C1;
  return st.signal(0x41);
}

/** Operand fetch for register forms: false (and the fault recorded) if one is empty. */
function need(st: X87State, a: number, b: number): boolean {
  if (!st.isEmpty(a) && !st.isEmpty(b)) return true;
  return false;
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

/** dest = dest op src over the stack; `op` uses the D8 reg numbering for dest op src. */
function regArith(st: X87State, op: number, dest: number, src: number, pop: boolean): void {
  if (!need(st, dest, src)) {
    if (st.underflow()) return;
    st.set(dest, DEFAULT_NAN);
  } else if (!arith(st, op, dest, st.get(dest), st.get(src), st.isSnan(dest), st.isSnan(src))) {
    return;
  }
  if (pop) st.pop();
}

/** fcom/fucom family on ST(0) and ST(i); pops `pops` times. */
function regCompare(st: X87State, i: number, ordered: boolean, pops: number): void {
  if (!need(st, 0, i)) {
    if (st.underflow()) return;
    st.sw |= 0x4500;
  } else if (compare(st, st.get(0), st.get(i), ordered, st.isSnan(0) | st.isSnan(i)) < 0) return;
  while (pops-- > 0) st.pop();
}

function fcomi(bus: CpuBus, st: X87State, i: number, ordered: boolean, pop: boolean): void {
  let res = 3;
  if (!need(st, 0, i)) {
    if (st.underflow()) return;
  } else {
    const a = st.get(0), b = st.get(i);
    if (a !== a || b !== b) {
      if ((ordered || st.isSnan(0) || st.isSnan(i)) && st.signal(EXC_IE)) return;
    } else res = a > b ? 0 : a < b ? 1 : 2;
    // C1 is left as it was (AMD hosts; Intel documents C1 = 0)
  }
  bus.setFlagsFromCompare(res >= 2 ? 1 : 0, res === 3 ? 1 : 0, res & 1);
  if (pop) st.pop();
}

/** fcmovcc: cc 0 b, 1 e, 2 be, 3 u; `negate` for the DB forms. */
function fcmov(bus: CpuBus, st: X87State, cc: number, negate: boolean, i: number): void {
  const fl = bus.getEflags();
  let cond = cc === 0 ? fl & 1 : cc === 1 ? fl & 0x40 : cc === 2 ? fl & 0x41 : fl & 4;
  if (negate) cond = cond ? 0 : 1;
  if (!need(st, 0, i)) {
    // On a stack fault the host writes the indefinite whatever the condition.
    if (!st.underflow()) st.set(0, DEFAULT_NAN);
    return;
  }
  if (cond) st.copy(0, i);
}

function fxch(st: X87State, i: number): void {
  if (!need(st, 0, i)) {
    if (st.underflow()) return;
    if (st.isEmpty(0)) st.set(0, DEFAULT_NAN);
    if (st.isEmpty(i)) st.set(i, DEFAULT_NAN);
  } else st.sw &= ~SW_C1;
  st.swap(i);
}

function fstReg(st: X87State, i: number, pop: boolean): void {
  if (st.isEmpty(0)) {
    if (st.underflow()) return;
    st.set(i, DEFAULT_NAN);
  } else {
    st.sw &= ~SW_C1;
    st.copy(i, 0);
  }
  if (pop) st.pop();
}

/** Unary op on ST(0) with the usual empty check; `fn` computes the result from ST(0). */
function unary(st: X87State, kind: number): void {
  if (st.isEmpty(0)) {
    if (kind >= 4 && kind < 7) st.sw &= ~SW_C2;
    if (st.underflow()) return;
    st.set(0, DEFAULT_NAN);
    return;
  }
  ieee.flags = 0;
  ieee.up = 0;
  const v = st.get(0);
  ieee.snanA = st.isSnan(0);
  let r: number;
  switch (kind) {
    case 0: // fchs: the sign bit, NaN or not
      st.sw &= ~SW_C1;
      st.regBits[2 * st.top + 1] ^= 0x80000000;
      return;
    case 1: // fabs
      st.sw &= ~SW_C1;
      st.regBits[2 * st.top + 1] &= 0x7fffffff;
      return;
    case 2:
      r = sqrt64(v, st.rc);
      break;
    case 3:
      if (v !== v) {
        if (ieee.snanA) ieee.flags |= EXC_IE;
        r = quiet64(v);
      } else r = roundIntegral(v, st.rc);
      ieee.snanA = 0;
      break;
    default:
      r = transcend(st, kind - 4, v); // 4 sin, 5 cos, 6 tan (unused here), 7 f2xm1
      if (kind !== 7 && (st.sw & SW_C2) !== 0) return;
  }
  if (st.takeIeee()) return;
  st.set(0, r);
}

/** Two-operand ST(1) <- f(ST(0), ST(1)) then pop: fyl2x, fyl2xp1, fpatan. */
function binaryPop(st: X87State, kind: number): void {
  if (!need(st, 0, 1)) {
    if (st.underflow()) return;
    st.set(1, DEFAULT_NAN);
    st.pop();
    return;
  }
  ieee.flags = 0;
  ieee.up = 0;
  const x = st.get(0), y = st.get(1);
  ieee.snanA = st.isSnan(0);
  ieee.snanB = st.isSnan(1);
  const r = kind === 2 ? fpatan(x, y) : fyl2x(x, y, kind === 1);
  if (st.takeIeee()) return;
  st.set(1, r);
  st.pop();
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

/** fptan (push 1.0) and fsincos (ST(0) = sin, push cos). */
function fptan(st: X87State, sincos: boolean): void {
  if (st.isEmpty(0) || !st.isEmpty(7)) {
    st.sw &= ~SW_C2;
    if (st.isEmpty(0) ? st.underflow() : overflow(st)) return;
    st.set(0, DEFAULT_NAN);
    st.push(DEFAULT_NAN);
    return;
  }
  ieee.flags = 0;
  ieee.up = 0;
  const v = st.get(0);
  const snan = st.isSnan(0);
  ieee.snanA = snan;
  const r = transcend(st, sincos ? 0 : 2, v);
  if ((st.sw & SW_C2) !== 0) return;
  ieee.snanA = 0;
  const r2 = sincos ? transcend(st, 1, v) : (r !== r ? r : 1);
  if (st.takeIeee()) return;
  st.set(0, r);
  st.push(r2);
}

function fxtractOp(st: X87State): void {
  if (st.isEmpty(0) || !st.isEmpty(7)) {
    if (st.isEmpty(0) ? st.underflow() : overflow(st)) return;
    st.set(0, DEFAULT_NAN);
    st.push(DEFAULT_NAN);
    return;
  }
  ieee.flags = 0;
  ieee.up = 0;
  ieee.snanA = st.isSnan(0);
  fxtract(st.get(0));
  if (st.takeIeee()) return;
  st.set(0, xtract[0]);
  st.push(xtract[1]);
}

function fpremOp(st: X87State, nearest: boolean): void {
  if (!need(st, 0, 1)) {
    st.sw &= ~SW_C2;
    if (st.underflow()) return;
    st.set(0, DEFAULT_NAN);
    return;
  }
  ieee.flags = 0;
  ieee.up = 0;
  ieee.snanA = st.isSnan(0);
  ieee.snanB = st.isSnan(1);
  const r = fprem(st, st.get(0), st.get(1), nearest);
  const c1 = st.sw & SW_C1;
  if (st.takeIeee()) return;
  if (r === r) st.sw = (st.sw & ~SW_C1) | c1; // Q0 of a completed reduction
  st.set(0, r);
}

function fscaleOp(st: X87State): void {
  if (!need(st, 0, 1)) {
    if (st.underflow()) return;
    st.set(0, DEFAULT_NAN);
    return;
  }
  ieee.flags = 0;
  ieee.up = 0;
  ieee.snanA = st.isSnan(0);
  ieee.snanB = st.isSnan(1);
  const r = fscale(st.get(0), st.get(1));
  if (st.takeIeee()) return;
  st.set(0, r);
}
