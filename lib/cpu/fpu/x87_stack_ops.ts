/**
 * x87 operations on the register stack (the register forms of D8..DF): arithmetic over
 * ST(i), compares, fcomi, fcmovcc, fxch, fst ST(i), the unary and two-operand ST(0)/ST(1)
 * functions, each with the stack-fault and masked-exception rules of the host.
 * @module
 */

import type { CpuBus } from "./bus.ts";
import {
  arith64,
  DEFAULT_NAN,
  EXC_IE,
  ieee,
  ieeeErr,
  OP_ADD,
  OP_DIV,
  OP_MUL,
  OP_SUB,
  quiet64,
  RC_NEAREST,
  roundIntegral,
  roundTo24,
  sqrt64,
} from "./ieee.ts";
import { compare, fpatan, fprem, fscale, fxtract, fyl2x, transcend, xtract } from "./x87_ops.ts";
import { SW_C1, SW_C2, type X87State } from "./x87_state.ts";

/** D8 reg field -> ieee op (2/3, the compares, never get here). */
const ARITH_OP = new Uint8Array([OP_ADD, OP_MUL, 0, 0, OP_SUB, OP_SUB, OP_DIV, OP_DIV]);

/** Rounds an arithmetic result to 24 bits (x87 precision control 00). */
function toPc24(st: X87State, op: number, a: number, b: number, r: number): number {
  if (r !== r || !isFinite(r)) return r;
  if (r === 0) {
    // an exact zero's sign depends on the rounding mode (x - x is -0 rounding down)
    return op === 0 || op === 4 || op === 5
      ? arith64(op === 0 ? OP_ADD : OP_SUB, op === 5 ? b : a, op === 5 ? a : b, st.rc, 1)
      : r;
  }
  return roundTo24(r, ieeeErr[0], st.rc);
}

/**
 * reg field of D8/DC/DA/DE: 0 add 1 mul 2 com 3 comp 4 sub 5 subr 6 div 7 divr;
 * `sa`/`sb` say whether a/b are signalling NaNs.
 */
export function arith(
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
  // precision control 00 (24 bits): round to nearest double first, then once to 24 bits
  const pc24 = (st.cw & 0x300) === 0;
  const rc = pc24 ? RC_NEAREST : st.rc;
  // one call site (keeps the doubles unboxed when inlined)
  let r = arith64(ARITH_OP[op], rev ? b : a, rev ? a : b, rc, 1);
  if (pc24) r = toPc24(st, op, a, b, r);
  if (st.takeIeee()) return false;
  st.set(dest, r);
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

/** dest = dest op src over the stack; `op` uses the D8 reg numbering for dest op src. */
export function regArith(st: X87State, op: number, dest: number, src: number, pop: boolean): void {
  if (!need(st, dest, src)) {
    if (st.underflow()) return;
    st.set(dest, DEFAULT_NAN);
  } else if (!arith(st, op, dest, st.get(dest), st.get(src), st.isSnan(dest), st.isSnan(src))) {
    return;
  }
  if (pop) st.pop();
}

/** fcom/fucom family on ST(0) and ST(i); pops `pops` times. */
export function regCompare(st: X87State, i: number, ordered: boolean, pops: number): void {
  if (!need(st, 0, i)) {
    if (st.underflow()) return;
    st.sw |= 0x4500;
  } else if (compare(st, st.get(0), st.get(i), ordered, st.isSnan(0) | st.isSnan(i)) < 0) return;
  while (pops-- > 0) st.pop();
}

/** fcomi/fucomi(p): EFLAGS from ST(0) vs ST(i). */
export function fcomi(bus: CpuBus, st: X87State, i: number, ordered: boolean, pop: boolean): void {
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
export function fcmov(bus: CpuBus, st: X87State, cc: number, negate: boolean, i: number): void {
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

/** fxch: swaps ST(0) and ST(i) (empty ones become the indefinite first). */
export function fxch(st: X87State, i: number): void {
  if (!need(st, 0, i)) {
    if (st.underflow()) return;
    if (st.isEmpty(0)) st.set(0, DEFAULT_NAN);
    if (st.isEmpty(i)) st.set(i, DEFAULT_NAN);
  } else st.sw &= ~SW_C1;
  st.swap(i);
}

/** fst/fstp ST(i). */
export function fstReg(st: X87State, i: number, pop: boolean): void {
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
export function unary(st: X87State, kind: number): void {
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
      if ((st.cw & 0x300) === 0) {
        r = sqrt64(v, RC_NEAREST);
        if (r === r && r !== 0 && isFinite(r)) r = roundTo24(r, ieeeErr[0], st.rc);
      } else r = sqrt64(v, st.rc);
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
export function binaryPop(st: X87State, kind: number): void {
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

/** fptan (push 1.0) and fsincos (ST(0) = sin, push cos). */
export function fptan(st: X87State, sincos: boolean): void {
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

/** fxtract: ST(0) <- exponent, then push the significand. */
export function fxtractOp(st: X87State): void {
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

/** fprem / fprem1 on ST(0) by ST(1). */
export function fpremOp(st: X87State, nearest: boolean): void {
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

/** fscale: ST(0) * 2^trunc(ST(1)). */
export function fscaleOp(st: X87State): void {
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
