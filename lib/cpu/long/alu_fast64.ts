/**
 * The ALU of the 64-bit fast loop (fast64.ts): add or adc sbb and sub xor cmp and test
 * at 32 and 64 bits with the flags computed eagerly and inline (the same values as
 * alu64.ts's `alu`, which adc/sbb and the 8-bit forms still use), and inc/dec.
 * Results: the low half is returned, the high half left in {@link R}[1].
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_AF, F_ARITH, F_CF, F_OF, F_PF, F_SF, F_ZF, PARITY } from "../flags.ts";
import { alu, ALU_DEC, ALU_INC, R } from "./alu64.ts";

/** Operation numbers: the ALU group's (0..7) and test. */
export const F64_ADD = 0, F64_OR = 1, F64_ADC = 2, F64_SBB = 3, F64_AND = 4, F64_SUB = 5;
export const F64_XOR = 6, F64_CMP = 7, F64_TEST = 8;

/** `a op b` at 32 bits (op 0..8); sets the flags, returns the result (R[1] = 0). */
export function alu32(c: CpuCore, op: number, a: number, b: number): number {
  let r = 0;
  switch (op) {
    case F64_ADD:
      r = (a + b) | 0;
      c.flags =
        ((c.flags & ~F_ARITH) | ((r >>> 24) & 0x80) | (r === 0 ? 0x40 : 0) | PARITY[r & 0xff]) |
        ((r >>> 0) < (a >>> 0) ? F_CF : 0) |
        ((((a ^ r) & (b ^ r)) >>> 20) & F_OF) | ((a ^ b ^ r) & 0x10);
      break;
    case F64_SUB:
    case F64_CMP:
      r = (a - b) | 0;
      c.flags =
        ((c.flags & ~F_ARITH) | ((r >>> 24) & 0x80) | (r === 0 ? 0x40 : 0) | PARITY[r & 0xff]) |
        ((a >>> 0) < (b >>> 0) ? F_CF : 0) |
        ((((a ^ b) & (a ^ r)) >>> 20) & F_OF) | ((a ^ b ^ r) & 0x10);
      break;
    case F64_AND:
    case F64_TEST:
      r = a & b;
      c.flags = (c.flags & ~F_ARITH) | ((r >>> 24) & 0x80) | (r === 0 ? 0x40 : 0) |
        PARITY[r & 0xff];
      break;
    case F64_OR:
      r = a | b;
      c.flags = (c.flags & ~F_ARITH) | ((r >>> 24) & 0x80) | (r === 0 ? 0x40 : 0) |
        PARITY[r & 0xff];
      break;
    case F64_XOR:
      r = a ^ b;
      c.flags = (c.flags & ~F_ARITH) | ((r >>> 24) & 0x80) | (r === 0 ? 0x40 : 0) |
        PARITY[r & 0xff];
      break;
    default:
      alu(c, op, 32, a, 0, b, 0);
      return R[0];
  }
  R[1] = 0;
  return r;
}

/** `a op b` at 64 bits (op 0..8); sets the flags, returns the low half (high in R[1]). */
export function alu64(
  c: CpuCore,
  op: number,
  al: number,
  ah: number,
  bl: number,
  bh: number,
): number {
  let rl = 0, rh = 0;
  switch (op) {
    case F64_ADD: {
      rl = (al + bl) | 0;
      const carry = (rl >>> 0) < (al >>> 0) ? 1 : 0;
      rh = (ah + bh + carry) | 0;
      const cf = carry !== 0 ? (rh >>> 0) <= (ah >>> 0) : (rh >>> 0) < (ah >>> 0);
      c.flags = ((c.flags & ~F_ARITH) | ((rh >>> 24) & 0x80) | ((rl | rh) === 0 ? 0x40 : 0) |
        PARITY[rl & 0xff]) |
        (cf ? F_CF : 0) | ((((ah ^ rh) & (bh ^ rh)) >>> 20) & F_OF) |
        ((al ^ bl ^ rl) & 0x10);
      break;
    }
    case F64_SUB:
    case F64_CMP: {
      rl = (al - bl) | 0;
      const borrow = (al >>> 0) < (bl >>> 0) ? 1 : 0;
      rh = (ah - bh - borrow) | 0;
      const cf = borrow !== 0 ? (ah >>> 0) <= (bh >>> 0) : (ah >>> 0) < (bh >>> 0);
      c.flags = ((c.flags & ~F_ARITH) | ((rh >>> 24) & 0x80) | ((rl | rh) === 0 ? 0x40 : 0) |
        PARITY[rl & 0xff]) |
        (cf ? F_CF : 0) | ((((ah ^ bh) & (ah ^ rh)) >>> 20) & F_OF) |
        ((al ^ bl ^ rl) & 0x10);
      break;
    }
    case F64_AND:
    case F64_TEST:
      rl = al & bl;
      rh = ah & bh;
      c.flags = (c.flags & ~F_ARITH) | ((rh >>> 24) & 0x80) | ((rl | rh) === 0 ? 0x40 : 0) |
        PARITY[rl & 0xff];
      break;
    case F64_OR:
      rl = al | bl;
      rh = ah | bh;
      c.flags = (c.flags & ~F_ARITH) | ((rh >>> 24) & 0x80) | ((rl | rh) === 0 ? 0x40 : 0) |
        PARITY[rl & 0xff];
      break;
    case F64_XOR:
      rl = al ^ bl;
      rh = ah ^ bh;
      c.flags = (c.flags & ~F_ARITH) | ((rh >>> 24) & 0x80) | ((rl | rh) === 0 ? 0x40 : 0) |
        PARITY[rl & 0xff];
      break;
    default:
      alu(c, op, 64, al, ah, bl, bh);
      return R[0];
  }
  R[1] = rh;
  return rl;
}

