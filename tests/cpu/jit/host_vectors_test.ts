/**
 * The host-CPU integer vectors (tests/cpu/host) through the block compiler: each case's
 * instruction is compiled at its first execution (Jit hot = 1; instructions it does not
 * compile still run interpreted), then registers, flags and memory are compared with what
 * the host CPU produced.
 * @module
 */
import assert from "node:assert/strict";
import { Cpu } from "../../../lib/cpu/cpu.ts";
import { Jit } from "../../../lib/cpu/jit/jit.ts";
import { PhysMemory } from "../../../lib/cpu/phys_memory.ts";
import { RecordingPlatform } from "../../../lib/cpu/testing.ts";
import {
  checkCommon,
  EFLAGS_COMPARED,
  MismatchReport,
  outOfScope,
  runToEnd,
} from "../host/check.ts";
import { type Case, formBytes, loadVectors, MEM_BASE, sample } from "../host/vectors.ts";

const CODE_AT = 0x1000;
const STACK_TOP = 0x20f000;
/** Flat ring-3 code and data segments, as the harness's process ran. */
const ATTR_CODE32_DPL3 = 0xc0fb, ATTR_DATA32_DPL3 = 0xc0f3;

function makeCpu(): { cpu: Cpu; mem: PhysMemory; platform: RecordingPlatform; jit: Jit } {
  const mem = new PhysMemory(0x210);
  const platform = new RecordingPlatform();
  const cpu = new Cpu(mem, platform, null);
  platform.cpu = cpu;
  cpu.setSegmentRaw(1, 0x23, 0, -1, ATTR_CODE32_DPL3);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegmentRaw(s, 0x2b, 0, -1, ATTR_DATA32_DPL3);
  const jit = new Jit(1);
  cpu.jit = jit;
  return { cpu, mem, platform, jit };
}

function runCase(c: Case, m: ReturnType<typeof makeCpu>, code: Uint8Array): string {
  const { cpu, mem, platform } = m;
  platform.exceptions.length = 0;
  // The code is followed by int3, so a block compiled from it ends there.
  mem.write(CODE_AT, Uint8Array.from([...code, 0xcc]));
  if (c.form.mem) mem.write(MEM_BASE, c.inMem);
  for (let r = 0; r < 8; r++) cpu.regs[r] = c.inRegs[r];
  cpu.regs[4] = STACK_TOP;
  cpu.setEflags(c.inRegs[8]);
  cpu.eip = CODE_AT;
  const stopped = runToEnd(cpu, platform, CODE_AT, code.length, STACK_TOP);
  if (stopped) return stopped;
  const buf = mem.u8.subarray(MEM_BASE, MEM_BASE + c.outMem.length);
  return checkCommon(c, cpu.regs, cpu.getEflags(), buf, EFLAGS_COMPARED);
}

Deno.test("jit: the host CPU's integer vectors pass through the compiler", async () => {
  const { cases } = await loadVectors(["int"]);
  // rep-prefixed string forms are never compiled, and some of their cases read past the
  // vector's buffer (what lies there depends on the cases run before): the interpreter's
  // own differential test covers them.
  const picked = sample(cases, Deno.env.get("PVX_FUZZ") === "full" ? 1 : 3)
    .filter((c) => !outOfScope(c) && !c.form.name.startsWith("rep"));
  const m = makeCpu();
  const report = new MismatchReport();
  const codes = new Map<number, Uint8Array>();
  for (const c of picked) {
    let code = codes.get(c.form.id);
    if (!code) codes.set(c.form.id, code = formBytes(c.form));
    const why = runCase(c, m, code);
    if (why) report.add(c, why);
  }
  assert.ok(picked.length >= 400, `only ${picked.length} cases`);
  assert.equal(report.byForm.size, 0, `mismatches per form:\n${report}`);
  // Most integer forms are in the compiled subset.
  console.log(`${picked.length} cases, ${m.jit.stats.ran} instructions ran compiled`);
  assert.ok(m.jit.stats.ran > picked.length / 4, `only ${m.jit.stats.ran} ran compiled`);
});
