/**
 * CPU interpreter throughput: gcc -m32 -O2 code (CRC32 + shell sort, source in
 * tests/cpu/fixtures/crc_sort.c) run in slices, loaded flat and under Xen's ring-1 PV
 * segments (limited below the hypervisor hole at 0xF5800000); reports MIPS.
 * Run: deno bench -A bench/cpu_bench.ts
 * @module
 */

import process from "node:process";
import { flatMachine } from "../lib/cpu/testing.ts";

const BIN = new URL("../tests/cpu/fixtures/crc_sort.bin", import.meta.url);
const LOAD = 0x10000;

function machine(ring1 = false) {
  const code = Deno.readFileSync(BIN);
  const m = flatMachine(code, LOAD, 512);
  if (ring1) {
    m.cpu.setSegmentRaw(1, 0xe019, 0, 0xf57fffff, 0xc0bb);
    for (const s of [0, 2, 3, 4, 5]) m.cpu.setSegmentRaw(s, 0xe021, 0, 0xf57fffff, 0xc0b3);
    // hlt at CPL 1 is #GP(0): the "hypervisor" ends the round.
    m.platform.onException = () => {
      m.cpu.halted = true;
      m.cpu.stop();
    };
  }
  m.cpu.regs[4] = 0x1f0000;
  return m;
}

/** Runs `n` instructions (restarting after each round's hlt); returns instructions run. */
function runFor(m: ReturnType<typeof machine>, n: number): number {
  let done = 0;
  while (done < n) {
    done += m.cpu.run(Math.min(1_000_000, n - done));
    // At ring 1, hlt faults and stays at eip: step over it as the hypervisor would.
    if (m.cpu.halted && m.mem.u8[m.cpu.eip] === 0xf4) m.cpu.eip = (m.cpu.eip + 1) >>> 0;
    m.cpu.halted = false;
  }
  return done;
}

const shared = machine();
for (const [name, m] of [["flat", shared], ["ring-1", machine(true)]] as const) {
  runFor(m, 5_000_000); // warm up the JIT
  // Wall time and process CPU time (the latter is steadier on a shared machine).
  const n = 50_000_000;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  runFor(m, n);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `cpu_bench: crc32+sort ${name} ${(n / 1e3 / ms).toFixed(1)} MIPS wall, ` +
      `${(n / 1e3 / cpuMs).toFixed(1)} MIPS cpu-time (${n} instructions)`,
  );
}

Deno.bench("cpu: crc32+sort, 5M instructions", () => {
  runFor(shared, 5_000_000);
});
