/**
 * The ring-1 fast path: Xen-style PV data segments (base 0, limited below the hypervisor
 * hole) fold their limit check into the TLB. Accesses beyond the limit must still raise
 * #GP(0) (#SS(0) through SS, found by re-running the instruction with the checks on), even
 * where memory above the limit is mapped and was cached before the segments were loaded;
 * segments that reach beyond the boundary turn the folding off.
 * @module
 */

import assert from "node:assert/strict";
import { ATTR_CODE32, ATTR_DATA32 } from "../../lib/cpu/cpu.ts";
import { flatMachine, hex } from "../../lib/cpu/testing.ts";
import { SC_FLAT } from "../../lib/cpu/seg_check.ts";

const LIMIT = 0xfffff; // 1 MiB: memory (2 MiB) is mapped above it
const CODE = 0x1000;

/** Runs one instruction `bytes` at CODE; returns the exception vector and code, or null. */
function run1(m: ReturnType<typeof flatMachine>, bytes: string): [number, number] | null {
  m.mem.write(CODE, hex(bytes));
  m.cpu.eip = CODE;
  m.cpu.halted = false;
  m.platform.exceptions.length = 0;
  m.cpu.run(1);
  const e = m.platform.exceptions[0];
  return e ? [e.vector, e.errorCode] : null;
}

function limited(m: ReturnType<typeof flatMachine>): void {
  for (const s of [0, 2, 3, 4, 5]) m.cpu.setSegmentRaw(s, 0x21, 0, LIMIT, 0xc0b3);
}

Deno.test("folded PV data segments still raise #GP(0) beyond the limit", () => {
  const m = flatMachine(new Uint8Array(0), CODE, 512);
  m.cpu.setSegmentRaw(1, 0x19, 0, -1, ATTR_CODE32);
  // Flat segments first: the page above the future limit is read and cached.
  assert.equal(run1(m, "a1 00 00 10 00"), null); // mov eax, [0x100000]
  limited(m);
  assert.ok(m.cpu.foldPage === 0x100, "the limit is folded at the 1 MiB page");
  for (const s of [0, 2, 3, 4, 5]) assert.ok((m.cpu.segChk[s] & SC_FLAT) !== 0, `segment ${s}`);
  assert.deepEqual(run1(m, "a1 00 00 10 00"), [13, 0], "cached page beyond the limit");
  assert.deepEqual(run1(m, "a3 fe ff 0f 00"), [13, 0], "dword store crossing the limit");
  assert.deepEqual(run1(m, "26 a1 fc ff 0f 00"), null, "the last dword inside, via ES");
  m.cpu.regs[3] = 0x100000;
  assert.deepEqual(run1(m, "8b 03"), [13, 0], "mov eax, [ebx] beyond the limit");
  assert.deepEqual(run1(m, "c6 03 01"), [13, 0], "byte store beyond the limit");
  m.cpu.regs[4] = 0x100004;
  assert.deepEqual(run1(m, "50"), [12, 0], "push beyond the SS limit is #SS(0)");
  m.cpu.regs[4] = 0x80000;
  m.cpu.regs[5] = 0x100000;
  assert.deepEqual(run1(m, "8b 45 00"), [12, 0], "[ebp] is SS-relative: #SS(0)");
});

Deno.test("segments reaching beyond the boundary turn folding off", () => {
  const m = flatMachine(new Uint8Array(0), CODE, 512);
  m.cpu.setSegmentRaw(1, 0x19, 0, -1, ATTR_CODE32);
  limited(m);
  // FS with a base below the boundary and ending below it keeps the fold.
  m.cpu.setSegmentRaw(4, 0x31, 0x80000, 0xfff, 0x40b3);
  assert.equal(m.cpu.foldPage, 0x100);
  assert.equal(run1(m, "64 a1 fc 0f 00 00"), null, "fs:[0xffc] inside its limit");
  assert.deepEqual(run1(m, "64 a1 fe 0f 00 00"), [13, 0], "fs:[0xffe] crosses its limit");
  // A flat GS reaches above the boundary: no folding, and both checks stay exact.
  m.cpu.setSegmentRaw(5, 0x10, 0, -1, ATTR_DATA32);
  assert.equal(m.cpu.foldPage, 0x100000);
  assert.deepEqual(run1(m, "a1 00 00 10 00"), [13, 0], "DS is still limited");
  assert.equal(run1(m, "65 a1 00 00 10 00"), null, "GS reads above the DS limit");
  // Folding on again: the GS-filled entry above the boundary must be dropped.
  m.cpu.setSegmentRaw(5, 0x21, 0, LIMIT, 0xc0b3);
  assert.equal(m.cpu.foldPage, 0x100);
  assert.deepEqual(run1(m, "65 a1 00 00 10 00"), [13, 0]);
});
