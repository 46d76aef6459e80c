/**
 * The SSE/SSE2 dispatcher: `0F op2` forms with a ModRM byte (and the 66/F2/F3 prefix
 * that selects ps/pd/ss/sd or the SSE2 integer forms), after the core has decoded the
 * instruction and computed the memory operand's linear address. MMX forms (no prefix on
 * the integer opcodes) are not implemented: they return false (#UD).
 * @module
 */

import type { CpuBus } from "../fpu/bus.ts";
import { FPU_VEC_GP, FPU_VEC_XM } from "../fpu/bus.ts";
import { ieee } from "../fpu/ieee.ts";
import {
  cmpOp,
  comis,
  convert,
  CVT_DQ2PD,
  CVT_DQ2PS,
  CVT_PD2DQ,
  CVT_PD2PS,
  CVT_PS2DQ,
  CVT_PS2PD,
  CVT_SD2SS,
  CVT_SS2SD,
  CVT_TPD2DQ,
  CVT_TPS2DQ,
  cvtFromGpr,
  cvtToGpr,
  floatOp,
  FOP_ADD,
  FOP_DIV,
  FOP_MAX,
  FOP_MIN,
  FOP_MUL,
  FOP_SQRT,
  FOP_SUB,
} from "./sse_float.ts";
import { byteShift, intOp, pshuf, SH_SLL, SH_SRA, SH_SRL, shiftOp } from "./sse_int.ts";
import { MXCSR_MM, type SseState, XMM_MEM, XMM_TMP } from "./sse_state.ts";

/**
 * Per second opcode byte after 0F: bit 0 = an SSE/SSE2 form with ModRM that
 * {@link sseExecute} handles (given the right prefix), bit 1 = followed by an imm8.
 */
export const SSE_OPCODE_MAP: Uint8Array = (() => {
  const m = new Uint8Array(256);
  const set = (a: number, b: number) => {
    for (let i = a; i <= b; i++) m[i] = 1;
  };
  set(0x10, 0x17);
  set(0x28, 0x2f);
  set(0x50, 0x76);
  set(0x7e, 0x7f);
  m[0xc2] =
    m[0xc4] =
    m[0xc5] =
    m[0xc6] =
      1;
  set(0xd1, 0xfe);
  for (const i of [0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6]) m[i] |= 2;
  return m;
})();

/** Float-op codes of 0F 51..5F (0xff: not a float arithmetic op). */
const FLOAT_OPS = new Uint8Array([
  FOP_SQRT,
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  FOP_ADD,
  FOP_MUL,
  0xff,
  0xff,
  FOP_SUB,
  FOP_MIN,
  FOP_DIV,
  FOP_MAX,
]);

/** 0F 5A conversions by kind. */
const CVT_5A = new Uint8Array([CVT_PS2PD, CVT_PD2PS, CVT_SS2SD, CVT_SD2SS]);

/** Prefix -> kind: 0 ps (none), 1 pd (66), 2 ss (F3), 3 sd (F2). */
function kindOf(prefix: number): number {
  return prefix === 0x66 ? 1 : prefix === 0xf3 ? 2 : prefix === 0xf2 ? 3 : 0;
}

function checkAligned(bus: CpuBus, x: SseState, linear: number): void {
  if ((linear & 15) !== 0 && (x.mxcsr & MXCSR_MM) === 0) bus.raise(FPU_VEC_GP, 0);
}

/** Loads `bytes` (4, 8, 16) at linear into the XMM_MEM scratch (rest zero). */
function loadMem(
  bus: CpuBus,
  x: SseState,
  linear: number,
  bytes: number,
  aligned: boolean,
): number {
  if (aligned) checkAligned(bus, x, linear);
  const i32 = x.i32, m = XMM_MEM * 4;
  i32[m] = bus.read32(linear);
  i32[m + 1] = bytes > 4 ? bus.read32(linear + 4) : 0;
  i32[m + 2] = bytes > 8 ? bus.read32(linear + 8) : 0;
  i32[m + 3] = bytes > 8 ? bus.read32(linear + 12) : 0;
  return XMM_MEM;
}

/** Stores `dwords` dwords of register r (from dword `from`) at linear. */
function storeMem(
  bus: CpuBus,
  x: SseState,
  r: number,
  from: number,
  dwords: number,
  linear: number,
) {
  for (let i = 0; i < dwords; i++) bus.write32(linear + 4 * i, x.i32[r * 4 + from + i]);
}

/** Merges the operation's flags into MXCSR; #XM for an unmasked one (no write-back). */
export function commitFlags(bus: CpuBus, x: SseState): void {
  const f = ieee.flags & 0x3f;
  ieee.flags = 0;
  if (f === 0) return;
  x.mxcsr |= f;
  if ((f & ~(x.mxcsr >> 7) & 0x3f) !== 0) bus.raise(FPU_VEC_XM, -1);
}

