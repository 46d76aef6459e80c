/**
 * The host-CPU differential test of the whole interpreter: every committed vector (all
 * 160k run in a few seconds, so the default suite takes them all) is loaded into the core's
 * `Cpu` (flat, no paging, CPL 3 as the harness ran), the instruction bytes are executed,
 * and registers, flags, memory and x87/SSE state are compared with the host's.
 * @module
 */

import assert from "node:assert/strict";
import { Cpu } from "../../../lib/cpu/cpu.ts";
import { PhysMemory } from "../../../lib/cpu/phys_memory.ts";
import { fnsave, frstor } from "../../../lib/cpu/fpu/x87_memory.ts";
import { RecordingPlatform } from "../../../lib/cpu/testing.ts";
import {
  checkCommon,
  checkSse,
  checkX87,
  EFLAGS_COMPARED,
  MismatchReport,
  outOfScope,
  runToEnd,
} from "./check.ts";
import { type Case, type Form, formBytes, loadVectors, MEM_BASE, sample } from "./vectors.ts";

const CODE_AT = 0x1000;
const STACK_TOP = 0x20f000;
const SCRATCH = 0x208000;
/** Flat ring-3 code and data segment attributes (descriptor bits 40..55 >> 8). */
const ATTR_CODE32_DPL3 = 0xc0fb, ATTR_DATA32_DPL3 = 0xc0f3;

/** A ring-3 flat machine like the harness's process: 2 MiB + the buffer page. */
function makeMachine(): { cpu: Cpu; mem: PhysMemory; platform: RecordingPlatform } {
  const mem = new PhysMemory(0x210);
  const platform = new RecordingPlatform();
  const cpu = new Cpu(mem, platform, null);
  platform.cpu = cpu;
  cpu.setSegmentRaw(1, 0x23, 0, -1, ATTR_CODE32_DPL3);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegmentRaw(s, 0x2b, 0, -1, ATTR_DATA32_DPL3);
  cpu.cr4 |= 0x600; // OSFXSR, OSXMMEXCPT
  return { cpu, mem, platform };
}

/** A mismatch description for one case, or "". */
function runCase(
  c: Case,
  m: { cpu: Cpu; mem: PhysMemory; platform: RecordingPlatform },
  code: Uint8Array,
): string {
  const { cpu, mem, platform } = m;
  platform.exceptions.length = 0;
  mem.write(CODE_AT, code);
  if (c.form.mem) mem.write(MEM_BASE, c.inMem);
  for (let r = 0; r < 8; r++) cpu.regs[r] = c.inRegs[r];
  cpu.regs[4] = STACK_TOP;
  cpu.setEflags(c.inRegs[8]);
  const k = c.form.kind;
  if (k === "x87" || k === "fxs") {
    mem.write(SCRATCH, c.inFpu);
    frstor(cpu, cpu.x87, SCRATCH);
  }
  if (k === "sse" || k === "fxs") {
    const xmm = k === "fxs" ? c.inXmm : c.inFpu;
    cpu.sse.u8.set(xmm.subarray(0, 128));
    cpu.sse.mxcsr = new DataView(xmm.buffer, xmm.byteOffset).getUint32(128, true);
  }
  cpu.eip = CODE_AT;
  const stopped = runToEnd(cpu, platform, CODE_AT, code.length, STACK_TOP);
  if (stopped) return stopped;
  const buf = mem.u8.subarray(MEM_BASE, MEM_BASE + c.outMem.length);
  // pushf/popf forms expose IF, ID and the reserved bits through EAX: compared above
  let why = checkCommon(c, cpu.regs, cpu.getEflags(), buf, EFLAGS_COMPARED);
  if (why) return why;
  if (k === "x87" || k === "fxs") {
    fnsave(cpu, cpu.x87, SCRATCH + 512);
    why = checkX87(c, mem.u8.subarray(SCRATCH + 512, SCRATCH + 512 + 108));
  }
  if (!why && (k === "sse" || k === "fxs")) why = checkSse(c, cpu.sse.u8, cpu.sse.mxcsr);
  return why;
}

/** Instruction group of a form, for the report ("add32_rr" -> "add"). */
export function groupOf(form: Form): string {
  if (form.kind !== "int") return form.kind;
  const m = /^(rep[ne]*_)?([a-z]+?)(8|16|32)?(_.*)?$/.exec(form.name);
  return m
    ? m[2].replace(/(b|w|d)$/, (s) => (/^(movs|stos|lods|scas|cmps)/.test(m[2]) ? "" : s))
    : form.name;
}

/**
 * Runs the vectors of `kinds` through the core and returns the per-form report and the
 * number of cases run.
 */
async function differential(kinds: Form["kind"][], stride: number) {
  const { cases } = await loadVectors(kinds);
  const picked = sample(cases, stride).filter((c) => !outOfScope(c));
  const m = makeMachine();
  const report = new MismatchReport();
  const codes = new Map<number, Uint8Array>();
  for (const c of picked) {
    let code = codes.get(c.form.id);
    if (!code) codes.set(c.form.id, code = formBytes(c.form));
    let why: string;
    try {
      why = runCase(c, m, code);
    } catch (e) {
      why = `threw ${e instanceof Error ? e.message : String(e)}`;
      Object.assign(m, makeMachine());
    }
    if (why) report.add(c, why);
  }
  return { report, n: picked.length };
}

/** Per-group summary of a report: "group: failing forms / cases". */
export function byGroup(report: MismatchReport, forms: Form[]): string {
  const g = new Map<string, { forms: number; cases: number }>();
  const byName = new Map(forms.map((f) => [f.name, f]));
  for (const [name, v] of report.byForm) {
    const k = groupOf(byName.get(name)!);
    const e = g.get(k) ?? { forms: 0, cases: 0 };
    e.forms++;
    e.cases += v.n;
    g.set(k, e);
  }
  return [...g].map(([k, v]) => `${k}: ${v.forms} forms, ${v.cases} cases`).join("\n");
}

for (const kind of ["int", "x87", "sse", "fxs"] as const) {
  Deno.test(`Cpu matches the host CPU on the ${kind} vectors`, async () => {
    const { report, n } = await differential([kind], 1);
    const { forms } = await loadVectors([]);
    if (report.byForm.size > 0) {
      console.log(`${kind}: ${report.byForm.size} forms differ\n${byGroup(report, forms)}`);
    }
    assert.ok(n >= 400, `only ${n} cases`);
    assert.equal(report.byForm.size, 0, `${kind} mismatches per form:\n${report}`);
  });
}
