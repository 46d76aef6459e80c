/**
 * Bit instructions: bt/bts/btr/btc (the bit operation on a value), bsf/bsr, popcnt, and BCD
 * adjustments (daa das aaa aas aam aad) with their flags.
 * @module
 */

import {
  F_AF,
  F_CF,
  F_OF,
  F_PF,
  F_SF,
  F_ZF,
  getAF,
  getCF,
  type LazyFlags,
  materialize,
  PARITY,
  setArith,
  szp,
} from "../flags.ts";

/** bt-family operation (group 8 reg - 4): 0 bt, 1 bts, 2 btr, 3 btc. */
export function bitOp(c: LazyFlags, op: number, v: number, bit: number): number {
  const m = 1 << bit;
  const f = materialize(c);
  c.flags = (f & ~F_CF) | ((v & m) !== 0 ? 1 : 0);
  switch (op) {
    case 1:
      return v | m;
    case 2:
      return v & ~m;
    case 3:
      return v ^ m;
    default:
      return v;
  }
}

/**
 * bsf (forward) or bsr: returns the bit index, or -1 when the source is zero (ZF set,
 * destination unchanged, as Intel hosts leave it).
 */
export function bitScan(c: LazyFlags, v: number, sz: number, forward: boolean): number {
  const x = sz === 2 ? v & 0xffff : v;
  if (x === 0) {
    setArith(c, F_ZF | F_PF); // the AMD host's flags for a zero source
    return -1;
  }
  const r = forward ? 31 - Math.clz32(x & -x) : 31 - Math.clz32(x);
  setArith(c, szp(r, sz << 3) & ~F_ZF);
  return r;
}

/**
 * popcnt: the number of set bits of the low `sz` bytes of v. ZF is set when the source
 * is zero; CF OF SF AF PF are cleared (Intel SDM, POPCNT).
 */
export function popCount(c: LazyFlags, v: number, sz: number): number {
  let x = sz === 2 ? v & 0xffff : v;
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  const n = (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
  setArith(c, n === 0 ? F_ZF : 0);
  return n;
}

/** daa / das on AL (`sub` = das). */
export function decimalAdjust(c: LazyFlags & { r8: Uint8Array }, sub: boolean): void {
  const al = c.r8[0];
  const cf = getCF(c), af = getAF(c);
  let v = al, ncf = 0, naf = 0;
  if ((al & 0xf) > 9 || af) {
    v = sub ? v - 6 : v + 6;
    naf = 1;
    ncf = cf | (sub ? (al < 6 ? 1 : 0) : (v > 0xff ? 1 : 0));
  }
  if (al > 0x99 || cf) {
    v = sub ? v - 0x60 : v + 0x60;
    ncf = 1;
  }
  v &= 0xff;
  c.r8[0] = v;
  // OF is undefined; Intel hosts report the signed overflow of the adjustment.
  const of = sub ? ((al & ~v) >> 7) & 1 : ((~al & v) >> 7) & 1;
  setArith(c, ncf | (naf ? F_AF : 0) | szp(v, 8) | (of ? F_OF : 0));
}

/** aaa / aas on AX (`sub` = aas). */
export function asciiAdjust(
  c: LazyFlags & { r8: Uint8Array; r16: Uint16Array },
  sub: boolean,
): void {
  const ax = c.r16[0];
  const adj = (ax & 0xf) > 9 || getAF(c) ? 0x106 : 0;
  const t = sub ? ax - adj : ax + adj;
  const of = sub ? ((ax & ~t) >> 15) & 1 : ((~ax & t) >> 15) & 1;
  c.r16[0] = t & 0xff0f;
  const z = (t & 0xffff) === 0 ? F_ZF : 0;
  const sf = (t & 0x8000) !== 0 ? F_SF : 0;
  setArith(c, (adj ? F_CF | F_AF : 0) | z | sf | PARITY[t & 0xff] | (of << 11));
}

/** aam imm8: AH = AL / imm, AL = AL % imm (#DE for 0 is the caller's). */
export function aam(c: LazyFlags & { r8: Uint8Array }, imm: number): void {
  const al = c.r8[0];
  c.r8[1] = Math.floor(al / imm);
  c.r8[0] = al % imm;
  setArith(c, szp(c.r8[0], 8));
}

/** aad imm8: AL = AL + AH * imm, AH = 0; flags of the 8-bit add (the AMD host's). */
export function aad(c: LazyFlags & { r8: Uint8Array; r16: Uint16Array }, imm: number): void {
  const al = c.r8[0];
  const p = (c.r8[1] * imm) & 0xff;
  const v = al + p;
  c.r16[0] = v & 0xff;
  const of = ((~(al ^ p) & (al ^ v)) >> 7) & 1;
  setArith(c, (v > 0xff ? F_CF : 0) | ((al ^ p ^ v) & F_AF) | szp(v, 8) | (of << 11));
}
