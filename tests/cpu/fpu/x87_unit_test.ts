/**
 * Targeted and property tests of the x87 unit: 80-bit conversions, save/restore round
 * trips, #MF on a pending unmasked exception, #UD for reserved encodings, and arithmetic
 * against JS doubles under round-to-nearest.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { doubleToF80, f80Out, f80ToDouble } from "../../../lib/cpu/fpu/f80.ts";
import { x87Execute, x87Fwait } from "../../../lib/cpu/fpu/x87_execute.ts";
import { fnsave, frstor, writeM64 } from "../../../lib/cpu/fpu/x87_memory.ts";
import { X87State } from "../../../lib/cpu/fpu/x87_state.ts";
import { FakeBus, RaisedException, SCRATCH } from "../host/fake_bus.ts";
import { MEM_BASE } from "../host/vectors.ts";

const RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 100_000 : 2_000;

/** A finite or special double, including NaNs with payloads (bits-based). */
const anyDouble = fc.tuple(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0, max: 0xffffffff }),
)
  .map(([lo, hi]) => {
    const b = new Uint32Array([lo, hi]);
    return new Float64Array(b.buffer)[0];
  });

Deno.test("doubleToF80() and f80ToDouble() round-trip every non-NaN double", () => {
  fc.assert(
    fc.property(anyDouble, (v) => {
      fc.pre(v === v);
      doubleToF80(v);
      const back = f80ToDouble(f80Out[0], f80Out[1], f80Out[2]);
      assert.ok(Object.is(back, v), `${v} -> ${back}`);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("f80ToDouble() reads 1.0, -2.5 and the x87 indefinite", () => {
  assert.equal(f80ToDouble(0, 0x80000000, 0x3fff), 1);
  assert.equal(f80ToDouble(0, 0xa0000000, 0xc000), -2.5);
  const nan = f80ToDouble(0, 0xc0000000, 0xffff);
  assert.ok(Number.isNaN(nan));
});

Deno.test("fnsave() then frstor() restores every register, tag and control field", () => {
  const bus = new FakeBus();
  fc.assert(
    fc.property(
      fc.array(anyDouble, { minLength: 8, maxLength: 8 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 7 }),
      fc.integer({ min: 0, max: 3 }),
      (vals, emptyMask, top, rc) => {
        const st = new X87State();
        st.top = top;
        st.cw = 0x027f | (rc << 10);
        for (let p = 0; p < 8; p++) {
          st.regs[p] = vals[p];
          st.empty[p] = (emptyMask >> p) & 1;
        }
        fnsave(bus, st, SCRATCH);
        const first = bus.view(SCRATCH, 108).slice();
        assert.equal(st.cw, 0x037f, "fnsave reinitialises");
        const st2 = new X87State();
        frstor(bus, st2, SCRATCH);
        fnsave(bus, st2, SCRATCH + 256);
        assert.deepEqual(bus.view(SCRATCH + 256, 108), first);
      },
    ),
    { numRuns: RUNS / 10 },
  );
});

Deno.test("x87Execute() adds, subtracts, multiplies and divides as IEEE doubles", () => {
  const bus = new FakeBus();
  const st = new X87State();
  const ops: [number, (a: number, b: number) => number][] = [
    [0xc1, (a, b) => a + b], // fadd st0, st1
    [0xc9, (a, b) => a * b], // fmul
    [0xe1, (a, b) => a - b], // fsub
    [0xe9, (a, b) => b - a], // fsubr
    [0xf1, (a, b) => a / b], // fdiv
    [0xf9, (a, b) => b / a], // fdivr
  ];
  fc.assert(
    fc.property(
      fc.double({ min: -1e100, max: 1e100, noNaN: true }),
      fc.double({ min: -1e100, max: 1e100, noNaN: true }),
      fc.integer({ min: 0, max: 5 }),
      (a, b, k) => {
        fc.pre(Math.abs(a) > 1e-200 || a === 0);
        fc.pre(Math.abs(b) > 1e-200 || b === 0);
        st.init();
        st.cw = 0x027f;
        st.push(b);
        st.push(a);
        x87Execute(bus, st, 0xd8, ops[k][0], -1);
        const want = ops[k][1](a, b);
        const got = st.get(0);
        assert.ok(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)), `${a} ${b}`);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("x87Execute() raises #MF on the next waiting instruction after an unmasked fault", () => {
  const bus = new FakeBus();
  const st = new X87State();
  st.cw = 0x027f & ~0x04; // unmask divide-by-zero
  st.push(0);
  st.push(1);
  x87Execute(bus, st, 0xd8, 0xf1, -1); // fdiv st0, st1: 1/0
  assert.equal(st.get(0), 1, "destination unchanged");
  assert.equal(st.statusWord & 0x8084, 0x8084, "ZE, ES and B set");
  assert.throws(
    () => x87Execute(bus, st, 0xd9, 0xe8, -1),
    (e) => e instanceof RaisedException && e.vector === 16,
  );
  assert.throws(() => x87Fwait(bus, st), (e) => e instanceof RaisedException && e.vector === 16);
  x87Execute(bus, st, 0xdb, 0xe2, -1); // fnclex: no-wait, clears
  assert.equal(st.statusWord & 0x80ff, 0);
  x87Execute(bus, st, 0xd9, 0xe8, -1); // fld1 now runs
  assert.equal(st.get(0), 1);
});

Deno.test("x87Execute() raises #UD for reserved encodings", () => {
  const bus = new FakeBus();
  const st = new X87State();
  for (
    const [op, modrm] of [[0xd9, 0x08], [0xd9, 0xd1], [0xdd, 0x28], [0xdb, 0x20], [0xd9, 0xe2]]
  ) {
    assert.throws(
      () => x87Execute(bus, st, op, modrm, MEM_BASE),
      (e) => e instanceof RaisedException && e.vector === 6,
      `${op.toString(16)} ${modrm.toString(16)}`,
    );
  }
});

Deno.test("x87Execute() fistp m64 and fild m64 round-trip integers below 2^53", () => {
  const bus = new FakeBus();
  const st = new X87State();
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), (n) => {
      st.init();
      writeM64(bus, MEM_BASE, 0);
      st.push(n);
      x87Execute(bus, st, 0xdf, 0x3b, MEM_BASE); // fistp qword [ebx]
      x87Execute(bus, st, 0xdf, 0x2b, MEM_BASE); // fild qword [ebx]
      assert.equal(st.get(0), n);
      assert.equal(bus.read32(MEM_BASE) >>> 0, Number(BigInt.asUintN(32, BigInt(n))));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("fnstenv() reports the last non-control instruction's FIP, FOP and FDP", () => {
  const bus = new FakeBus();
  const st = new X87State();
  st.fip = 0x1234;
  st.fcs = 0x23;
  bus.write32(MEM_BASE, 0x3f800000); // 1.0f
  x87Execute(bus, st, 0xd8, 0x03, MEM_BASE); // fadd dword [ebx] (underflows: empty ST0)
  st.fip = 0x5678; // the core presets every instruction's address
  x87Execute(bus, st, 0xd9, 0x33, MEM_BASE + 32); // fnstenv [ebx+32]: a control instruction
  assert.equal(bus.read32(MEM_BASE + 32 + 12), 0x1234, "FIP");
  assert.equal(bus.read32(MEM_BASE + 32 + 16), (0x003 << 16) | 0x23, "FOP and FCS");
  assert.equal(bus.read32(MEM_BASE + 32 + 20), MEM_BASE, "FDP");
});

Deno.test("x87Execute() fprem loops to the exact fmod when exponents differ by 64 or more", () => {
  const bus = new FakeBus();
  const st = new X87State();
  fc.assert(
    fc.property(
      fc.double({ min: 1e-30, max: 1e300, noNaN: true }),
      fc.double({ min: 1e-300, max: 1e30, noNaN: true }),
      (a, b) => {
        st.init();
        st.cw = 0x027f;
        st.push(b);
        st.push(a);
        let n = 0;
        do x87Execute(bus, st, 0xd9, 0xf8, -1); // fprem
         while ((st.statusWord & 0x400) !== 0 && ++n < 200);
        assert.ok(n < 200, "C2 cleared");
        assert.equal(st.get(0), a % b);
      },
    ),
    { numRuns: RUNS / 4 },
  );
});

Deno.test("x87Execute() fxtract splits any double and fscale puts it back", () => {
  const bus = new FakeBus();
  const st = new X87State();
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
      fc.pre(v !== 0);
      st.init();
      st.cw = 0x027f;
      st.push(v);
      x87Execute(bus, st, 0xd9, 0xf4, -1); // fxtract: ST0 = significand, ST1 = exponent
      const sig = st.get(0), exp = st.get(1);
      assert.ok(Math.abs(sig) >= 1 && Math.abs(sig) < 2, `significand ${sig} of ${v}`);
      assert.ok(Number.isInteger(exp));
      x87Execute(bus, st, 0xd9, 0xfd, -1); // fscale
      assert.ok(Object.is(st.get(0), v), `${st.get(0)} != ${v}`);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("x87Execute() fsqrt and frndint match Math.sqrt and round-half-even", () => {
  const bus = new FakeBus();
  const st = new X87State();
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e300, noNaN: true }),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      (a, b) => {
        st.init();
        st.cw = 0x027f;
        st.push(a);
        x87Execute(bus, st, 0xd9, 0xfa, -1); // fsqrt
        assert.ok(Object.is(st.get(0), Math.sqrt(a)));
        st.push(b);
        x87Execute(bus, st, 0xd9, 0xfc, -1); // frndint
        const f = Math.floor(b), d = b - f;
        const want = d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
        assert.equal(st.get(0), want === 0 && b < 0 ? -0 : want);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("x87Execute() stores an inexact result when only PE is unmasked, then #MF", () => {
  const bus = new FakeBus();
  const st = new X87State();
  st.cw = 0x027f & ~0x20; // unmask PE
  st.push(3);
  st.push(1);
  x87Execute(bus, st, 0xd8, 0xf1, -1); // fdiv: 1/3 is inexact
  assert.equal(st.get(0), 1 / 3);
  assert.equal(st.statusWord & 0x80a0, 0x80a0, "PE, ES and B");
  assert.throws(
    () => x87Execute(bus, st, 0xd9, 0xe8, -1),
    (e) => e instanceof RaisedException && e.vector === 16,
  );
});
