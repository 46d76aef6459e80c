/**
 * Arithmetic and logic at 8, 16, 32 and 64 bits on int32 halves, with EFLAGS computed
 * eagerly (the 64-bit path keeps `lfOp` at LF_NONE). The result goes to {@link R}.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { ALU_ADC, ALU_AND, ALU_CMP, ALU_OR, ALU_SBB, ALU_SUB, ALU_XOR } from "../ops/alu.ts";
import { F_AF, F_ARITH, F_CF, F_OF, F_SF, F_ZF, LF_NONE, materialize, PARITY } from "../flags.ts";

/** inc and dec, after the eight ALU_* operations of ops/alu.ts (encoding order). */
export const ALU_INC = 8, ALU_DEC = 9;

/** The result: [lo, hi] (hi is 0 below 64 bits; lo is zero-extended to the size). */
export const R: Int32Array = new Int32Array(2);

/** Mask of a size below 64 (as an unsigned number). */
function maskOf(size: number): number {
  return size === 32 ? 0xffffffff : size === 16 ? 0xffff : 0xff;
}

/**
 * Computes `a op b` at `size` bits, sets the arithmetic flags of `c` and leaves the
 * result in {@link R} (cmp computes it too; callers skip the write-back).
 */
export function alu(
  c: CpuCore,
  op: number,
  size: number,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
): void {
  const wide = size === 64;
  const m = wide ? 0xffffffff : maskOf(size);
  const al = (aLo & m) >>> 0, bl = (bLo & m) >>> 0;
  const ah = wide ? aHi >>> 0 : 0, bh = wide ? bHi >>> 0 : 0;
  let fl = c.flags;
  if (c.lfOp !== LF_NONE) {
    fl = materialize(c);
    c.lfOp = LF_NONE;
  }
  const cin = (op === ALU_ADC || op === ALU_SBB) ? fl & F_CF : 0;
  let rl = 0, rh = 0, cf = 0, of = 0, af = 0;
  switch (op) {
    case ALU_OR:
      rl = (al | bl) >>> 0;
      rh = (ah | bh) >>> 0;
      break;
    case ALU_AND:
      rl = (al & bl) >>> 0;
      rh = (ah & bh) >>> 0;
      break;
    case ALU_XOR:
      rl = (al ^ bl) >>> 0;
      rh = (ah ^ bh) >>> 0;
      break;
    default: {
      const isSub = op === ALU_SUB || op === ALU_SBB || op === ALU_CMP || op === ALU_DEC;
      const b1 = op === ALU_INC || op === ALU_DEC ? 1 : bl, b2 = op >= ALU_INC ? 0 : bh;
      if (wide) {
        if (isSub) {
          const sl = al - b1 - cin;
          const borrow = sl < 0 ? 1 : 0;
          rl = sl >>> 0;
          const sh = ah - b2 - borrow;
          cf = sh < 0 ? 1 : 0;
          rh = sh >>> 0;
        } else {
          const sl = al + b1 + cin;
          const carry = sl > 0xffffffff ? 1 : 0;
          rl = sl >>> 0;
          const sh = ah + b2 + carry;
          cf = sh > 0xffffffff ? 1 : 0;
          rh = sh >>> 0;
        }
      } else {
        const s = isSub ? al - b1 - cin : al + b1 + cin;
        cf = s < 0 || s > m ? 1 : 0;
        rl = (s & m) >>> 0;
      }
      const sa = wide ? ah >>> 31 : (al >>> (size - 1)) & 1;
      const sb = wide ? b2 >>> 31 : (b1 >>> (size - 1)) & 1;
      const sr = wide ? rh >>> 31 : (rl >>> (size - 1)) & 1;
      of = isSub ? (sa !== sb && sr !== sa ? 1 : 0) : (sa === sb && sr !== sa ? 1 : 0);
      af = (al ^ b1 ^ rl) & 0x10;
      if (op >= ALU_INC) cf = fl & F_CF;
    }
  }
  const sign = wide ? rh >>> 31 : (rl >>> (size - 1)) & 1;
  fl &= ~F_ARITH;
  if (cf) fl |= F_CF;
  if (of) fl |= F_OF;
  if (af) fl |= F_AF;
  if (sign) fl |= F_SF;
  if (rl === 0 && rh === 0) fl |= F_ZF;
  fl |= PARITY[rl & 0xff];
  c.flags = fl;
  R[0] = rl | 0;
  R[1] = rh | 0;
}