/** `a op b` at 8 bits through alu64.ts (test as and); returns the result. */
export function alu8(c: CpuCore, op: number, a: number, b: number): number {
  alu(c, op === F64_TEST ? F64_AND : op, 8, a, 0, b, 0);
  return R[0];
}

/** inc (`delta` 1) or dec (-1) at 32 or 64 bits: CF kept; returns the low half (high in R[1]). */
export function incDec(c: CpuCore, delta: number, size: number, lo: number, hi: number): number {
  if (size === 8) {
    alu(c, delta > 0 ? ALU_INC : ALU_DEC, 8, lo, 0, 0, 0);
    return R[0];
  }
  const rl = (lo + delta) | 0;
  let rh = 0, of = 0;
  const keep = c.flags & (~F_ARITH | F_CF);
  if (size === 64) {
    rh = delta > 0 ? (rl === 0 ? (hi + 1) | 0 : hi) : (lo === 0 ? (hi - 1) | 0 : hi);
    if (delta > 0) of = rh === (0x80000000 | 0) && rl === 0 ? F_OF : 0;
    else of = rh === 0x7fffffff && rl === -1 ? F_OF : 0;
    c.flags = keep | ((rh >>> 24) & 0x80) | ((rl | rh) === 0 ? 0x40 : 0) | PARITY[rl & 0xff] |
      of | ((lo ^ rl) & 0x10);
  } else {
    if (delta > 0) of = rl === (0x80000000 | 0) ? F_OF : 0;
    else of = rl === 0x7fffffff ? F_OF : 0;
    c.flags = keep | ((rl >>> 24) & 0x80) | (rl === 0 ? 0x40 : 0) | PARITY[rl & 0xff] | of |
      ((lo ^ rl) & 0x10);
  }
  R[1] = rh;
  return rl;
}

/**
 * shl/sal (op 4, 6), shr (5), sar (7) of a 32-bit value by `n` (1..31): the flags as
 * shift64.ts sets them (OF from the result for every count, AF set); returns the result.
 */
export function shift32(c: CpuCore, op: number, v: number, n: number): number {
  let r = 0, cf = 0, of = 0;
  if (op === 5 || op === 7) {
    r = op === 5 ? v >>> n : v >> n;
    cf = (v >>> (n - 1)) & 1;
    of = ((r >>> 31) ^ (r >>> 30)) & 1;
  } else {
    r = v << n;
    cf = (v >>> (32 - n)) & 1;
    of = (r >>> 31) ^ cf;
  }
  r |= 0;
  c.flags = (c.flags & ~(F_CF | F_OF | F_SF | F_ZF | F_PF)) | F_AF | cf | (of << 11) |
    ((r >>> 24) & F_SF) | (r === 0 ? F_ZF : 0) | PARITY[r & 0xff];
  return r;
}

/**
 * shl/sal (op 4, 6), shr (5), sar (7) of a 64-bit value by `n` (1..63), flags as
 * {@link shift32}; returns the low half, the high half in R[1].
 */
export function shift64(c: CpuCore, op: number, lo: number, hi: number, n: number): number {
  let rl = 0, rh = 0, cf = 0, of = 0;
  if (op === 5 || op === 7) {
    const arith = op === 7;
    if (n < 32) {
      rl = (lo >>> n) | (hi << (32 - n));
      rh = arith ? hi >> n : hi >>> n;
      cf = (lo >>> (n - 1)) & 1;
    } else {
      rl = arith ? hi >> (n - 32) : hi >>> (n - 32);
      rh = arith ? hi >> 31 : 0;
      cf = n === 32 ? lo >>> 31 : (hi >>> (n - 33)) & 1;
    }
    of = ((rh >>> 31) ^ (rh >>> 30)) & 1;
  } else {
    if (n < 32) {
      rl = lo << n;
      rh = (hi << n) | (lo >>> (32 - n));
      cf = (hi >>> (32 - n)) & 1;
    } else {
      rh = lo << (n - 32);
      cf = n === 32 ? hi & 1 : (lo >>> (64 - n)) & 1;
    }
    of = (rh >>> 31) ^ cf;
  }
  rl |= 0;
  rh |= 0;
  c.flags = (c.flags & ~(F_CF | F_OF | F_SF | F_ZF | F_PF)) | F_AF | cf | (of << 11) |
    ((rh >>> 24) & F_SF) | ((rl | rh) === 0 ? F_ZF : 0) | PARITY[rl & 0xff];
  R[1] = rh;
  return rl;
}
