/**
 * The 64-bit block compiler on the crc32 + shell sort kernel of bench/cpu64 (gcc -O2
 * code: loops, SIB addressing, cmov, shifts, movslq, RIP-relative loads), flat and at
 * 0xffffffff80010000 through the 4-level walker: after the same instruction counts the
 * compiled run and the interpreted run have the same registers, RIP, RFLAGS, memory.
 * @module
 */

import assert from "node:assert/strict";
import { machine64Flat, machine64Kernel } from "../../../bench/cpu64/machines.ts";
import { setJit64, state64 } from "./diff64.ts";

for (
  const [name, make] of [["flat", machine64Flat], ["kernel 4-level", machine64Kernel]] as const
) {
  Deno.test(`jit64: crc32+sort ${name} matches the interpreter slice by slice`, () => {
    const a = make(), b = make();
    const j = setJit64(a, true)!;
    setJit64(b, false);
    for (const slice of [1, 7, 100, 1000, 12345, 200000, 777777]) {
      a.run(slice);
      b.run(slice);
      assert.deepEqual(state64(a), state64(b), `after a slice of ${slice}`);
      a.halted = b.halted = false;
    }
    assert.ok(j.stats.regions > 0 && j.stats.ran > 0, JSON.stringify(j.stats));
  });
}
