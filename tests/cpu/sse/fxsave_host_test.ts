/**
 * Differential test of fxsave/fxrstor against the host CPU's vectors (512-byte images
 * with random x87 and SSE state), through the units and a fake bus.
 * @module
 */

import assert from "node:assert/strict";
import { fnsave, frstor } from "../../../lib/cpu/fpu/x87_memory.ts";
import { X87State } from "../../../lib/cpu/fpu/x87_state.ts";
import { fxrstor, fxsave } from "../../../lib/cpu/sse/fxsave.ts";
import { SseState } from "../../../lib/cpu/sse/sse_state.ts";
import { checkCommon, checkSse, checkX87, MismatchReport } from "../host/check.ts";
import { FakeBus, SCRATCH } from "../host/fake_bus.ts";
import { type Case, formBytes, loadVectors, MEM_BASE } from "../host/vectors.ts";

/** Runs one case; returns a description of the first difference, or "". */
function runFxsCase(c: Case, bus: FakeBus, st: X87State, x: SseState): string {
  bus.regs.set(new Int32Array(c.inRegs.buffer, 0, 8));
  bus.eflags = c.inRegs[8];
  bus.load(MEM_BASE, c.inMem);
  bus.load(SCRATCH, c.inFpu);
  frstor(bus, st, SCRATCH);
  x.u8.set(c.inXmm.subarray(0, 128));
  x.mxcsr = new DataView(c.inXmm.buffer, c.inXmm.byteOffset).getUint32(128, true);
  const b = formBytes(c.form); // 0F AE /0 or /1 [ebx]
  if (((b[2] >> 3) & 7) === 0) fxsave(bus, st, x, bus.regs[3]);
  else fxrstor(bus, st, x, bus.regs[3]);
  fnsave(bus, st, SCRATCH + 512);
  return checkX87(c, bus.view(SCRATCH + 512, 108)) || checkSse(c, x.u8, x.mxcsr) ||
    checkCommon(c, bus.regs, bus.eflags, bus.view(MEM_BASE, 512), 0x8d5);
}

Deno.test("fxsave() and fxrstor() match the host CPU's 512-byte images", async () => {
  const { cases } = await loadVectors(["fxs"]);
  const bus = new FakeBus();
  const st = new X87State(), x = new SseState();
  const report = new MismatchReport();
  for (const c of cases) {
    const why = runFxsCase(c, bus, st, x);
    if (why) report.add(c, why);
  }
  assert.ok(cases.length >= 400, `only ${cases.length} cases`);
  assert.equal(report.byForm.size, 0, `fxsave/fxrstor mismatches:\n${report}`);
});
