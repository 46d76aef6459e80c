/**
 * Targeted and property tests of the SSE/SSE2 unit: alignment #GP, unmasked #XM,
 * ldmxcsr checks, unimplemented (MMX) forms, fxsave/fxrstor round trips and lane
 * arithmetic against BigInt/JS references.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { X87State } from "../../../lib/cpu/fpu/x87_state.ts";
import { fxrstor, fxsave, ldmxcsr } from "../../../lib/cpu/sse/fxsave.ts";
import { SSE_OPCODE_MAP, sseExecute } from "../../../lib/cpu/sse/sse_execute.ts";
import { SseState } from "../../../lib/cpu/sse/sse_state.ts";
import { FakeBus, RaisedException, SCRATCH } from "../host/fake_bus.ts";
import { MEM_BASE } from "../host/vectors.ts";

const RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 100_000 : 2_000;
const isVec = (v: number) => (e: unknown) => e instanceof RaisedException && e.vector === v;
const u32 = fc.integer({ min: 0, max: 0xffffffff });

Deno.test("sseExecute() raises #GP(0) for a misaligned movaps/movdqa/addps operand", () => {
  const bus = new FakeBus();
  const x = new SseState();
  const modrm = 0x0b; // xmm1, [ebx]
  assert.throws(() => sseExecute(bus, x, 0, 0x28, modrm, MEM_BASE + 4, 0), isVec(13));
  assert.throws(() => sseExecute(bus, x, 0x66, 0x6f, modrm, MEM_BASE + 8, 0), isVec(13));
  assert.throws(() => sseExecute(bus, x, 0, 0x58, modrm, MEM_BASE + 1, 0), isVec(13));
  // unaligned forms and scalar forms do not check
  assert.equal(sseExecute(bus, x, 0, 0x10, modrm, MEM_BASE + 4, 0), true);
  assert.equal(sseExecute(bus, x, 0xf3, 0x58, modrm, MEM_BASE + 1, 0), true);
});

Deno.test("sseExecute() raises #XM and keeps the destination when an exception is unmasked", () => {
  const bus = new FakeBus();
  const x = new SseState();
  x.f64[2] = 1; // xmm1 low
  x.f64[4] = 0; // xmm2 low
  x.mxcsr = 0x1f80 & ~0x200; // unmask ZE
  assert.throws(() => sseExecute(bus, x, 0xf2, 0x5e, 0xca, -1, 0), isVec(19)); // divsd xmm1, xmm2
  assert.equal(x.f64[2], 1);
  assert.equal(x.mxcsr & 4, 4, "ZE recorded");
  x.mxcsr = 0x1f80;
  assert.equal(sseExecute(bus, x, 0xf2, 0x5e, 0xca, -1, 0), true);
  assert.equal(x.f64[2], Infinity);
});

Deno.test("ldmxcsr() raises #GP(0) for reserved bits and loads valid values", () => {
  const bus = new FakeBus();
  const x = new SseState();
  bus.write32(MEM_BASE, 0x10000);
  assert.throws(() => ldmxcsr(bus, x, MEM_BASE), isVec(13));
  assert.equal(x.mxcsr, 0x1f80);
  bus.write32(MEM_BASE, 0x7f80);
  ldmxcsr(bus, x, MEM_BASE);
  assert.equal(x.mxcsr, 0x7f80);
});

Deno.test("sseExecute() returns false for MMX forms and unknown opcodes", () => {
  const bus = new FakeBus();
  const x = new SseState();
  assert.equal(sseExecute(bus, x, 0, 0xfe, 0xca, -1, 0), false); // paddd mm1, mm2
  assert.equal(sseExecute(bus, x, 0, 0x6f, 0xca, -1, 0), false); // movq mm1, mm2
  assert.equal(sseExecute(bus, x, 0xf2, 0x12, 0xca, -1, 0), false); // movddup (SSE3)
  assert.equal(SSE_OPCODE_MAP[0x70] & 2, 2, "pshufd carries an imm8");
  assert.equal(SSE_OPCODE_MAP[0x77], 0, "emms is not an SSE form");
});

Deno.test("fxsave() then fxrstor() restore x87, SSE and MXCSR state exactly", () => {
  const bus = new FakeBus();
  fc.assert(
    fc.property(
      fc.array(u32, { minLength: 32, maxLength: 32 }),
      fc.integer({ min: 0, max: 7 }),
      (words, top) => {
        const st = new X87State(), x = new SseState();
        st.cw = 0x027f;
        st.push(1.5);
        st.push(-3);
        st.top = (st.top + top) & 7;
        x.i32.set(words);
        x.mxcsr = 0x9fc0 | (top & 3) << 13;
        fxsave(bus, st, x, SCRATCH);
        const st2 = new X87State(), x2 = new SseState();
        fxrstor(bus, st2, x2, SCRATCH);
        assert.deepEqual(x2.i32.subarray(0, 32), x.i32.subarray(0, 32));
        assert.equal(x2.mxcsr, x.mxcsr);
        assert.equal(st2.statusWord, st.statusWord);
        assert.deepEqual(st2.empty, st.empty);
        for (let p = 0; p < 8; p++) if (!st.empty[p]) assert.equal(st2.regs[p], st.regs[p]);
      },
    ),
    { numRuns: RUNS / 10 },
  );
  assert.throws(() => fxsave(bus, new X87State(), new SseState(), SCRATCH + 8), isVec(13));
});

Deno.test("sseExecute() paddq, psubq and pmuludq match 64-bit BigInt arithmetic", () => {
  const bus = new FakeBus();
  const x = new SseState();
  const q = (i: number) => (BigInt(x.u32[2 * i + 1]) << 32n) | BigInt(x.u32[2 * i]);
  fc.assert(
    fc.property(
      fc.array(u32, { minLength: 8, maxLength: 8 }),
      fc.constantFrom(0xd4, 0xfb, 0xf4),
      (w, op) => {
        x.u32.set(w.slice(0, 4), 4); // xmm1
        x.u32.set(w.slice(4), 8); // xmm2
        const a = [q(2), q(3)], b = [q(4), q(5)];
        assert.equal(sseExecute(bus, x, 0x66, op, 0xca, -1, 0), true);
        for (let i = 0; i < 2; i++) {
          const want = op === 0xd4
            ? a[i] + b[i]
            : op === 0xfb
            ? a[i] - b[i]
            : (a[i] & 0xffffffffn) * (b[i] & 0xffffffffn);
          assert.equal(q(2 + i), BigInt.asUintN(64, want));
        }
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("sseExecute() cvttsd2si truncates like Math.trunc within the int32 range", () => {
  const bus = new FakeBus();
  const x = new SseState();
  fc.assert(
    fc.property(fc.double({ min: -3e9, max: 3e9, noNaN: true }), (v) => {
      x.f64[4] = v; // xmm2
      x.mxcsr = 0x1f80;
      sseExecute(bus, x, 0xf2, 0x2c, 0xc2, -1, 0); // cvttsd2si eax, xmm2
      const t = Math.trunc(v);
      const want = t >= -2147483648 && t <= 2147483647 ? t : -2147483648;
      assert.equal(bus.regs[0], want | 0);
      assert.equal((x.mxcsr & 1) !== 0, want !== t, "IE only out of range");
    }),
    { numRuns: RUNS },
  );
});
