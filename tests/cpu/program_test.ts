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
