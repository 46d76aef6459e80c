/**
 * instructionLength() in 64-bit mode against iced-x86 on random byte strings (REX-biased):
 * the 64-bit columns of the opcode table (REX, RIP-relative, imm64, moffs64, forms invalid
 * in 64-bit mode, operand size of near branches).
 * @module
 */

import assert from "node:assert/strict";
import { Code, CpuidFeature, Decoder, DecoderOptions } from "iced-x86";
import { instructionLength, lastDecode } from "../../../lib/cpu/decode/length.ts";
import { randomStrings, rng } from "./_random.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const COUNT = FULL ? 1_000_000 : 100_000;

/** The baseline x86-64 set (the table's 64-bit rows). */
const SUPPORTED = new Set<number>([
  CpuidFeature.INTEL8086,
  CpuidFeature.INTEL186,
  CpuidFeature.INTEL286,
  CpuidFeature.INTEL386,
  CpuidFeature.INTEL486,
  CpuidFeature.X64,
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

/**
 * 64-bit-only forms the table does not have rows for yet (ModRM-byte forms of 0F 01 /7),
 * compared as "ours invalid" instead of by length.
 */
const NOT_YET = new Set<number>([Code.Swapgs, Code.Rdtscp]);

/** Random strings with a REX byte (and sometimes 66/67/F2/F3 before it) in front. */
function rexStrings(n: number, seed: number): Uint8Array {
  const buf = randomStrings(n, seed);
  const next = rng(seed ^ 0x5a5a);
  for (let k = 0; k < n; k++) {
    const o = k * 16;
    if ((next() & 1) === 0) continue;
    buf.copyWithin(o + 1, o, o + 15);
    buf[o] = 0x40 | (next() & 15);
    if ((next() & 3) === 0) {
      buf.copyWithin(o + 1, o, o + 15);
      buf[o] = [0x66, 0x67, 0xf2, 0xf3][next() & 3];
    }
  }
  return buf;
}

Deno.test("instructionLength(64) agrees with iced-x86 on random 64-bit byte strings", () => {
  const n = COUNT;
  const buf = rexStrings(n, 4242);
  const dec = new Decoder(64, buf, DecoderOptions.None);
  let compared = 0, skipped = 0;
  const failures: string[] = [];
  for (let k = 0; k < n; k++) {
    dec.position = k * 16;
    dec.ip = BigInt(k * 16);
    const ins = dec.decode();
    const icedLen = ins.length;
    const code = ins.code;
    const invalid = code === Code.INVALID;
    const feats = invalid ? [] : Array.from(ins.cpuidFeatures());
    ins.free();
    const ours = instructionLength(buf.subarray(k * 16, k * 16 + 16), 0, 64);
    const bytes = () =>
      Array.from(buf.subarray(k * 16, k * 16 + 16), (b) => b.toString(16).padStart(2, "0")).join(
        " ",
      );
    if (invalid) {
      if (ours === -1 || lastDecode.sse) skipped++;
      else if (failures.length < 20) failures.push(`iced invalid, ours ${ours}: ${bytes()}`);
      continue;
    }
    const supported = feats.every((f) => SUPPORTED.has(f)) && !NOT_YET.has(code);
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
  assert(compared > n * 0.75, `only ${compared} of ${n} compared (${skipped} skipped)`);
});
