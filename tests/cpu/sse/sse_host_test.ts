/**
 * Differential test of the SSE/SSE2 unit alone against the host CPU's vectors, through
 * sseExecute (and ldmxcsr/stmxcsr) with a fake bus.
 * @module
 */

import assert from "node:assert/strict";
import { sseExecute } from "../../../lib/cpu/sse/sse_execute.ts";
import { ldmxcsr, stmxcsr } from "../../../lib/cpu/sse/fxsave.ts";
import { SseState } from "../../../lib/cpu/sse/sse_state.ts";
import { checkCommon, checkSse, MismatchReport } from "../host/check.ts";
import { FakeBus, harnessLinear } from "../host/fake_bus.ts";
import { type Case, formBytes, loadVectors, MEM_BASE, sample } from "../host/vectors.ts";

/** Runs one case; returns a description of the first difference, or "". */
export function runSseCase(c: Case, bus: FakeBus, x: SseState): string {
  bus.regs.set(new Int32Array(c.inRegs.buffer, 0, 8));
  bus.eflags = c.inRegs[8];
  if (c.form.mem) bus.load(MEM_BASE, c.inMem);
  x.u8.set(c.inFpu.subarray(0, 128));
  x.mxcsr = new DataView(c.inFpu.buffer, c.inFpu.byteOffset).getUint32(128, true);
  const b = formBytes(c.form);
  let p = 0, prefix = 0;
  if (b[0] === 0x66 || b[0] === 0xf2 || b[0] === 0xf3) prefix = b[p++];
  assert.equal(b[p++], 0x0f, c.form.name);
  const op2 = b[p++], modrm = b[p++];
  const disp = (modrm >> 6) === 1 ? b[p++] : 0;
  const imm = b[p] ?? 0;
  const lin = harnessLinear(bus, modrm, disp);
  if (op2 === 0xae) {
    if (((modrm >> 3) & 7) === 2) ldmxcsr(bus, x, lin);
    else stmxcsr(bus, x, lin);
  } else if (!sseExecute(bus, x, prefix, op2, modrm, lin, imm)) return "not implemented";
  return checkSse(c, x.u8, x.mxcsr) ||
    checkCommon(c, bus.regs, bus.eflags, bus.view(MEM_BASE, 64), 0x8d5);
}

Deno.test("sseExecute() matches the host CPU on the SSE/SSE2 vectors", async () => {
  const { cases } = await loadVectors(["sse"]);
  const picked = sample(cases, 1);
  const bus = new FakeBus();
  const x = new SseState();
  const report = new MismatchReport();
  for (const c of picked) {
    const why = runSseCase(c, bus, x);
    if (why) report.add(c, why);
  }
  assert.ok(picked.length > 30000, `only ${picked.length} SSE cases`);
  assert.equal(report.byForm.size, 0, `SSE mismatches per form:\n${report}`);
});
