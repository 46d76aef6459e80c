/**
 * The 64-bit block compiler's runtime helpers against BigInt arithmetic: imul64's low
 * product and overflow (imul's CF/OF) on edge and random operands.
 * @module
 */

import assert from "node:assert/strict";
import { IM, imul64 } from "../../../lib/cpu/jit64/runtime.ts";

function big(lo: number, hi: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

Deno.test("jit64: imul64 = BigInt's signed product (low 64 bits, overflow)", () => {
  const edge = [0, 1, -1, 0x7fffffff, -0x80000000, 2, 3, 0x10000, 0xffff];
  const vals: [number, number][] = [];
  for (const lo of edge) for (const hi of edge) vals.push([lo | 0, hi | 0]);
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) | 0);
  for (let i = 0; i < 200; i++) vals.push([rnd(), i % 3 === 0 ? rnd() >> 20 : rnd()]);
  for (const [a0, a1] of vals) {
    for (const [b0, b1] of vals.slice(0, 60)) {
      const p = big(a0, a1) * big(b0, b1);
      const ov = imul64(a0, a1, b0, b1);
      const low = BigInt.asIntN(64, p);
      assert.equal(big(IM[0], IM[1]), low, `${a0},${a1} * ${b0},${b1}`);
      assert.equal(ov, low === p ? 0 : 1, `overflow of ${a0},${a1} * ${b0},${b1}`);
    }
  }
});
