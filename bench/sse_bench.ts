/**
 * SSE/SSE2 throughput of the 32-bit interpreter (addps, mulpd, paddd, movaps load/store,
 * pshufd, cvtsi2sd in a loop) and of the same loop in 64-bit mode on xmm8-15; reports
 * MIPS by process CPU time. Run: deno bench -A bench/sse_bench.ts
 * @module
 */

import process from "node:process";
import { flatMachine, hex } from "../lib/cpu/testing.ts";
import { ATTR_L, EFER_LMA } from "../lib/cpu/long/long_state.ts";

// mov ebx, 0x8000; mov ecx, 1000000; L: addps xmm0,xmm1; mulpd xmm2,xmm3; paddd xmm4,xmm5;
// movaps xmm6,[ebx]; movaps [ebx+16],xmm6; pshufd xmm7,xmm4,0x1b; cvtsi2sd xmm1,ecx;
// dec ecx (ff c9); jnz L; hlt
const LOOP32 = "0f 58 c1 66 0f 59 d3 66 0f fe e5 0f 28 33 0f 29 73 10 66 0f 70 fc 1b " +
  "f2 0f 2a c9";
// The same on xmm8-15 (REX.R/REX.B) in 64-bit mode.
const LOOP64 = "45 0f 58 c1 66 45 0f 59 d3 66 45 0f fe e5 44 0f 28 33 44 0f 29 73 10 " +
  "66 45 0f 70 fc 1b f2 44 0f 2a c9";

function machine(long: boolean) {
  const body = hex(long ? LOOP64 : LOOP32);
  const jnz = -(body.length + 2 + 2);
  const code = hex(
    "bb 00 80 00 00 b9 40 42 0f 00 " + (long ? LOOP64 : LOOP32) + " ff c9 75 " +
      (jnz & 0xff).toString(16).padStart(2, "0") + " f4",
  );
  const m = flatMachine(code, 0x1000, 256);
  m.cpu.cr4 |= 0x600;
  if (long) {
    m.cpu.efer |= EFER_LMA;
    m.cpu.segAttr[1] |= ATTR_L;
  }
  return m;
}

/** Runs `n` instructions, restarting the loop at each hlt. */
function runFor(m: ReturnType<typeof machine>, n: number): number {
  let done = 0;
  while (done < n) {
    done += m.cpu.run(Math.min(1_000_000, n - done));
    if (m.platform.exceptions.length > 0) throw new Error("sse_bench: exception in the loop");
    if (m.cpu.halted) {
      m.cpu.halted = false;
      m.cpu.eip = 0x1000;
      m.cpu.lm.ripHi = 0;
    }
  }
  return done;
}

const m32 = machine(false);
const only32 = Deno.env.get("SSE_BENCH_32") === "1"; // for a before/after of 32-bit code
const runs = only32 ? [["32-bit", m32]] as const : [["32-bit", m32], [
  "64-bit xmm8-15",
  machine(true),
]] as const;
for (const [name, m] of runs) {
  runFor(m, 2_000_000); // warm up
  const n = 10_000_000;
  const c0 = process.cpuUsage();
  runFor(m, n);
  const cpu = process.cpuUsage(c0);
  const exc = m.platform.exceptions.length;
  console.log(
    `sse_bench: ${name} ${(n / ((cpu.user + cpu.system) / 1000) / 1e3).toFixed(1)} MIPS ` +
      `cpu-time (${n} instructions${exc ? `, ${exc} exceptions!` : ""})`,
  );
}

Deno.bench("sse: 32-bit SSE loop, 2M instructions", () => {
  runFor(m32, 2_000_000);
});