/** Flags, then XMM_TMP -> register d. */
function commit(bus: CpuBus, x: SseState, d: number): void {
  commitFlags(bus, x);
  x.copy(d, XMM_TMP);
}

/**
 * Executes one SSE/SSE2 instruction `0F op2 modrm [imm8]`.
 * @param bus the CPU
 * @param x the SSE state
 * @param prefix the mandatory prefix in effect: 0, 0x66, 0xF2 or 0xF3
 * @param op2 the opcode byte after 0F
 * @param modrm the ModRM byte; in 64-bit mode bit 8 carries REX.R (reg += 8) and bit 9
 *   REX.B (register rm += 8), reaching xmm8-15 (and GPRs 8-15 in `bus.regs`)
 * @param linear the memory operand's linear address (ignored for register forms)
 * @param imm8 the immediate byte for forms that have one
 * @returns false when the form is not implemented (the core raises #UD)
 */
export function sseExecute(
  bus: CpuBus,
  x: SseState,
  prefix: number,
  op2: number,
  modrm: number,
  linear: number,
  imm8: number,
): boolean {
  const reg = ((modrm >> 3) & 7) | ((modrm >> 5) & 8), rm = (modrm & 7) | ((modrm >> 6) & 8);
  const isReg = (modrm & 0xc0) === 0xc0;
  const kind = kindOf(prefix);
  const i32 = x.i32;
  ieee.flags = 0;
  if (op2 >= 0x51 && op2 <= 0x5f && FLOAT_OPS[op2 - 0x51] !== 0xff) {
    const bytes = kind < 2 ? 16 : kind === 2 ? 4 : 8;
    const s = isReg ? rm : loadMem(bus, x, linear, bytes, kind < 2);
    floatOp(x, FLOAT_OPS[op2 - 0x51], kind, reg, s);
    commit(bus, x, reg);
    return true;
  }
  switch (op2) {
    case 0x10:
    case 0x11: {
      const load = op2 === 0x10;
      if (kind < 2) {
        if (isReg) x.copy(load ? reg : rm, load ? rm : reg);
        else if (load) x.copy(reg, loadMem(bus, x, linear, 16, false));
        else storeMem(bus, x, reg, 0, 4, linear);
        return true;
      }
      const n = kind === 2 ? 1 : 2; // dwords
      if (isReg) {
        const d = load ? reg : rm, s = load ? rm : reg;
        for (let i = 0; i < n; i++) i32[d * 4 + i] = i32[s * 4 + i];
      } else if (load) x.copy(reg, loadMem(bus, x, linear, n * 4, false));
      else storeMem(bus, x, reg, 0, n, linear);
      return true;
    }
    case 0x12:
    case 0x16: {
      if (kind > 1 || (isReg && kind === 1)) return false;
      const hi = op2 === 0x16 ? 2 : 0;
      if (isReg) {
        // movhlps: low <- source high; movlhps: high <- source low
        const from = op2 === 0x12 ? 2 : 0;
        const a = i32[rm * 4 + from], b = i32[rm * 4 + from + 1];
        i32[reg * 4 + hi] = a;
        i32[reg * 4 + hi + 1] = b;
      } else {
        const a = bus.read32(linear), b = bus.read32(linear + 4);
        i32[reg * 4 + hi] = a;
        i32[reg * 4 + hi + 1] = b;
      }
      return true;
    }
    case 0x13:
    case 0x17:
      if (kind > 1 || isReg) return false;
      storeMem(bus, x, reg, op2 === 0x17 ? 2 : 0, 2, linear);
      return true;
    case 0x14:
    case 0x15: {
      if (kind > 1) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, 16, true);
      const o = op2 === 0x15 ? 2 : 0, T = XMM_TMP * 4, D = reg * 4, S = s * 4;
      if (kind === 0) {
        i32[T] = i32[D + o];
        i32[T + 1] = i32[S + o];
        i32[T + 2] = i32[D + o + 1];
        i32[T + 3] = i32[S + o + 1];
      } else {
        i32[T] = i32[D + o];
        i32[T + 1] = i32[D + o + 1];
        i32[T + 2] = i32[S + o];
        i32[T + 3] = i32[S + o + 1];
      }
      x.copy(reg, XMM_TMP);
      return true;
    }
    case 0x28:
    case 0x29:
    case 0x2b:
      if (kind > 1) return false;
      if (op2 === 0x28) {
        x.copy(reg, isReg ? rm : loadMem(bus, x, linear, 16, true));
      } else if (isReg) {
        if (op2 === 0x2b) return false;
        x.copy(rm, reg);
      } else {
        checkAligned(bus, x, linear);
        storeMem(bus, x, reg, 0, 4, linear);
      }
      return true;
    case 0x2a: {
      if (kind < 2) return false;
      const v = isReg ? bus.regs[rm] : bus.read32(linear);
      cvtFromGpr(x, reg, v, kind === 3);
      commit(bus, x, reg);
      return true;
    }
    case 0x2c:
    case 0x2d: {
      if (kind < 2) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, kind === 2 ? 4 : 8, false);
      const v = cvtToGpr(x, s, kind === 3, op2 === 0x2c);
      commitFlags(bus, x);
      bus.regs[reg] = v;
      return true;
    }
    case 0x2e:
    case 0x2f: {
      if (kind > 1) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, kind === 0 ? 4 : 8, false);
      const r = comis(x, reg, s, kind === 1, op2 === 0x2f);
      commitFlags(bus, x);
      bus.setFlagsFromCompare(r >= 2 ? 1 : 0, r === 3 ? 1 : 0, r & 1);
      return true;
    }
    case 0x50: {
      if (kind > 1 || !isReg) return false;
      const S = rm * 4;
      bus.regs[reg] = kind === 0
        ? (i32[S] >>> 31) | ((i32[S + 1] >>> 31) << 1) | ((i32[S + 2] >>> 31) << 2) |
          ((i32[S + 3] >>> 31) << 3)
        : (i32[S + 1] >>> 31) | ((i32[S + 3] >>> 31) << 1);
      return true;
    }
    case 0x54:
    case 0x55:
    case 0x56:
    case 0x57: {
      if (kind > 1) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, 16, true);
      intOp(x, op2 === 0x54 ? 0xdb : op2 === 0x55 ? 0xdf : op2 === 0x56 ? 0xeb : 0xef, reg, s);
      x.copy(reg, XMM_TMP);
      return true;
    }
    case 0x5a: {
      const bytes = kind === 0 ? 8 : kind === 1 ? 16 : kind === 2 ? 4 : 8;
      const s = isReg ? rm : loadMem(bus, x, linear, bytes, kind === 1);
      convert(x, CVT_5A[kind], reg, s);
      commit(bus, x, reg);
      return true;
    }
    case 0x5b: {
      if (kind === 3) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, 16, true);
      convert(x, kind === 0 ? CVT_DQ2PS : kind === 1 ? CVT_PS2DQ : CVT_TPS2DQ, reg, s);
      commit(bus, x, reg);
      return true;
    }
    case 0xe6: {
      if (kind === 0) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, kind === 2 ? 8 : 16, kind !== 2);
      convert(x, kind === 1 ? CVT_TPD2DQ : kind === 2 ? CVT_DQ2PD : CVT_PD2DQ, reg, s);
      commit(bus, x, reg);
      return true;
    }
    case 0xc2: {
      const bytes = kind < 2 ? 16 : kind === 2 ? 4 : 8;
      const s = isReg ? rm : loadMem(bus, x, linear, bytes, kind < 2);
      cmpOp(x, imm8 & 7, kind, reg, s);
      commit(bus, x, reg);
      return true;
    }
    case 0xc6: {
      if (kind > 1) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, 16, true);
      const T = XMM_TMP * 4, D = reg * 4, S = s * 4;
      if (kind === 0) {
        i32[T] = i32[D + (imm8 & 3)];
        i32[T + 1] = i32[D + ((imm8 >> 2) & 3)];
        i32[T + 2] = i32[S + ((imm8 >> 4) & 3)];
        i32[T + 3] = i32[S + ((imm8 >> 6) & 3)];
      } else {
        const a = (imm8 & 1) * 2, b = ((imm8 >> 1) & 1) * 2;
        i32[T] = i32[D + a];
        i32[T + 1] = i32[D + a + 1];
        i32[T + 2] = i32[S + b];
        i32[T + 3] = i32[S + b + 1];
      }
      x.copy(reg, XMM_TMP);
      return true;
    }
  }
  return integerForms(bus, x, prefix, op2, reg, rm, isReg, linear, imm8);
}

