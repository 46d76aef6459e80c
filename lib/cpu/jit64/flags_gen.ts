/**
 * Flag expressions for the 64-bit block compiler. A flag producer leaves its operands and
 * result in the region's locals fa0 fa1 (a), fb0 fb1 (b), fr0 fr1 (result), fc (carry in
 * of adc/sbb) and is known statically as a {@link Pend} until the next producer; the
 * EFLAGS value the region carries is the local `fl`. These functions give JavaScript
 * source: a condition from the pending producer (compares fold into one test), and the
 * statement that stores it in `fl` (where a reader outside the block, a fault or an exit
 * can see it). The semantics are those of lib/cpu/long/alu64.ts, bit for bit.
 * @module
 */

/** Pending producer kinds; P_DYN: the producer carried in from another block (`pk`). */
export const P_DYN = 0;
export const P_ADD = 1, P_SUB = 2, P_LOGIC = 3, P_INC = 4, P_DEC = 5, P_ADC = 6, P_SBB = 7;

/** A flag producer whose flags are not yet in `fl`. */
export interface Pend {
  kind: number;
  /** Operand size: 8, 32 or 64. */
  size: number;
}

const SUBLIKE = [false, false, true, false, false, true, false, true];

/** Unsigned x < y of 64-bit values given as halves (source). */
function ult64(x0: string, x1: string, y0: string, y1: string): string {
  return `((${x1} >>> 0) < (${y1} >>> 0) || (${x1} === ${y1} && (${x0} >>> 0) < (${y0} >>> 0)))`;
}

/** Unsigned a < b at the size (sources), for 8 and 32 bits. */
function ultN(size: number, x: string, y: string): string {
  return size === 8 ? `((${x} & 255) < (${y} & 255))` : `((${x} >>> 0) < (${y} >>> 0))`;
}

function eqN(size: number, x: string, y: string): string {
  return size === 8 ? `((${x} & 255) === (${y} & 255))` : `(${x} === ${y})`;
}

/** CF as a boolean expression. */
function cfBool(p: Pend): string {
  const s = p.size;
  switch (p.kind) {
    case P_LOGIC:
      return "false";
    case P_INC:
    case P_DEC:
      return "((fl & 1) !== 0)";
    case P_ADD:
      return s === 64 ? ult64("fr0", "fr1", "fa0", "fa1") : ultN(s, "fr0", "fa0");
    case P_SUB:
      return s === 64 ? ult64("fa0", "fa1", "fb0", "fb1") : ultN(s, "fa0", "fb0");
    case P_ADC:
      return s === 64
        ? `(${ult64("fr0", "fr1", "fa0", "fa1")} || (fc !== 0 && fr0 === fa0 && fr1 === fa1))`
        : `(${ultN(s, "fr0", "fa0")} || (fc !== 0 && ${eqN(s, "fr0", "fa0")}))`;
    default: // P_SBB
      return s === 64
        ? `(${ult64("fa0", "fa1", "fb0", "fb1")} || (fc !== 0 && fa0 === fb0 && fa1 === fb1))`
        : `(${ultN(s, "fa0", "fb0")} || (fc !== 0 && ${eqN(s, "fa0", "fb0")}))`;
  }
}

/** ZF as a boolean expression. */
function zfBool(p: Pend): string {
  return p.size === 64
    ? "((fr0 | fr1) === 0)"
    : p.size === 32
    ? "(fr0 === 0)"
    : "((fr0 & 255) === 0)";
}

/** The top word of the size ("0" or "1" half) and its sign bit position. */
function top(p: Pend): [string, number] {
  return p.size === 64 ? ["1", 31] : p.size === 32 ? ["0", 31] : ["0", 7];
}

/** SF as 0/1. */
function sfBit(p: Pend): string {
  const [h, b] = top(p);
  return b === 31 ? `(fr${h} >>> 31)` : `((fr${h} >> 7) & 1)`;
}

/** OF as 0/1. */
function ofBit(p: Pend): string {
  if (p.kind === P_LOGIC) return "0";
  const [h, b] = top(p);
  const x = SUBLIKE[p.kind]
    ? `((fa${h} ^ fb${h}) & (fa${h} ^ fr${h}))`
    : `((fa${h} ^ fr${h}) & (fb${h} ^ fr${h}))`;
  return b === 31 ? `(${x} >>> 31)` : `((${x} >> 7) & 1)`;
}

/** The `pk` code of a static producer (0: `fl` is current). */
export function pkCode(p: Pend | null): number {
  if (p === null) return 0;
  return p.kind | ((p.size === 8 ? 1 : p.size === 32 ? 2 : 3) << 3);
}

