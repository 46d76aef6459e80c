/**
 * Flags per instruction group: table cases with known results, and the lazy flags
 * (materialised on read) against an eager model on random operands.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { alu, dec, inc, neg } from "../../../lib/cpu/ops/alu.ts";
import { shift } from "../../../lib/cpu/ops/shift.ts";
import { bitScan } from "../../../lib/cpu/ops/bit.ts";
import { type LazyFlags, materialize, PARITY, testCC } from "../../../lib/cpu/flags.ts";

function state(flags = 2): LazyFlags {
  return { flags, lfOp: 0, lf: new Int32Array(3), lfSz: 32 };
}

const ARITH = 0x8d5;

Deno.test("alu() sets the six status flags per operation and size", async (t) => {
  // [name, op, a, b, size, result, eflags & ARITH]
  const rows: [string, number, number, number, number, number, number][] = [
    ["add 32 signed overflow", 0, 0x7fffffff, 1, 4, 0x80000000 | 0, 0x800 | 0x80 | 0x10 | 0x4],
    ["add 32 carry to zero", 0, -1, 1, 4, 0, 0x1 | 0x40 | 0x10 | 0x4],
    ["add 8 carry", 0, 0xff, 0x01, 1, 0x100, 0x1 | 0x40 | 0x10 | 0x4],
    ["add 16 no flags", 0, 0x1200, 0x0034, 2, 0x1234, 0],
    ["sub 32 borrow", 5, 0, 1, 4, -1, 0x1 | 0x80 | 0x10 | 0x4],
    ["sub 8 signed overflow", 5, 0x80, 0x01, 1, 0x7f, 0x800 | 0x10],
    ["cmp equal", 7, 1234, 1234, 4, 0, 0x40 | 0x4],
    ["and clears CF and OF", 4, 0xf0, 0x0f, 1, 0, 0x40 | 0x4],
    ["xor sign", 6, 0x80000000 | 0, 0, 4, 0x80000000 | 0, 0x80 | 0x4],
    ["or parity odd", 1, 1, 0, 1, 1, 0],
  ];
  for (const [name, op, a, b, sz, res, fl] of rows) {
    await t.step(name, () => {
      const c = state();
      const r = alu(c, op, a, b, sz);
      const m = sz === 4 ? -1 : (1 << (sz * 8)) - 1;
      assert.equal(r & m, res & m);
      assert.equal(materialize(c) & ARITH, fl);
    });
  }
  await t.step("adc and sbb use the carry", () => {
    const c = state(3);
    assert.equal(alu(c, 2, 1, 1, 4), 3);
    assert.equal(materialize(c) & 1, 0);
    const d = state(3);
    assert.equal(alu(d, 3, 0, 0, 1) & 0xff, 0xff);
    assert.equal(materialize(d) & 1, 1);
  });
  await t.step("inc and dec keep CF", () => {
    const c = state(3);
    inc(c, 0x7fffffff, 4);
    assert.equal(materialize(c) & ARITH, 0x1 | 0x800 | 0x80 | 0x10 | 0x4);
    dec(c, 1, 4);
    assert.equal(materialize(c) & ARITH, 0x1 | 0x40 | 0x4);
  });
  await t.step("neg sets CF unless the operand is 0", () => {
    const c = state();
    neg(c, 0, 4);
    assert.equal(materialize(c) & 1, 0);
    neg(c, 5, 1);
    assert.equal(materialize(c) & 1, 1);
  });
});

Deno.test("shift() leaves flags alone for a zero count and sets CF from the last bit out", () => {
  const c = state(0x8d5 | 2);
  assert.equal(shift(c, 4, 0x1234, 32, 4), 0x1234);
  assert.equal(materialize(c) & ARITH, 0x8d5);
  assert.equal(shift(c, 4, 0x80000001 | 0, 1, 4) >>> 0, 2);
  assert.equal(materialize(c) & 0x801, 0x801);
  assert.equal(shift(c, 7, 0x80, 3, 1), 0xf0);
  assert.equal(materialize(c) & 1, 0);
  assert.equal(shift(c, 0, 0x81, 1, 1), 0x03); // rol
  assert.equal(materialize(c) & 0x801, 0x801);
});

Deno.test("bitScan() sets ZF for a zero source and returns -1", () => {
  const c = state();
  assert.equal(bitScan(c, 0, 4, true), -1);
  assert.equal(materialize(c) & 0x40, 0x40);
  assert.equal(bitScan(c, 0x80, 4, false), 7);
  assert.equal(materialize(c) & 0x40, 0);
});

/** Eager reference for add/sub/logic flags. */
function eager(op: number, a: number, b: number, bits: number): number {
  const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const ua = (a & m) >>> 0, ub = (b & m) >>> 0;
  let r: number, cf = 0, of = 0, af = 0;
  const sign = 2 ** (bits - 1);
  if (op === 0) {
    r = ua + ub;
    cf = r > m ? 1 : 0;
    r = r % (m + 1);
    of = ((ua >= sign) === (ub >= sign)) && ((r >= sign) !== (ua >= sign)) ? 1 : 0;
    af = ((ua ^ ub ^ r) & 0x10) ? 1 : 0;
  } else if (op === 5) {
    r = (ua - ub + (m + 1)) % (m + 1);
    cf = ua < ub ? 1 : 0;
    of = ((ua >= sign) !== (ub >= sign)) && ((r >= sign) !== (ua >= sign)) ? 1 : 0;
    af = ((ua ^ ub ^ r) & 0x10) ? 1 : 0;
  } else r = (op === 4 ? ua & ub : op === 1 ? ua | ub : ua ^ ub) >>> 0;
  return cf | (PARITY[r & 0xff]) | (af << 4) | (r === 0 ? 0x40 : 0) | (r >= sign ? 0x80 : 0) |
    (of << 11);
}

Deno.test("lazy flags and testCC() agree with an eager model for random operands", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 4, 5, 6),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.constantFrom(1, 2, 4),
      fc.integer({ min: 0, max: 15 }),
      (op, a, b, sz, cc) => {
        const c = state();
        alu(c, op, a, b, sz);
        const want = eager(op, a, b, sz * 8);
        const viaCC = testCC(c, cc);
        assert.equal(materialize(c) & ARITH, want);
        const e = state(want | 2);
        assert.equal(testCC(e, cc), viaCC);
      },
    ),
    { numRuns: Deno.env.get("PVX_FUZZ") === "full" ? 200000 : 5000 },
  );
});
