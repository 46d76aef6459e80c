/**
 * Differential test of the SSE/SSE2 unit alone against the host CPU's vectors, through
 * sseExecute (and ldmxcsr/stmxcsr) with a fake bus.
 * @module
 */

import assert from "node:assert/strict";
import { sseExecute } from "../../../lib/cpu/sse/sse_execute.ts";
import { ldmxcsr, stmxcsr } from "../../../lib/cpu/sse/fxsave.ts";
import { SseState } from "../../../lib/cpu/sse/sse_state.ts";
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
  const want = c.outFpu;
  for (let r = 0; r < 8; r++) {
    for (let k = 0; k < 16; k++) {
      if (x.u8[16 * r + k] !== want[16 * r + k]) {
        const hex = (u: Uint8Array, o: number) =>
          [...u.subarray(o, o + 16)].reverse().map((v) => v.toString(16).padStart(2, "0")).join("");
        return `xmm${r} ${hex(x.u8, 16 * r)} want ${hex(want, 16 * r)} (in ${
          hex(c.inFpu, 16 * r)
        })`;
      }
    }
  }
  const mx = new DataView(want.buffer, want.byteOffset).getUint32(128, true);
  if (x.mxcsr !== mx) return `mxcsr ${x.mxcsr.toString(16)} want ${mx.toString(16)}`;
  for (let r = 0; r < 8; r++) {
    if (r !== 4 && (bus.regs[r] >>> 0) !== c.outRegs[r]) {
      return `reg ${r} ${(bus.regs[r] >>> 0).toString(16)} want ${c.outRegs[r].toString(16)}`;
    }
  }
  if ((bus.eflags & 0x8d5) !== (c.outRegs[8] & 0x8d5)) {
    return `eflags ${bus.eflags.toString(16)} want ${c.outRegs[8].toString(16)}`;
  }
  if (c.form.mem) {
    const m = bus.view(MEM_BASE, 64);
    for (let k = 0; k < 64; k++) {
      if (m[k] !== c.outMem[k]) return `memory byte ${k}: ${m[k]} want ${c.outMem[k]}`;
    }
  }
  return "";
}

Deno.test("sseExecute() matches the host CPU on the SSE/SSE2 vectors", async () => {
  const { cases } = await loadVectors(["sse"]);
  const picked = sample(cases, 1);
  const bus = new FakeBus();
  const x = new SseState();
  const bad = new Map<string, { n: number; first: string }>();
  for (const c of picked) {
    const why = runSseCase(c, bus, x);
    if (why) {
      const e = bad.get(c.form.name) ?? { n: 0, first: why };
      e.n++;
      bad.set(c.form.name, e);
    }
  }
  const report = [...bad].map(([k, v]) => `${k}: ${v.n} (${v.first})`).join("\n");
  assert.ok(picked.length > 30000, `only ${picked.length} SSE cases`);
  assert.equal(bad.size, 0, `SSE mismatches per form:\n${report}`);
});