/** The statement storing producer `p` in `fl` (a call: materializing is off the hot path). */
export function materialize(p: Pend): string {
  const code = p.kind === P_DYN ? "pk" : String(pkCode(p));
  return `fl = flagsOf(${code}, fl, fa0, fa1, fb0, fb1, fr0, fr1, fc);`;
}

function staticMaterialize(p: Pend): string {
  const cf = p.kind === P_INC || p.kind === P_DEC ? "(fl & 1)" : `(${cfBool(p)} ? 1 : 0)`;
  const af = p.kind === P_LOGIC ? "" : " | ((fa0 ^ fb0 ^ fr0) & 16)";
  const of = p.kind === P_LOGIC ? "" : ` | (${ofBit(p)} << 11)`;
  return `fl = (fl & -2262) | ${cf} | PARITY[fr0 & 255]${af} | (${zfBool(p)} ? 64 : 0) | ` +
    `(${sfBit(p)} << 7)${of};`;
}

/** Condition `cc` (0..15) read from `fl`. */
function ccFl(cc: number): string {
  switch (cc >> 1) {
    case 0:
      return "(fl & 2048) !== 0";
    case 1:
      return "(fl & 1) !== 0";
    case 2:
      return "(fl & 64) !== 0";
    case 3:
      return "(fl & 65) !== 0";
    case 4:
      return "(fl & 128) !== 0";
    case 5:
      return "(fl & 4) !== 0";
    case 6:
      return "(((fl >> 7) ^ (fl >> 11)) & 1) !== 0";
    default:
      return "((fl & 64) !== 0 || (((fl >> 7) ^ (fl >> 11)) & 1) !== 0)";
  }
}

/** Signed a < b of a compare (P_SUB) at the size. */
function sltSub(s: number): string {
  if (s === 64) return "(fa1 < fb1 || (fa1 === fb1 && (fa0 >>> 0) < (fb0 >>> 0)))";
  if (s === 32) return "(fa0 < fb0)";
  return "(((fa0 << 24) >> 24) < ((fb0 << 24) >> 24))";
}

/** The positive condition (cc even) from producer `p`. */
function ccPend(p: Pend, cc: number): string {
  const cf = cfBool(p), zf = zfBool(p);
  const sf = `(${sfBit(p)} !== 0)`, of = `(${ofBit(p)} !== 0)`;
  const lt = p.kind === P_SUB ? sltSub(p.size) : p.kind === P_LOGIC ? sf : `(${sf} !== ${of})`;
  switch (cc >> 1) {
    case 0:
      return of;
    case 1:
      return cf;
    case 2:
      return zf;
    case 3:
      return `(${cf} || ${zf})`;
    case 4:
      return sf;
    case 5:
      return "(PARITY[fr0 & 255] !== 0)";
    case 6:
      return lt;
    default:
      return `(${zf} || ${lt})`;
  }
}

/** Condition `cc` as a boolean expression, from the pending producer or `fl`. */
export function condExpr(p: Pend | null, cc: number): string {
  const e = p === null ? `(${ccFl(cc)})` : ccPend(p, cc);
  return (cc & 1) !== 0 ? `!${e}` : e;
}

/** CF as a 0/1 expression, from the pending producer or `fl`. */
export function cfExpr(p: Pend | null): string {
  if (p === null || p.kind === P_INC || p.kind === P_DEC) return "(fl & 1)";
  return `(${cfBool(p)} ? 1 : 0)`;
}

/** EFLAGS from a carried producer: `pk` (see {@link pkCode}), the flags and its operands. */
export type FlagsOf = (
  pk: number,
  fl: number,
  fa0: number,
  fa1: number,
  fb0: number,
  fb1: number,
  fr0: number,
  fr1: number,
  fc: number,
) => number;

/** Builds {@link FlagsOf} from the same expressions the regions use inline. */
export function makeFlagsOf(parity: Uint8Array): FlagsOf {
  const cases: string[] = [];
  for (let kind = P_ADD; kind <= P_SBB; kind++) {
    for (const size of [8, 32, 64]) {
      const p = { kind, size };
      cases.push(`case ${pkCode(p)}: ${staticMaterialize(p)} return fl;`);
    }
  }
  return new Function(
    "PARITY",
    `"use strict"; return function flagsOf(pk, fl, fa0, fa1, fb0, fb1, fr0, fr1, fc) {
switch (pk) {\n${cases.join("\n")}\n}\nreturn fl;\n};`,
  )(parity) as FlagsOf;
}
