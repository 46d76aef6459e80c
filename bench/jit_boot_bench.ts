/**
 * Boot figures with and without the block compiler (lib/cpu/jit): pvx's own guest through
 * its selftest to poweroff, and Debian's pvgrub to 40 million instructions (past `grub>`,
 * when tests/fixtures/cache holds it). Prints wall time, process CPU time, guest
 * instructions and the share that ran compiled (best of 3 alternating boots each).
 * Run: deno run -A bench/jit_boot_bench.ts
 * @module
 */
import process from "node:process";
import { Machine } from "../lib/hypervisor/mod.ts";
import { MemorySink } from "../lib/console/testing.ts";
import { attachDevices } from "../lib/toolstack/devices.ts";

const GUEST = new URL("../guest/pvx-guest.elf", import.meta.url).pathname;
const GRUB = new URL("../tests/fixtures/cache/inspect/grub-i386-xen.bin", import.meta.url)
  .pathname;

/** One boot's figures. */
export interface BootFigures {
  wallMs: number;
  cpuMs: number;
  instructions: number;
  compiled: number;
  text: string;
}

/** Boots `image` until it stops or `budget` instructions, compiler on or off. */
export async function bootFigures(
  image: Uint8Array,
  jit: boolean,
  budget: number,
  cmdline?: string,
): Promise<BootFigures> {
  const sink = new MemorySink(1 << 22, 1 << 20);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m = new Machine({ image, memoryMiB: 64, cmdline, console: sink, jit });
  await attachDevices(m, { sink });
  const r = await m.run(undefined, budget);
  const cpu = process.cpuUsage(c0);
  const wallMs = performance.now() - t0;
  await sink.close();
  let compiled = 0;
  for (const c of m.cpus) compiled += c.jit?.stats.ran ?? 0;
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    instructions: r.instructions,
    compiled,
    text: sink.text(),
  };
}

function line(what: string, f: BootFigures): string {
  return `${what.padEnd(34)} ${f.wallMs.toFixed(0).padStart(6)} ms wall ` +
    `${f.cpuMs.toFixed(0).padStart(6)} ms cpu  ${f.instructions} instructions` +
    (f.compiled ? ` (${(100 * f.compiled / f.instructions).toFixed(0)}% compiled)` : "");
}

/** Alternating boots (no-jit, jit) `times` times; the best CPU time of each. */
async function compare(
  what: string,
  image: Uint8Array,
  budget: number,
  cmdline?: string,
  times = 3,
): Promise<void> {
  const bestOf: (BootFigures | undefined)[] = [undefined, undefined];
  for (let i = 0; i < times; i++) {
    for (const jit of [false, true]) {
      const f = await bootFigures(image, jit, budget, cmdline);
      const b = bestOf[jit ? 1 : 0];
      if (b === undefined || f.cpuMs < b.cpuMs) bestOf[jit ? 1 : 0] = f;
    }
  }
  console.log(line(`${what} --no-jit`, bestOf[0]!));
  console.log(line(`${what} jit`, bestOf[1]!));
}

if (import.meta.main) {
  // Both in one process, alternating, best of 3: the first boot also warms V8 up.
  await compare("pvx guest selftest", await Deno.readFile(GUEST), 2_000_000_000, "selftest");
  const grub = await Deno.readFile(GRUB).catch(() => null);
  if (grub === null) {
    console.log("pvgrub: skipped (no tests/fixtures/cache/inspect/grub-i386-xen.bin)");
  } else await compare("pvgrub to grub> (40M)", grub, 40_000_000);
}
