/**
 * popcnt in 32-bit mode beyond the host vectors (tests/cpu/host has the per-form
 * differential cases): a hot loop through the fast loop and block compiler gives the same
 * sum as single steps, and the mandatory F3 decides between popcnt and #UD.
 * @module
 */

import assert from "node:assert/strict";
import { flatMachine, hex } from "../../lib/cpu/testing.ts";

// ecx = 300; esi = sum of popcnt(ecx * 0x01010101) + popcnt16(low word); hlt
const LOOP = "b9 2c 01 00 00 31 f6 69 d9 01 01 01 01 f3 0f b8 c3 66 f3 0f b8 d3 " +
  "01 c6 01 d6 49 75 ea f4";

function bits(x: number): number {
  let n = 0;
  for (; x !== 0; x >>>= 1) n += x & 1;
  return n;
}

Deno.test("popcnt: a hot loop sums the same in bulk runs and single steps", () => {
  let want = 0;
  for (let c = 300; c > 0; c--) {
    const b = Math.imul(c, 0x01010101) >>> 0;
    want += bits(b) + bits(b & 0xffff);
  }
  const bulk = flatMachine(hex(LOOP));
  bulk.cpu.run(100_000);
  const step = flatMachine(hex(LOOP));
  for (let i = 0; i < 100_000 && !step.cpu.halted; i++) step.cpu.run(1);
  assert.ok(bulk.cpu.halted && step.cpu.halted);
  assert.equal(bulk.cpu.regs[6], want);
  assert.equal(step.cpu.regs[6], want);
});

/** Runs bytes then hlt: the first exception vector, or -1. */
function run(bytes: string): number {
  const m = flatMachine(hex(bytes + " f4"));
  m.cpu.regs[3] = 0xf0f0;
  m.cpu.run(100);
  return m.platform.exceptions.length > 0 ? m.platform.exceptions[0].vector : -1;
}

Deno.test("popcnt: F3 is mandatory (the last of F2/F3 counts); 0F B8 alone is #UD", () => {
  assert.equal(run("f3 0f b8 c3"), -1);
  assert.equal(run("f2 f3 0f b8 c3"), -1);
  assert.equal(run("0f b8 c3"), 6);
  assert.equal(run("f2 0f b8 c3"), 6);
  assert.equal(run("f3 f2 0f b8 c3"), 6);
});

Deno.test("popcnt: zero source sets ZF and clears CF OF SF AF PF; else all clear", () => {
  // push 0x8d7; popf (CF PF AF SF OF set); popcnt eax, ebx; pushf; pop edx; again for ecx, edi
  const m = flatMachine(
    hex("68 d7 08 00 00 9d f3 0f b8 c3 9c 5a 68 d7 08 00 00 9d f3 0f b8 cf 9c 5e f4"),
  );
  m.cpu.regs[3] = 0; // ebx
  m.cpu.regs[7] = 0x80000001; // edi
  m.cpu.run(100);
  assert.equal(m.cpu.regs[2] & 0x8d5, 0x40, "zero source: ZF only");
  assert.equal(m.cpu.regs[6] & 0x8d5, 0, "non-zero source: all clear");
  assert.equal(m.cpu.regs[1], 2);
});
