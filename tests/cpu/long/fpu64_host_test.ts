/**
 * x87 and SSE/SSE2 in 64-bit mode against the host CPU: every case of fpu64_host.bin.gz
 * (fpu64_generate.sh runs fpu64_host.c natively, gcc -m64) is loaded into a flat ring-3
 * `Cpu` in 64-bit mode, the form's bytes run at the host stub's own address (so
 * RIP-relative operands reach the same buffer), and the 16 GPRs (64 bits), the flags,
 * the memory buffer, the x87 state (fnsave image) and xmm0-15 with MXCSR are compared.
 * The forms: the 64-bit form of every x87 and SSE form of tests/cpu/host (operands
 * [rbx...]), and the REX-only ones of fpu64_forms.h (xmm8-15, r8-r15, REX.W conversions
 * and movq, movnti, RIP-relative operands, fxsave64/fxrstor64).
 * @module
 */

import assert from "node:assert/strict";
import { Cpu } from "../../../lib/cpu/cpu.ts";
import { PhysMemory } from "../../../lib/cpu/phys_memory.ts";
import { fnsave, frstor } from "../../../lib/cpu/fpu/x87_memory.ts";
import { RecordingPlatform } from "../../../lib/cpu/testing.ts";
import { ATTR_L, EFER_LMA } from "../../../lib/cpu/long/long_state.ts";
import { checkX87, EFLAGS_COMPARED, MismatchReport, outOfScope, runToEnd } from "../host/check.ts";
import type { Case, Form } from "../host/vectors.ts";

const MEM_BASE = 0x200000;
const STACK_TOP = 0x20f000;
const SCRATCH = 0x208000;
/** Ring-3 64-bit code (L=1, D=0) and flat data segment attributes. */
const ATTR_CODE64_DPL3 = 0xa0fb, ATTR_DATA_DPL3 = 0xc0f3;

interface Form64 extends Form {
  /** The host stub's address (the code runs there in pvx too). */
  at: number;
}

interface Case64 {
  form: Form64;
  inGpr: DataView;
  outGpr: DataView;
  inMem: Uint8Array;
  outMem: Uint8Array;
  inFpu: Uint8Array;
  outFpu: Uint8Array;
  inXmm: Uint8Array;
  outXmm: Uint8Array;
}

async function load(): Promise<Case64[]> {
  const forms = JSON.parse(
    await Deno.readTextFile(new URL("./fpu64_forms.json", import.meta.url)),
  ) as Form64[];
  const gz = await Deno.readFile(new URL("./fpu64_host.bin.gz", import.meta.url));
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  const data = new Uint8Array(await new Response(stream).arrayBuffer());
  const dv = new DataView(data.buffer);
  const out: Case64[] = [];
  let p = 0;
  while (p < data.length) {
    const form = forms[dv.getUint16(p, true)];
    if (!form) throw new Error(`fpu64_host.bin.gz: unknown form at byte ${p}`);
    const m = form.mem ? (form.kind === "fxs" ? 512 : 64) : 0;
    const x = form.kind === "x87" || form.kind === "fxs" ? 108 : 0;
    const y = form.kind === "sse" || form.kind === "fxs" ? 260 : 0;
    const half = 136 + m + x + y;
    const a = p + 2, b = a + half;
    const part = (base: number, o: number, n: number) => data.subarray(base + o, base + o + n);
    out.push({
      form,
      inGpr: new DataView(data.buffer, a, 136),
      outGpr: new DataView(data.buffer, b, 136),
      inMem: part(a, 136, m),
      outMem: part(b, 136, m),
      inFpu: part(a, 136 + m, x),
      outFpu: part(b, 136 + m, x),
      inXmm: part(a, 136 + m + x, y),
      outXmm: part(b, 136 + m + x, y),
    });
    p += 2 + 2 * half;
  }
  return out;
}

