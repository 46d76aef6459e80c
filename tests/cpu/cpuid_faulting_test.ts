/** CPUID faulting (MISC_FEATURES_ENABLES bit 0): cpuid above CPL 0 raises #GP(0). */
import assert from "node:assert/strict";
import { ATTR_CODE32, ATTR_DATA32 } from "../../lib/cpu/cpu.ts";
import { EXC_FAULT, VEC_GP } from "../../lib/cpu/platform.ts";
import { flatMachine, hex } from "../../lib/cpu/testing.ts";

Deno.test("cpuid faults at CPL 3 only while CPUID faulting is on", () => {
  for (const [faulting, cpl, want] of [[false, 3, 0], [true, 0, 0], [true, 3, 1]] as const) {
    const m = flatMachine(hex("31 c0 0f a2 f4"), 0x1000); // xor eax,eax; cpuid; hlt
    if (cpl === 3) {
      m.cpu.setSegmentRaw(1, 0x1b, 0, -1, ATTR_CODE32 | 0x60);
      for (const s of [0, 2, 3, 4, 5]) m.cpu.setSegmentRaw(s, 0x23, 0, -1, ATTR_DATA32 | 0x60);
    }
    m.cpu.cpuidFaulting = faulting;
    m.cpu.run(2);
    const gp = m.platform.exceptions.filter((e) => e.vector === VEC_GP && e.errorCode === 0);
    assert.equal(gp.length, want, `faulting=${faulting} cpl=${cpl}`);
    if (want) assert.deepEqual([gp[0].kind, gp[0].eip], [EXC_FAULT, 0x1002]);
    else assert.equal(m.cpu.regs[0], 1); // leaf 0's max leaf from the test platform
  }
});
