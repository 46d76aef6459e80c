/**
 * Differential test of the x87 unit alone against the host CPU's vectors: each case is
 * loaded with frstor, run through x87Execute and saved with fnsave, then compared.
 * @module
 */

import assert from "node:assert/strict";
import { x87Execute } from "../../../lib/cpu/fpu/x87_execute.ts";
import { fnsave, frstor } from "../../../lib/cpu/fpu/x87_memory.ts";
import { X87State } from "../../../lib/cpu/fpu/x87_state.ts";
import { checkCommon, checkX87, MismatchReport, outOfScope } from "../host/check.ts";
import { FakeBus, harnessLinear, SCRATCH } from "../host/fake_bus.ts";
import { type Case, formBytes, loadVectors, MEM_BASE, sample } from "../host/vectors.ts";

/** Runs one case; returns a description of the first difference, or "". */
export function runX87Case(c: Case, bus: FakeBus, st: X87State): string {
  bus.regs.set(new Int32Array(c.inRegs.buffer, 0, 8));
  bus.eflags = c.inRegs[8];
  if (c.form.mem) bus.load(MEM_BASE, c.inMem);
  bus.load(SCRATCH, c.inFpu);
  frstor(bus, st, SCRATCH);
  const b = formBytes(c.form);
  x87Execute(bus, st, b[0], b[1], harnessLinear(bus, b[1], b[2] ?? 0));
  fnsave(bus, st, SCRATCH + 512);
  return checkX87(c, bus.view(SCRATCH + 512, 108)) ||
    checkCommon(c, bus.regs, bus.eflags, bus.view(MEM_BASE, 64), 0x8d5);
}

Deno.test("x87Execute() matches the host CPU on the x87 vectors", async () => {
  const { cases } = await loadVectors(["x87"]);
  const picked = sample(cases, 1).filter((c) => !outOfScope(c));
  const bus = new FakeBus();
  const st = new X87State();
  const report = new MismatchReport();
  for (const c of picked) {
    const why = runX87Case(c, bus, st);
    if (why) report.add(c, why);
  }
  assert.ok(picked.length > 20000, `only ${picked.length} x87 cases`);
  assert.equal(report.byForm.size, 0, `x87 mismatches per form:\n${report}`);
});

Deno.test("x87Execute() leaves out less than 1% of the host vectors as beyond a double", async () => {
  const { cases } = await loadVectors(["x87"]);
  const out = cases.filter(outOfScope).length;
  assert.ok(out < cases.length / 100, `${out} of ${cases.length}`);
});
