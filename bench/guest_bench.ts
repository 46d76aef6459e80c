/**
 * Benchmarks of pvx running its own guest: boot to the shell prompt (and poweroff), and
 * a user-mode compute loop (`init=spin`, 20M iterations of an LCG). `deno bench -A
 * bench/guest_bench.ts` times them; `deno run -A bench/guest_bench.ts` prints the figures
 * (wall time, guest instructions, instructions per second) quoted in guest/README.md.
 * @module
 */
import { boot as run } from "../lib/toolstack/boot.ts";
import { MemorySink } from "../lib/console/testing.ts";
import type { Machine } from "../lib/hypervisor/machine/machine.ts";

const IMAGE = new URL("../guest/pvx-guest.elf", import.meta.url).pathname;

/** Boots the guest; returns the wall time (ms) and the guest's retired instructions. */
export async function bootOnce(
  cmdline: string,
  input = "",
): Promise<{ ms: number; instructions: number; code: number }> {
  const sink = new MemorySink(1 << 20, 1 << 18);
  if (input) sink.type(input);
  let machine: Machine | undefined;
  const t0 = performance.now();
  const code = await run({
    image: IMAGE,
    cmdline,
    console: sink,
    noReboot: true,
    log: () => {},
    onMachine: (m) => {
      machine = m;
    },
  });
  const ms = performance.now() - t0;
  await sink.close();
  const instructions = machine ? machine.domain.vcpus[0].cpu.retired : 0;
  return { ms, instructions, code };
}

Deno.bench("guest: boot to the shell prompt, then poweroff", async () => {
  await bootOnce("", "poweroff\n");
});

Deno.bench("guest: user-mode compute loop (init=spin)", async () => {
  await bootOnce("init=spin");
});

if (import.meta.main) {
  const shell = await bootOnce("", "poweroff\n");
  const spin = await bootOnce("init=spin");
  const loopInstr = spin.instructions - shell.instructions;
  const loopMs = spin.ms - shell.ms;
  console.log(
    `boot to shell + poweroff: ${shell.ms.toFixed(0)} ms, ${shell.instructions} instructions`,
  );
  console.log(`init=spin: ${spin.ms.toFixed(0)} ms, ${spin.instructions} instructions`);
  console.log(
    `user-mode loop: ~${loopInstr} instructions in ~${loopMs.toFixed(0)} ms = ${
      (loopInstr / (loopMs / 1000) / 1e6).toFixed(1)
    } M instructions/s`,
  );
}
