/**
 * CPU interpreter throughput: gcc -m32 -O2 code (CRC32 + shell sort, source in
 * tests/cpu/fixtures/crc_sort.c) loaded flat, run in slices; reports MIPS.
 * Run: deno bench -A bench/cpu_bench.ts
 * @module
 */

import process from "node:process";
import { flatMachine } from "../lib/cpu/testing.ts";

const BIN = new URL("../tests/cpu/fixtures/crc_sort.bin", import.meta.url);
const LOAD = 0x10000;

function machine() {
  const code = Deno.readFileSync(BIN);
  const m = flatMachine(code, LOAD, 512);
  m.cpu.regs[4] = 0x1f0000;
  return m;
}

/** Runs `n` instructions (restarting after each round's hlt); returns instructions run. */
function runFor(m: ReturnType<typeof machine>, n: number): number {
  let done = 0;
  while (done < n) {
    done += m.cpu.run(Math.min(1_000_000, n - done));
    m.cpu.halted = false;
  }
  return done;
}

const shared = machine();
runFor(shared, 5_000_000); // warm up the JIT
{
  // Wall time and process CPU time (the latter is steadier on a shared machine).
  const n = 50_000_000;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  runFor(shared, n);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `cpu_bench: crc32+sort ${(n / 1e3 / ms).toFixed(1)} MIPS wall, ` +
      `${(n / 1e3 / cpuMs).toFixed(1)} MIPS cpu-time (${n} instructions)`,
  );
}

Deno.bench("cpu: crc32+sort, 5M instructions", () => {
  runFor(shared, 5_000_000);
});
