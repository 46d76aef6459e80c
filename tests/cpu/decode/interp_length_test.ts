/**
 * The interpreter's own decoding against iced-x86: after one instruction that does not
 * transfer control, EIP advanced by iced's length; encodings iced rejects raise #UD.
 * @module
 */

import assert from "node:assert/strict";
import { Code, CpuidFeature, Decoder, DecoderOptions, FlowControl } from "iced-x86";
import { ATTR_CODE32, ATTR_DATA32 } from "../../../lib/cpu/cpu.ts";
import { flatMachine } from "../../../lib/cpu/testing.ts";
import { instructionLength, lastDecode } from "../../../lib/cpu/decode/length.ts";
import { randomStrings } from "./_random.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const COUNT = FULL ? 300_000 : 30_000;

const SUPPORTED_INT = new Set<number>([
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
  CpuidFeature.MULTIBYTENOP,
  CpuidFeature.PAUSE,
  CpuidFeature.CLFSH,
]);

Deno.test("Cpu.run() advances EIP by the iced-x86 length and raises #UD where iced rejects", () => {
  const buf = randomStrings(COUNT, 777);
  const m = flatMachine(new Uint8Array(0), 0x1000, 64);
  const { cpu, mem, platform } = m;
  const dec = new Decoder(32, buf, DecoderOptions.None);
  const failures: string[] = [];
  let checkedLen = 0, checkedUd = 0;
  for (let k = 0; k < COUNT; k++) {
    const bytes = buf.subarray(k * 16, k * 16 + 16);
    dec.position = k * 16;
    const ins = dec.decode();
    const len = ins.length;
    const invalid = ins.code === Code.INVALID;
    const flow = ins.flowControl;
    const feats = invalid ? [] : Array.from(ins.cpuidFeatures());
    ins.free();
    // reset
    for (let i = 0; i < 8; i++) cpu.regs[i] = 0x3000 + i * 0x10;
    cpu.regs[4] = 0x8000;
    cpu.setEflags(2);
    cpu.setSegmentRaw(1, 0x08, 0, -1, ATTR_CODE32);
    for (const s of [0, 2, 3, 4, 5]) cpu.setSegmentRaw(s, 0x10, 0, -1, ATTR_DATA32);
    cpu.cr0 = 0x31;
    cpu.cr4 = 0x600;
    cpu.flushTlb();
    mem.u8.fill(0, 0, 0x10000);
    mem.write(0x1000, bytes);
    cpu.eip = 0x1000;
    cpu.halted = false;
    platform.exceptions.length = 0;
    cpu.run(1);
    const exc = platform.exceptions[0];
    const show = () =>
      Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ") +
      ` exc=${exc ? exc.vector : "-"} eip=${cpu.eip.toString(16)} len=${len}`;
    const ours = instructionLength(bytes, 0);
    const fp = bytes.some((b, i) => i < len && b >= 0xd8 && b <= 0xdf) || lastDecode.sse;
    if (invalid) {
      if (ours !== -1 && lastDecode.sse) continue;
      if (!exc || (exc.vector !== 6 && exc.vector !== 13)) {
        if (failures.length < 20) failures.push("expected #UD: " + show());
      } else checkedUd++;
      continue;
    }
    const supported = feats.every((f) => SUPPORTED_INT.has(f));
    if (!supported || fp) continue;
    if (exc && exc.vector === 6 && exc.kind === 0) {
      if (flow === FlowControl.Exception) continue; // ud0/ud1/ud2 and friends
      if (failures.length < 20) failures.push("unexpected #UD: " + show());
      continue;
    }
    if (flow !== FlowControl.Next || exc) continue;
    if (cpu.eip !== 0x1000 + len) {
      if (failures.length < 20) failures.push("length: " + show());
    } else checkedLen++;
  }
  dec.free();
  if (Deno.env.get("PVX_VERBOSE")) console.log({ checkedLen, checkedUd });
  assert(failures.length === 0, failures.join("\n"));
  assert(checkedLen > COUNT / 4, `only ${checkedLen} lengths checked`);
});
