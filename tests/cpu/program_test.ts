/**
 * gcc -m32 -O2 code (tests/cpu/fixtures/crc_sort.c) run on the interpreter gives the
 * results a TypeScript model of the same C computes.
 * @module
 */

import assert from "node:assert/strict";
import { flatMachine } from "../../lib/cpu/testing.ts";

function model(rounds: number): number[][] {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (0xedb88320 ^ (c >>> 1)) >>> 0 : c >>> 1;
    table[i] = c;
  }
  const data = new Uint32Array(4096);
  let seed = 12345;
  for (let i = 0; i < 4096; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = seed;
  }
  const bytes = new Uint8Array(data.buffer);
  const out: number[][] = [];
  for (let round = 1; round <= rounds; round++) {
    let c = 0xffffffff;
    for (let i = 0; i < bytes.length; i++) c = (table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)) >>> 0;
    const crc = (c ^ 0xffffffff) >>> 0;
    const sorted = new Uint32Array(2048);
    for (let i = 0; i < 2048; i++) sorted[i] = (data[i] ^ crc) >>> 0;
    sorted.sort();
    let sum = 0;
    for (let i = 0; i < 2048; i++) sum = (Math.imul(sum, 31) + sorted[i]) >>> 0;
    out.push([round, crc, sum, sorted[0], sorted[2047]]);
    data[round & 4095] ^= crc;
  }
  return out;
}

Deno.test("Cpu.run() computes CRC32 and a shell sort compiled by gcc -O2 as the C model does", () => {
  const code = Deno.readFileSync(new URL("./fixtures/crc_sort.bin", import.meta.url));
  const m = flatMachine(code, 0x10000, 512);
  m.cpu.regs[4] = 0x1f0000;
  const expected = model(2);
  for (const exp of expected) {
    m.cpu.halted = false;
    let guard = 0;
    while (!m.cpu.halted && guard++ < 100) m.cpu.run(1_000_000);
    assert.equal(m.platform.exceptions.length, 0, JSON.stringify(m.platform.exceptions));
    const got = Array.from({ length: 5 }, (_, i) => m.mem.dv.getUint32(0x800 + i * 4, true));
    assert.deepEqual(got, exp);
  }
});

Deno.test("Cpu.run() computes the same with Xen-style ring-1 segments limited below 0xF5800000", () => {
  const code = Deno.readFileSync(new URL("./fixtures/crc_sort.bin", import.meta.url));
  const m = flatMachine(code, 0x10000, 512);
  m.cpu.setSegmentRaw(1, 0xe019, 0, 0xf57fffff, 0xc0bb);
  for (const s of [0, 2, 3, 4, 5]) m.cpu.setSegmentRaw(s, 0xe021, 0, 0xf57fffff, 0xc0b3);
  m.cpu.regs[4] = 0x1f0000;
  const exp = model(1)[0];
  m.platform.onException = (v, e) => {
    // hlt at CPL 1 is #GP(0): the "hypervisor" ends the round.
    assert.deepEqual([v, e], [13, 0]);
    m.cpu.stop();
  };
  m.cpu.run(50_000_000);
  assert.equal(m.platform.exceptions.length, 1);
  const got = Array.from({ length: 5 }, (_, i) => m.mem.dv.getUint32(0x800 + i * 4, true));
  assert.deepEqual(got, exp);
});

Deno.test("a jump past the CS limit raises #GP(0) at the jump", () => {
  // jmp 0x2000 from 0x1ff0 with CS limit 0x1fff
  const m = flatMachine(new Uint8Array(0), 0x1ff0, 16);
  m.mem.write(0x1ff0, new Uint8Array([0xe9, 0x0b, 0x00, 0x00, 0x00]));
  m.cpu.setSegmentRaw(1, 0x08, 0, 0x1fff, 0x409b);
  m.cpu.eip = 0x1ff0;
  m.cpu.run(1);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.errorCode, e.eip], [13, 0, 0x1ff0]);
});
