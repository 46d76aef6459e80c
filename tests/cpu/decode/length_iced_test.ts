/**
 * instructionLength() against iced-x86 on random byte strings in 32-bit mode.
 * @module
 */

import assert from "node:assert/strict";
import { Code, CpuidFeature, Decoder, DecoderOptions } from "iced-x86";
import { instructionLength, lastDecode } from "../../../lib/cpu/decode/length.ts";
import { randomStrings } from "./_random.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const COUNT = FULL ? 1_000_000 : 100_000;

/** Features of i686 + SSE2 class CPUs, which pvx implements. */
const SUPPORTED = new Set<number>([
  CpuidFeature.INTEL8086,
  CpuidFeature.INTEL186,
  CpuidFeature.INTEL286,
  CpuidFeature.INTEL386,
  CpuidFeature.INTEL486,
  CpuidFeature.CPUID,
  CpuidFeature.TSC,
  CpuidFeature.MSR,
  CpuidFeature.CX8,
  CpuidFeature.CMOV,
  CpuidFeature.FPU,
  CpuidFeature.FPU287,
  CpuidFeature.FPU387,
  CpuidFeature.MULTIBYTENOP,
  CpuidFeature.PAUSE,
  CpuidFeature.SSE,
  CpuidFeature.SSE2,
  CpuidFeature.FXSR,
  CpuidFeature.CLFSH,
  CpuidFeature.MMX,
]);

Deno.test("instructionLength() agrees with iced-x86 on random 32-bit byte strings", () => {
  const n = COUNT;
  const buf = randomStrings(n, 12345);
  const dec = new Decoder(32, buf, DecoderOptions.None);
  let compared = 0, skipped = 0;
  const failures: string[] = [];
  for (let k = 0; k < n; k++) {
    dec.position = k * 16;
    dec.ip = BigInt(k * 16);
    const ins = dec.decode();
    const icedLen = ins.length;
    const invalid = ins.code === Code.INVALID;
    const feats = invalid ? [] : Array.from(ins.cpuidFeatures());
    ins.free();
    const ours = instructionLength(buf.subarray(k * 16, k * 16 + 16), 0);
    const bytes = () =>
      Array.from(buf.subarray(k * 16, k * 16 + 16), (b) => b.toString(16).padStart(2, "0")).join(
        " ",
      );
    if (invalid) {
      if (ours === -1 || lastDecode.sse) skipped++;
      else if (failures.length < 20) failures.push(`iced invalid, ours ${ours}: ${bytes()}`);
      continue;
    }
    const supported = feats.every((f) => SUPPORTED.has(f));
    if (ours === -1) {
      if (!supported) {
        skipped++;
        continue;
      }
      if (failures.length < 20) {
        failures.push(
          `ours invalid, iced ${icedLen} (${feats.map((f) => CpuidFeature[f])}): ${bytes()}`,
        );
      }
      continue;
    }
    if (ours !== icedLen && failures.length < 20) {
      failures.push(`length ${ours} vs iced ${icedLen}: ${bytes()}`);
    }
    compared++;
  }
  dec.free();
  if (Deno.env.get("PVX_VERBOSE")) console.log({ compared, skipped });
  assert(failures.length === 0, failures.join("\n"));
  assert(compared > n * 0.8, `only ${compared} of ${n} compared (${skipped} skipped)`);
});
