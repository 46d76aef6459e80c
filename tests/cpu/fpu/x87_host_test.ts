/**
 * Differential test of the x87 unit alone against the host CPU's vectors: each case is
 * loaded with frstor, run through x87Execute and saved with fnsave, then compared.
 * @module
 */

import assert from "node:assert/strict";
import { x87Execute } from "../../../lib/cpu/fpu/x87_execute.ts";
import { fnsave, frstor } from "../../../lib/cpu/fpu/x87_memory.ts";
import { X87State } from "../../../lib/cpu/fpu/x87_state.ts";
import { f80ToDouble } from "../../../lib/cpu/fpu/f80.ts";
import { FakeBus, harnessLinear, SCRATCH } from "../host/fake_bus.ts";
import { type Case, formBytes, loadVectors, MEM_BASE, sample } from "../host/vectors.ts";

/** Forms whose results come from JS Math or a 66-bit constant: compared within 4 ulp. */
const APPROX = new Set([
  "fsin",
  "fcos",
  "fsincos",
  "fptan",
  "fpatan",
  "f2xm1",
  "fyl2x",
  "fyl2xp1",
  "fldpi",
  "fldl2e",
  "fldl2t",
  "fldlg2",
  "fldln2",
]);

/**
 * Within 8 ulp, plus |x| * 2^-60 for the host's argument reduction (the x87 reduces with
 * a 66-bit pi; JS Math reduces exactly).
 */
function near(a: number, b: number, x: number): boolean {
  if (a !== a || b !== b) return a !== a && b !== b;
  if (a === b) return true;
  const tol = 8 * Number.EPSILON * Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) <= tol + (isFinite(x) ? Math.abs(x) * 2 ** -60 : 0);
}

/**
 * True when the host's result holds a value a double cannot (exponent beyond the double
 * range): pvx keeps x87 registers as doubles, so such cases are out of scope.
 */
function beyondDouble(img: Uint8Array, mem: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) {
    const e = (img[28 + 10 * i + 8] | (img[28 + 10 * i + 9] << 8)) & 0x7fff;
    if (e !== 0 && e !== 0x7fff && (e < 16383 - 1022 || e > 16383 + 1023)) return true;
  }
  return mem.length > 0 && false;
}

/** Runs one case; returns a description of the first difference, or "" (or "skip"). */
export function runX87Case(c: Case, bus: FakeBus, st: X87State): string {
  bus.regs.set(new Int32Array(c.inRegs.buffer, 0, 8));
  bus.eflags = c.inRegs[8];
  if (c.form.mem) bus.load(MEM_BASE, c.inMem);
  bus.load(SCRATCH, c.inFpu);
  frstor(bus, st, SCRATCH);
  const b = formBytes(c.form);
  x87Execute(bus, st, b[0], b[1], harnessLinear(bus, b[1], b[2] ?? 0));
  fnsave(bus, st, SCRATCH + 512);
  const got = bus.view(SCRATCH + 512, 108);
  const want = c.outFpu;
  if (beyondDouble(want, c.outMem)) return "skip";
  // fscale into the x87's wider exponent range: the double result over/underflows.
  if (c.form.name === "fscale" && (want[4] & 0x18) !== 0) return "skip";
  const dv = (u: Uint8Array) => new DataView(u.buffer, u.byteOffset, u.byteLength);
  const g = dv(got), w = dv(want);
  const approx = APPROX.has(c.form.name);
  const swMask = approx ? ~0x0220 : ~0;
  if (g.getUint16(0, true) !== w.getUint16(0, true)) return "control word";
  if ((g.getUint16(4, true) & swMask) !== (w.getUint16(4, true) & swMask)) {
    return `status word ${g.getUint16(4, true).toString(16)} want ${
      w.getUint16(4, true).toString(16)
    }`;
  }
  if (g.getUint16(8, true) !== w.getUint16(8, true)) {
    return `tag word ${g.getUint16(8, true).toString(16)} want ${
      w.getUint16(8, true).toString(16)
    }`;
  }
  const iv = dv(c.inFpu);
  const x0 = f80ToDouble(iv.getUint32(28, true), iv.getUint32(32, true), iv.getUint16(36, true));
  for (let i = 0; i < 8; i++) {
    const o = 28 + 10 * i;
    const gv = f80ToDouble(
      g.getUint32(o, true),
      g.getUint32(o + 4, true),
      g.getUint16(o + 8, true),
    );
    const wv = f80ToDouble(
      w.getUint32(o, true),
      w.getUint32(o + 4, true),
      w.getUint16(o + 8, true),
    );
    const exact = got.subarray(o, o + 10).every((x, k) => x === want[o + k]);
    if (!exact && !(approx && near(gv, wv, x0))) {
      const hex = (u: Uint8Array) =>
        [...u.subarray(o, o + 10)].reverse().map((x) => x.toString(16).padStart(2, "0")).join("");
      return `ST(${i}) ${gv} ${hex(got)} want ${wv} ${hex(want)}`;
    }
  }
  for (let r = 0; r < 8; r++) {
    if (r !== 4 && (bus.regs[r] >>> 0) !== c.outRegs[r]) return `reg ${r}`;
  }
  if ((bus.eflags & 0x8d5) !== (c.outRegs[8] & 0x8d5)) {
    return `eflags ${bus.eflags.toString(16)} want ${c.outRegs[8].toString(16)}`;
  }
  if (c.form.mem) {
    const m = bus.view(MEM_BASE, 64);
    for (let k = 0; k < 64; k++) {
      if (c.form.name === "fnstenv" && k >= 12 && k < 28) continue; // FIP/FOP/FDP: host-specific
      if (m[k] !== c.outMem[k]) return `memory byte ${k}: ${m[k]} want ${c.outMem[k]}`;
    }
  }
  return "";
}

Deno.test("x87Execute() matches the host CPU on the x87 vectors", async () => {
  const { cases } = await loadVectors(["x87"]);
  const picked = sample(cases, 1);
  const bus = new FakeBus();
  const st = new X87State();
  const bad = new Map<string, { n: number; first: string }>();
  let skipped = 0;
  for (const c of picked) {
    const why = runX87Case(c, bus, st);
    if (why === "skip") skipped++;
    else if (why) {
      const e = bad.get(c.form.name) ?? { n: 0, first: why };
      e.n++;
      bad.set(c.form.name, e);
    }
  }
  const report = [...bad].map(([k, v]) => `${k}: ${v.n} (${v.first})`).join("\n");
  assert.ok(picked.length > 20000, `only ${picked.length} x87 cases`);
  assert.ok(skipped < picked.length / 100, `${skipped} cases beyond the double range`);
  assert.equal(bad.size, 0, `x87 mismatches per form:\n${report}`);
});
