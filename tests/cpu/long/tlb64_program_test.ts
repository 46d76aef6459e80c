/**
 * gcc -O2 code in 64-bit mode through the TLB: the crc_sort kernel (tests/cpu/fixtures/
 * crc_sort.c) built -m64 flat and -mcmodel=kernel at 0xffffffff80010000 behind the
 * 4-level walker (bench/cpu64) stores the same results as its -m32 build on the 32-bit
 * loop, also with the TLB flushed (whole or by page) between short slices.
 * @module
 */

import assert from "node:assert/strict";
import type { Cpu } from "../../../lib/cpu/mod.ts";
import { machine32, machine64Flat, machine64Kernel } from "../../../bench/cpu64/machines.ts";

/** Runs until `rounds` rounds ended (hlt); returns the results at 0x800 after each. */
function rounds(cpu: Cpu, n: number, between?: (i: number) => void): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 100_000; i++) {
    cpu.run(between ? 997 : 100_000);
    between?.(i);
    if (cpu.halted) {
      cpu.halted = false;
      const dv = cpu.mem.dv;
      out.push([0, 4, 8, 12, 16].map((o) => dv.getUint32(0x800 + o, true).toString(16)).join(" "));
    }
  }
  return out;
}

const ROUNDS = 2;

Deno.test("tlb64: crc_sort -m64 flat and at a kernel address equals its -m32 build", () => {
  const want = rounds(machine32(), ROUNDS);
  assert.equal(want.length, ROUNDS);
  assert.deepEqual(rounds(machine64Flat(), ROUNDS), want);
  const k = machine64Kernel();
  assert.deepEqual(rounds(k, ROUNDS), want);
  assert.ok(!k.tlb64.empty, "the kernel ran through the 64-bit TLB");
});

Deno.test("tlb64: crc_sort at a kernel address with the TLB flushed between slices", () => {
  const want = rounds(machine32(), ROUNDS);
  const k = machine64Kernel();
  assert.deepEqual(
    rounds(k, ROUNDS, (i) => {
      if (i % 3 === 0) k.flushTlb();
      else if (i % 3 === 1) k.invlpg64(k.eip & ~0xfff, k.lm.ripHi);
      else k.invlpg64(k.regs[6] & ~0xfff, k.lm.hi[6]);
    }),
    want,
  );
});