function hexBytes(code: string): Uint8Array {
  const out = new Uint8Array(code.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(code.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function machine(): { cpu: Cpu; mem: PhysMemory; platform: RecordingPlatform } {
  const mem = new PhysMemory(0x500); // 5 MiB: the buffer at 2 MiB, the stubs above 4 MiB
  const platform = new RecordingPlatform();
  const cpu = new Cpu(mem, platform, null);
  platform.cpu = cpu;
  cpu.setSegmentRaw(1, 0x33, 0, -1, ATTR_CODE64_DPL3);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegmentRaw(s, 0x2b, 0, -1, ATTR_DATA_DPL3);
  cpu.cr4 |= 0x600; // OSFXSR, OSXMMEXCPT
  cpu.efer |= EFER_LMA;
  return { cpu, mem, platform };
}

const hex64 = (lo: number, hi: number) =>
  (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
const GPR = "rax rcx rdx rbx rsp rbp rsi rdi r8 r9 r10 r11 r12 r13 r14 r15".split(" ");

/** Bytes of the buffer not compared: FIP/FOP/FDP of fnstenv and fxsave images (host's). */
function skipped(name: string, k: number): boolean {
  if (name === "fnstenv") return k >= 12 && k < 28;
  if (name === "fxsave" || name === "fxsave64") return k >= 6 && k < 24;
  return false;
}

function runCase(c: Case64, m: ReturnType<typeof machine>): string {
  const { cpu, mem, platform } = m;
  platform.exceptions.length = 0;
  const code = hexBytes(c.form.bytes);
  mem.write(c.form.at, code);
  if (c.form.mem) mem.write(MEM_BASE, c.inMem);
  for (let r = 0; r < 16; r++) {
    const lo = c.inGpr.getInt32(8 * r, true), hi = c.inGpr.getInt32(8 * r + 4, true);
    if (r < 8) cpu.regs[r] = lo;
    else cpu.lm.rlo[r - 8] = lo;
    cpu.lm.hi[r] = hi;
  }
  cpu.regs[4] = STACK_TOP;
  cpu.lm.hi[4] = 0;
  cpu.segAttr[1] |= ATTR_L;
  cpu.setEflags(c.inGpr.getInt32(128, true));
  const k = c.form.kind;
  if (k === "x87" || k === "fxs") {
    mem.write(SCRATCH, c.inFpu);
    frstor(cpu, cpu.x87, SCRATCH);
  }
  if (k === "sse" || k === "fxs") {
    cpu.sse.u8.set(c.inXmm.subarray(0, 256));
    cpu.sse.mxcsr = new DataView(c.inXmm.buffer, c.inXmm.byteOffset).getUint32(256, true);
  }
  cpu.eip = c.form.at;
  cpu.lm.ripHi = 0;
  const stopped = runToEnd(cpu, platform, c.form.at, code.length, STACK_TOP);
  if (stopped) return stopped;
  for (let r = 0; r < 16; r++) {
    if (r === 4) continue;
    const lo = r < 8 ? cpu.regs[r] : cpu.lm.rlo[r - 8], hi = cpu.lm.hi[r];
    const wl = c.outGpr.getInt32(8 * r, true), wh = c.outGpr.getInt32(8 * r + 4, true);
    if (lo !== wl || hi !== wh) return `${GPR[r]} ${hex64(lo, hi)} want ${hex64(wl, wh)}`;
  }
  const fl = cpu.getEflags(), wfl = c.outGpr.getInt32(128, true);
  if ((fl & EFLAGS_COMPARED) !== (wfl & EFLAGS_COMPARED)) {
    return `rflags ${(fl >>> 0).toString(16)} want ${(wfl >>> 0).toString(16)}`;
  }
  for (let i = 0; i < c.outMem.length; i++) {
    if (skipped(c.form.name, i)) continue;
    const g = mem.u8[MEM_BASE + i];
    if (g !== c.outMem[i]) return `memory byte ${i}: ${g} want ${c.outMem[i]}`;
  }
  if (k === "x87" || k === "fxs") {
    fnsave(cpu, cpu.x87, SCRATCH + 512);
    const why = checkX87(asCase(c), mem.u8.subarray(SCRATCH + 512, SCRATCH + 620));
    if (why) return why;
  }
  if (k === "sse" || k === "fxs") {
    const x = cpu.sse.u8;
    for (let i = 0; i < 256; i++) {
      if (x[i] !== c.outXmm[i]) {
        const r = i >> 4;
        const h = (u: Uint8Array) =>
          [...u.subarray(16 * r, 16 * r + 16)].reverse().map((b) => b.toString(16).padStart(2, "0"))
            .join("");
        return `xmm${r} ${h(x)} want ${h(c.outXmm)}`;
      }
    }
    const mx = new DataView(c.outXmm.buffer, c.outXmm.byteOffset).getUint32(256, true);
    if (cpu.sse.mxcsr !== mx) return `mxcsr ${cpu.sse.mxcsr.toString(16)} want ${mx.toString(16)}`;
  }
  return "";
}

/** The fields check.ts's x87 helpers read, as a 32-bit vector Case. */
function asCase(c: Case64): Case {
  const none = new Uint32Array(0), empty = new Uint8Array(0);
  return {
    form: c.form,
    inRegs: none,
    outRegs: none,
    inMem: empty,
    outMem: empty,
    inFpu: c.inFpu,
    outFpu: c.outFpu,
    inXmm: empty,
    outXmm: empty,
  };
}

Deno.test("long mode: x87 and SSE/SSE2 (xmm0-15, REX.W, RIP-relative) match the host CPU", async () => {
  const cases = (await load()).filter((c) => !outOfScope(asCase(c)));
  assert.ok(cases.length > 15_000, `only ${cases.length} cases`);
  const kinds = new Set(cases.map((c) => c.form.name));
  for (const f of ["rex_forms_begin", "w_cvtsi2sd_1_rax", "rip_pshufd", "fxsave64", "fxrstor"]) {
    assert.ok(kinds.has(f), `form ${f} missing`);
  }
  let m = machine();
  const report = new MismatchReport();
  for (const c of cases) {
    let why: string;
    try {
      why = runCase(c, m);
    } catch (e) {
      why = `threw ${e instanceof Error ? e.message : String(e)}`;
      m = machine();
    }
    if (why) report.add(asCase(c), why);
  }
  assert.equal(report.byForm.size, 0, `mismatches per form:\n${report}`);
});
