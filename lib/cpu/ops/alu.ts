/**
 * Integer ALU semantics: add/or/adc/sbb/and/sub/xor/cmp, inc/dec, neg, with their flags
 * (lazy for the common ones). Operands are size-`sz`-bit values (upper bits ignored).
 * @module
 */

import {
  F_AF,
  F_CF,
  getCF,
  type LazyFlags,
  LF_ADD,
  LF_DEC,
  LF_INC,
  LF_LOGIC,
  LF_SUB,
  materialize,
  setArith,
  szp,
} from "../flags.ts";

/** ALU operation numbers (ModRM reg field of group 1, and opcode bits 3..5). */
export const ALU_ADD = 0, ALU_OR = 1, ALU_ADC = 2, ALU_SBB = 3;
export const ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7;

function lazy(c: LazyFlags, op: number, a: number, b: number, r: number, bits: number): void {
  c.lfOp = op;
  const lf = c.lf;
  lf[0] = a;
  lf[1] = b;
  lf[2] = r;
  c.lfSz = bits;
}

/**
 * Performs ALU operation `op` on a and b of `sz` bytes and sets the flags.
 * @returns the result (for CMP, the subtraction result, which the caller discards)
 */
export function alu(c: LazyFlags, op: number, a: number, b: number, sz: number): number {
  const bits = sz << 3;
  let r: number;
  switch (op) {
    case 0: // ALU_ADD
      r = (a + b) | 0;
      lazy(c, LF_ADD, a, b, r, bits);
      return r;
    case 1: // ALU_OR
      r = a | b;
      lazy(c, LF_LOGIC, a, b, r, bits);
      return r;
    case 4: // ALU_AND
      r = a & b;
      lazy(c, LF_LOGIC, a, b, r, bits);
      return r;
    case 6: // ALU_XOR
      r = a ^ b;
      lazy(c, LF_LOGIC, a, b, r, bits);
      return r;
    case 5: // ALU_SUB
    case 7: // ALU_CMP
      r = (a - b) | 0;
      lazy(c, LF_SUB, a, b, r, bits);
      return r;
    case 2: // ALU_ADC
      return adc(c, a, b, bits);
    default:
      return sbb(c, a, b, bits);
  }
}

function adc(c: LazyFlags, a: number, b: number, bits: number): number {
  const cin = getCF(c);
  const r = (a + b + cin) | 0;
  let cf: number;
  if (bits === 32) cf = (a >>> 0) + (b >>> 0) + cin > 0xffffffff ? 1 : 0;
  else {
    const m = (1 << bits) - 1;
    cf = (a & m) + (b & m) + cin > m ? 1 : 0;
  }
  const of = (((a ^ r) & (b ^ r)) >> (bits - 1)) & 1;
  setArith(c, cf | (of << 11) | ((a ^ b ^ r) & F_AF) | szp(r, bits));
  return r;
}

function sbb(c: LazyFlags, a: number, b: number, bits: number): number {
  const cin = getCF(c);
  const r = (a - b - cin) | 0;
  let cf: number;
  if (bits === 32) cf = (a >>> 0) < (b >>> 0) + cin ? 1 : 0;
  else {
    const m = (1 << bits) - 1;
    cf = (a & m) < (b & m) + cin ? 1 : 0;
  }
  const of = (((a ^ b) & (a ^ r)) >> (bits - 1)) & 1;
  setArith(c, cf | (of << 11) | ((a ^ b ^ r) & F_AF) | szp(r, bits));
  return r;
}

/** inc: CF is kept. */
export function inc(c: LazyFlags, a: number, sz: number): number {
  const cf = getCF(c);
  c.flags = (c.flags & ~F_CF) | cf;
  const r = (a + 1) | 0;
  lazy(c, LF_INC, a, 1, r, sz << 3);
  return r;
}

/** dec: CF is kept. */
export function dec(c: LazyFlags, a: number, sz: number): number {
  const cf = getCF(c);
  c.flags = (c.flags & ~F_CF) | cf;
  const r = (a - 1) | 0;
  lazy(c, LF_DEC, a, 1, r, sz << 3);
  return r;
}

/** neg: 0 - a; CF = (a != 0). */
export function neg(c: LazyFlags, a: number, sz: number): number {
  const r = (0 - a) | 0;
  lazy(c, LF_SUB, 0, a, r, sz << 3);
  return r;
}

/** Sets flags as `test a, b` does. */
export function test(c: LazyFlags, a: number, b: number, sz: number): void {
  lazy(c, LF_LOGIC, a, b, a & b, sz << 3);
}

/** Complements CF (cmc) / sets it (stc) / clears it (clc): `mode` 0 clear, 1 set, 2 flip. */
export function setCarry(c: LazyFlags, mode: number): void {
  const f = materialize(c);
  c.flags = mode === 0 ? f & ~F_CF : mode === 1 ? f | F_CF : f ^ F_CF;
}
