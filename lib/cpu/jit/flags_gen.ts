/**
 * JavaScript expressions for the lazy flags of a producer known at compile time (the
 * `pa`/`pb`/`pr` locals of a compiled region hold its operands and unmasked result, as
 * LazyFlags.lf does). The rules are those of flags.ts (testCC's fast paths, getCF); any
 * condition not covered here returns null and the region calls testCC on the CPU instead.
 * @module
 */
import { LF_ADD, LF_DEC, LF_INC, LF_LOGIC, LF_SUB } from "../flags.ts";

/** A flag producer whose operands are still in the region's locals (not yet in the CPU). */
export interface Pending {
  /** LF_ADD / LF_SUB / LF_LOGIC / LF_INC / LF_DEC. */
  op: number;
  /** Operand size in bits. */
  sz: number;
}

function masked(v: string, sz: number): string {
  return sz === 32 ? `(${v} >>> 0)` : `(${v} & ${(1 << sz) - 1})`;
}

function zf(sz: number): string {
  return sz === 32 ? `pr === 0` : `(pr & ${(1 << sz) - 1}) === 0`;
}

function sf(sz: number): string {
  return `((pr >> ${sz - 1}) & 1) !== 0`;
}

/** CF of the pending producer as a 0/1 expression; null when CF is in `c.flags`. */
export function cfExpr(p: Pending): string | null {
  switch (p.op) {
    case LF_ADD:
      return `(${masked("pr", p.sz)} < ${masked("pa", p.sz)} ? 1 : 0)`;
    case LF_SUB:
      return `(${masked("pa", p.sz)} < ${masked("pb", p.sz)} ? 1 : 0)`;
    case LF_LOGIC:
      return "0";
    default: // LF_INC, LF_DEC keep CF in c.flags
      return null;
  }
}

/** Condition `cc` (0..15) of the pending producer, or null when it needs the full rules. */
export function condExpr(p: Pending, cc: number): string | null {
  const z = zf(p.sz), s = sf(p.sz);
  if (cc === 4) return z;
  if (cc === 5) return `!(${z})`;
  if (cc === 8) return s;
  if (cc === 9) return `!(${s})`;
  if (p.op === LF_LOGIC) {
    switch (cc) {
      case 0:
      case 2:
        return "false";
      case 1:
      case 3:
        return "true";
      case 6:
        return z;
      case 7:
        return `!(${z})`;
      case 12:
        return s;
      case 13:
        return `!(${s})`;
      case 14:
        return `(${z} || ${s})`;
      case 15:
        return `!(${z} || ${s})`;
    }
    return null;
  }
  if (p.op === LF_SUB) {
    const a = masked("pa", p.sz), b = masked("pb", p.sz);
    const sh = 32 - p.sz;
    const sa = sh === 0 ? "pa" : `(pa << ${sh})`, sb = sh === 0 ? "pb" : `(pb << ${sh})`;
    switch (cc) {
      case 2:
        return `${a} < ${b}`;
      case 3:
        return `${a} >= ${b}`;
      case 6:
        return `${a} <= ${b}`;
      case 7:
        return `${a} > ${b}`;
      case 12:
        return `${sa} < ${sb}`;
      case 13:
        return `${sa} >= ${sb}`;
      case 14:
        return `${sa} <= ${sb}`;
      case 15:
        return `${sa} > ${sb}`;
    }
    return null;
  }
  if (p.op === LF_ADD) {
    const cf = cfExpr(p);
    if (cc === 2) return `${cf} !== 0`;
    if (cc === 3) return `${cf} === 0`;
    return null;
  }
  if (p.op === LF_INC || p.op === LF_DEC) return null;
  return null;
}
