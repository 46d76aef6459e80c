/**
 * imul r, r/m (0F AF) and imul r, r/m, imm (69, 6B) at 32 and 64 bits for the 64-bit fast
 * loop: the product of muldiv64.ts (64-bit operands) or of int32 arithmetic, CF = OF =
 * "the signed product does not fit", SF ZF AF PF kept (as muldivop64.ts, after the host).
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_CF, F_OF } from "../flags.ts";
import { mul128, P } from "./muldiv64.ts";
import { IMUL_IMM, IMUL_MEM } from "./decode_fast64.ts";
import { ea, GL, load, vHi } from "./mem_fast64.ts";

/**
 * Runs a K64_IMUL record: destination `a`, source register or packed operand `b` with
 * displacement `d`, immediate `imm`, `j` = size | IMUL_IMM | IMUL_MEM.
 */
export function imul(
  c: CpuCore,
  a: number,
  b: number,
  d: number,
  imm: number,
  j: number,
  len: number,
): void {
  const size = j & 0xff;
  let sl = 0, sh = 0;
  if ((j & IMUL_MEM) !== 0) {
    ea(c, b, d, len);
    sl = load(c, size >> 3, b);
    sh = vHi;
  } else {
    sl = GL[b];
    sh = c.lm.hi[b];
  }
  let ml = imm, mh = imm >> 31;
  if ((j & IMUL_IMM) === 0) {
    ml = GL[a];
    mh = c.lm.hi[a];
  }
  let over = false;
  if (size === 32) {
    const lo = Math.imul(sl, ml);
    over = sl * ml !== lo; // the double product is exact whenever it fits in int32
    GL[a] = lo;
    c.lm.hi[a] = 0;
  } else {
    mul128(sl, sh, ml, mh, true);
    const ext = P[1] >> 31;
    over = P[2] !== ext || P[3] !== ext;
    GL[a] = P[0];
    c.lm.hi[a] = P[1];
  }
  c.flags = (c.flags & ~(F_CF | F_OF)) | (over ? F_CF | F_OF : 0);
}
