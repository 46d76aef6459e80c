/**
 * 64-bit interpreter throughput: the gcc -O2 CRC32 + shell sort kernel of bench/cpu_bench.ts
 * (tests/cpu/fixtures/crc_sort.c) built -m64 (bench/cpu64/build.sh) and run in 64-bit mode,
 * flat (linear = machine, no walker) and at 0xffffffff80010000 through the 4-level walker,
 * next to the same source built -m32 on the 32-bit loop; reports MIPS (wall and CPU time).
 * Run: deno bench -A bench/cpu64_bench.ts (or deno run -A for the MIPS lines only)
 * @module
 */

import process from "node:process";
import { machine32, machine64Flat, machine64Kernel, runFor } from "./cpu64/machines.ts";

/**
 * Prints MIPS for each machine (n from CPU64_BENCH_N, default 20M; CPU64_BENCH_ONLY=text
 * keeps the machines whose name contains it, e.g. "kernel").
 */
function report(): void {
  const n = Number(Deno.env.get("CPU64_BENCH_N") ?? 20_000_000);
  const only = Deno.env.get("CPU64_BENCH_ONLY") ?? "";
  for (
    const [name, make] of [
      ["-m32 32-bit flat", machine32],
      ["-m64 64-bit flat", machine64Flat],
      ["-m64 64-bit kernel 4-level", machine64Kernel],
    ] as const
  ) {
    if (!name.includes(only)) continue;
    const cpu = make();
    runFor(cpu, 3_000_000); // warm up the JIT
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    runFor(cpu, n);
    const ms = performance.now() - t0;
    const used = process.cpuUsage(c0);
    const cpuMs = (used.user + used.system) / 1000;
    console.log(
      `cpu64_bench: crc32+sort ${name} ${(n / 1e3 / ms).toFixed(1)} MIPS wall, ` +
        `${(n / 1e3 / cpuMs).toFixed(1)} MIPS cpu-time (${n} instructions)`,
    );
  }
}

report();

const b32 = machine32(), b64 = machine64Flat(), b64k = machine64Kernel();
Deno.bench("cpu64: crc32+sort -m32 32-bit flat, 2M instructions", { group: "crc" }, () => {
  runFor(b32, 2_000_000);
});
Deno.bench("cpu64: crc32+sort -m64 64-bit flat, 2M instructions", { group: "crc" }, () => {
  runFor(b64, 2_000_000);
});
Deno.bench("cpu64: crc32+sort -m64 kernel 4-level, 2M instructions", { group: "crc" }, () => {
  runFor(b64k, 2_000_000);
});
