/**
 * Comparison of an emulated result with a host vector: general registers, EFLAGS,
 * the memory buffer, and the x87 (fnsave image) or SSE (xmm0-7 + MXCSR) state. Shared by
 * the unit tests (tests/cpu/fpu, tests/cpu/sse) and the core's differential runner.
 * @module
 */

import { f80ToDouble } from "../../../lib/cpu/fpu/f80.ts";
import type { Case } from "./vectors.ts";
import type { Cpu } from "../../../lib/cpu/cpu.ts";
import type { RecordingPlatform } from "../../../lib/cpu/testing.ts";

/** Forms whose results come from JS Math or a 66-bit constant: compared approximately. */
export const APPROX_X87: ReadonlySet<string> = new Set([
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

/** EFLAGS bits compared: CF PF AF ZF SF OF and DF. */
export const EFLAGS_COMPARED = 0xcd5;

/**
 * Within 8 ulp, plus |x| * 2^-60 (times the function's slope) for the host's argument
 * reduction (the x87 reduces with a 66-bit pi; JS Math reduces exactly).
 */
function near(a: number, b: number, x: number, slope: number): boolean {
  if (a !== a || b !== b) return a !== a && b !== b;
  if (a === b) return true;
  const tol = 8 * Number.EPSILON * Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) <= tol + (isFinite(x) ? Math.abs(x) * 2 ** -60 * slope : 0);
}

const dv = (u: Uint8Array) => new DataView(u.buffer, u.byteOffset, u.byteLength);
const hex = (u: Uint8Array, o: number, n: number) =>
  [...u.subarray(o, o + n)].reverse().map((x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Whether the case is outside what pvx models: the host's x87 result holds a value a
 * double cannot (exponent beyond the double range), or fscale over/underflowed into the
 * x87's wider exponent range.
 */
export function outOfScope(c: Case): boolean {
  if (c.form.kind !== "x87") return false;
  const img = c.outFpu;
  for (let i = 0; i < 8; i++) {
    const e = (img[28 + 10 * i + 8] | (img[28 + 10 * i + 9] << 8)) & 0x7fff;
    if (e !== 0 && e !== 0x7fff && (e < 16383 - 1022 || e > 16383 + 1023)) return true;
  }
  return c.form.name === "fscale" && (img[4] & 0x18) !== 0;
}

/** Compares an fnsave image (FIP/FCS/FOP/FDP/FDS excepted); "" when equal. */
export function checkX87(c: Case, got: Uint8Array): string {
  const want = c.outFpu;
  const g = dv(got), w = dv(want);
  const approx = APPROX_X87.has(c.form.name);
  const swMask = approx ? ~0x0220 : ~0;
  if (g.getUint16(0, true) !== w.getUint16(0, true)) return "control word";
  if ((g.getUint16(4, true) & swMask) !== (w.getUint16(4, true) & swMask)) {
    return `status word ${hex(got, 4, 2)} want ${hex(want, 4, 2)}`;
  }
  if (g.getUint16(8, true) !== w.getUint16(8, true)) {
    return `tag word ${hex(got, 8, 2)} want ${hex(want, 8, 2)}`;
  }
  const iv = dv(c.inFpu);
  const x0 = f80ToDouble(iv.getUint32(28, true), iv.getUint32(32, true), iv.getUint16(36, true));
  for (let i = 0; i < 8; i++) {
    const o = 28 + 10 * i;
    let exact = true;
    for (let k = 0; k < 10; k++) if (got[o + k] !== want[o + k]) exact = false;
    if (exact) continue;
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
    // tan amplifies the reduction error by its derivative 1 + tan^2
    const slope = c.form.name === "fptan" ? 1 + wv * wv : 1;
    if (!(approx && near(gv, wv, x0, slope))) {
      return `ST(${i}) ${gv} ${hex(got, o, 10)} want ${wv} ${hex(want, o, 10)}`;
    }
  }
  return "";
}

/** Compares xmm0-7 and MXCSR (132 bytes, the harness layout); "" when equal. */
export function checkSse(c: Case, xmm: Uint8Array, mxcsr: number): string {
  const want = c.form.kind === "fxs" ? c.outXmm : c.outFpu;
  for (let r = 0; r < 8; r++) {
    for (let k = 0; k < 16; k++) {
      if (xmm[16 * r + k] !== want[16 * r + k]) {
        return `xmm${r} ${hex(xmm, 16 * r, 16)} want ${hex(want, 16 * r, 16)}`;
      }
    }
  }
  const mx = dv(want).getUint32(128, true);
  if (mxcsr !== mx) return `mxcsr ${mxcsr.toString(16)} want ${mx.toString(16)}`;
  return "";
}

/**
 * Compares general registers (ESP excepted), EFLAGS (under `flagMask`) and the memory
 * buffer; "" when equal.
 */
export function checkCommon(
  c: Case,
  regs: Int32Array,
  eflags: number,
  mem: Uint8Array,
  flagMask = EFLAGS_COMPARED,
): string {
  const names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
  for (let r = 0; r < 8; r++) {
    if (r !== 4 && (regs[r] >>> 0) !== c.outRegs[r]) {
      return `${names[r]} ${(regs[r] >>> 0).toString(16)} want ${c.outRegs[r].toString(16)}`;
    }
  }
  if ((eflags & flagMask) !== (c.outRegs[8] & flagMask)) {
    return `eflags ${(eflags >>> 0).toString(16)} want ${c.outRegs[8].toString(16)} (in ${
      c.inRegs[8].toString(16)
    })`;
  }
  if (c.form.mem) {
    for (let k = 0; k < c.outMem.length; k++) {
      if (c.form.name === "fnstenv" && k >= 12 && k < 28) continue; // FIP/FOP/FDP: host-specific
      if (c.form.name === "fxsave" && k >= 6 && k < 24) continue; // FOP/FIP/FCS/FDP/FDS
      if (mem[k] !== c.outMem[k]) return `memory byte ${k}: ${mem[k]} want ${c.outMem[k]}`;
    }
  }
  return "";
}

/** Tallies mismatches per form and renders them. */
export class MismatchReport {
  readonly byForm = new Map<string, { n: number; first: string }>();
  add(c: Case, why: string): void {
    const e = this.byForm.get(c.form.name) ?? { n: 0, first: why };
    e.n++;
    this.byForm.set(c.form.name, e);
  }
  toString(): string {
    return [...this.byForm].map(([k, v]) => `${k}: ${v.n} (${v.first})`).join("\n");
  }
}

/**
 * Steps a case's code at `codeAt` (at most 64 instructions) to its end.
 * @returns "" when it got there with esp back at `stackTop`, else what went wrong
 */
export function runToEnd(
  cpu: Cpu,
  platform: RecordingPlatform,
  codeAt: number,
  length: number,
  stackTop: number,
): string {
  const end = codeAt + length;
  for (let n = 0; n < 64 && cpu.eip !== end; n++) {
    cpu.run(1);
    if (platform.exceptions.length > 0) {
      const e = platform.exceptions[0];
      return `exception ${e.vector} (${e.errorCode}) at +${e.eip - codeAt}`;
    }
  }
  if (cpu.eip !== end) return `eip ${cpu.eip.toString(16)} after 64 steps`;
  if (cpu.regs[4] !== stackTop) return `esp ${(cpu.regs[4] >>> 0).toString(16)}`;
  return "";
}