/** The SSE2 integer and move forms (66/F3/F2 0F 6x, 7x, Cx, Dx-Fx). */
function integerForms(
  bus: CpuBus,
  x: SseState,
  prefix: number,
  op2: number,
  reg: number,
  rm: number,
  isReg: boolean,
  linear: number,
  imm8: number,
): boolean {
  const i32 = x.i32;
  switch (op2) {
    case 0x6e: // movd xmm, r/m32
      if (prefix !== 0x66) return false;
      i32[reg * 4] = isReg ? bus.regs[rm] : bus.read32(linear);
      i32[reg * 4 + 1] = i32[reg * 4 + 2] = i32[reg * 4 + 3] = 0;
      return true;
    case 0x7e:
      if (prefix === 0x66) { // movd r/m32, xmm
        if (isReg) bus.regs[rm] = i32[reg * 4];
        else bus.write32(linear, i32[reg * 4]);
        return true;
      }
      if (prefix === 0xf3) { // movq xmm, xmm/m64
        const s = isReg ? rm : loadMem(bus, x, linear, 8, false);
        const a = i32[s * 4], b = i32[s * 4 + 1];
        i32[reg * 4] = a;
        i32[reg * 4 + 1] = b;
        i32[reg * 4 + 2] = i32[reg * 4 + 3] = 0;
        return true;
      }
      return false;
    case 0xd6: // movq xmm/m64, xmm
      if (prefix !== 0x66) return false;
      if (isReg) {
        i32[rm * 4] = i32[reg * 4];
        i32[rm * 4 + 1] = i32[reg * 4 + 1];
        i32[rm * 4 + 2] = i32[rm * 4 + 3] = 0;
      } else storeMem(bus, x, reg, 0, 2, linear);
      return true;
    case 0x6f:
    case 0x7f:
    case 0xe7: {
      if (prefix !== 0x66 && !(prefix === 0xf3 && op2 !== 0xe7)) return false;
      const aligned = prefix === 0x66;
      if (op2 === 0x6f) x.copy(reg, isReg ? rm : loadMem(bus, x, linear, 16, aligned));
      else if (isReg) {
        if (op2 === 0xe7) return false;
        x.copy(rm, reg);
      } else {
        if (aligned) checkAligned(bus, x, linear);
        storeMem(bus, x, reg, 0, 4, linear);
      }
      return true;
    }
    case 0x70: {
      if (prefix === 0) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, 16, true);
      pshuf(x, prefix === 0x66 ? 0 : prefix === 0xf2 ? 1 : 2, s, imm8);
      x.copy(reg, XMM_TMP);
      return true;
    }
    case 0x71:
    case 0x72:
    case 0x73: {
      if (prefix !== 0x66 || !isReg) return false;
      const sub = reg & 7; // an opcode extension: REX.R does not apply
      if (op2 === 0x73 && (sub === 3 || sub === 7)) byteShift(x, rm, imm8, sub === 7);
      else if (sub === SH_SRL || sub === SH_SLL || (sub === SH_SRA && op2 !== 0x73)) {
        shiftOp(x, sub, op2 === 0x71 ? 16 : op2 === 0x72 ? 32 : 64, rm, imm8);
      } else return false;
      x.copy(rm, XMM_TMP);
      return true;
    }
    case 0xc4: // pinsrw xmm, r32/m16, imm8
      if (prefix !== 0x66) return false;
      x.u16[reg * 8 + (imm8 & 7)] = isReg ? bus.regs[rm] : bus.read16(linear);
      return true;
    case 0xc5: // pextrw r32, xmm, imm8
      if (prefix !== 0x66 || !isReg) return false;
      bus.regs[reg] = x.u16[rm * 8 + (imm8 & 7)];
      return true;
    case 0xf7: { // maskmovdqu xmm, xmm: `linear` is DS:rDI (the core computes it)
      if (prefix !== 0x66 || !isReg) return false;
      for (let i = 0; i < 16; i++) {
        if ((x.u8[rm * 16 + i] & 0x80) !== 0) bus.write8(linear + i, x.u8[reg * 16 + i]);
      }
      return true;
    }
    case 0xd7: { // pmovmskb r32, xmm
      if (prefix !== 0x66 || !isReg) return false;
      let m = 0;
      for (let i = 0; i < 16; i++) m |= (x.u8[rm * 16 + i] >> 7) << i;
      bus.regs[reg] = m;
      return true;
    }
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xe1:
    case 0xe2:
    case 0xf1:
    case 0xf2:
    case 0xf3: {
      if (prefix !== 0x66) return false;
      const s = isReg ? rm : loadMem(bus, x, linear, 16, true);
      const lo = x.u32[s * 4], hi = x.u32[s * 4 + 1];
      const count = hi !== 0 || lo > 64 ? 64 : lo;
      const kind = op2 < 0xe0 ? SH_SRL : op2 < 0xf0 ? SH_SRA : SH_SLL;
      const w = op2 & 3;
      shiftOp(x, kind, w === 1 ? 16 : w === 2 ? 32 : 64, reg, count);
      x.copy(reg, XMM_TMP);
      return true;
    }
  }
  if (prefix !== 0x66) return false;
  if (!((op2 >= 0x60 && op2 <= 0x6d) || (op2 >= 0x74 && op2 <= 0x76) || op2 >= 0xd4)) {
    return false;
  }
  const s = isReg ? rm : loadMem(bus, x, linear, 16, true);
  if (!intOp(x, op2, reg, s)) return false;
  x.copy(reg, XMM_TMP);
  return true;
}
