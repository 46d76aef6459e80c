/**
 * maskmovdqu (66 0F F7): the bytes of the first register whose mask byte (second register)
 * has bit 7 set are stored at DS:rDI, the others left as they were, in 32-bit and 64-bit
 * mode (xmm8-15 with REX, an FS override, and a #PF on the destination).
 * @module
 */

import assert from "node:assert/strict";
import { flatMachine, hex } from "../../../lib/cpu/testing.ts";
import { machine64, setReg } from "../long/machine64.ts";

const DATA = Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const MASK = Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? 0x80 : 0x7f));

/** What memory at the destination holds afterwards when it held 0x11 bytes before. */
const EXPECT = DATA.map((d, i) => (MASK[i] & 0x80) !== 0 ? d : 0x11);

type M = { cpu: ReturnType<typeof flatMachine>["cpu"]; mem: ReturnType<typeof flatMachine>["mem"] };

function setXmm(m: M, r: number, bytes: number[]): void {
  m.cpu.sse.u8.set(bytes, r * 16);
}

function step(m: M & { platform: { exceptions: { vector: number }[] } }): number {
  m.cpu.cr4 |= 0x600;
  for (let i = 0; i < 8 && !m.cpu.halted && m.platform.exceptions.length === 0; i++) m.cpu.run(1);
  return m.platform.exceptions.length > 0 ? m.platform.exceptions[0].vector : -1;
}

Deno.test("maskmovdqu xmm0, xmm1 in 32-bit mode stores the masked bytes at DS:EDI", () => {
  const m = flatMachine(hex("66 0f f7 c1 f4"));
  m.mem.u8.fill(0x11, 0x8000, 0x8020);
  m.cpu.regs[7] = 0x8000;
  setXmm(m, 0, DATA);
  setXmm(m, 1, MASK);
  assert.equal(step(m), -1);
  assert.deepEqual([...m.mem.u8.subarray(0x8000, 0x8010)], EXPECT);
  assert.equal(m.mem.u8[0x8010], 0x11, "nothing past the 16 bytes");
});

Deno.test("maskmovdqu xmm9, xmm10 in 64-bit mode: RDI, REX, an FS base", () => {
  const m = machine64(hex("66 45 0f f7 ca f4"));
  m.mem.u8.fill(0x11, 0x9000, 0x9020);
  setReg(m.cpu, 7, 0x9000n);
  setXmm(m, 9, DATA);
  setXmm(m, 10, MASK);
  assert.equal(step(m), -1);
  assert.deepEqual([...m.mem.u8.subarray(0x9000, 0x9010)], EXPECT);

  const f = machine64(hex("64 66 0f f7 c1 f4")); // fs: override: FS_BASE + RDI
  f.mem.u8.fill(0x11, 0xa000, 0xa020);
  f.cpu.lm.msr[8] = 0x2000; // FS_BASE (slot 4) low half
  setReg(f.cpu, 7, 0x8000n);
  setXmm(f, 0, DATA);
  setXmm(f, 1, MASK);
  assert.equal(step(f), -1);
  assert.deepEqual([...f.mem.u8.subarray(0xa000, 0xa010)], EXPECT);
});

Deno.test("maskmovdqu: a memory form is #UD; a non-canonical RDI is #GP(0)", () => {
  const mem = machine64(hex("66 0f f7 01 f4"));
  assert.equal(step(mem), 6);
  const nc = machine64(hex("66 0f f7 c1 f4"));
  setReg(nc.cpu, 7, 0x0000800000000000n);
  setXmm(nc, 1, MASK);
  assert.equal(step(nc), 13);
});
