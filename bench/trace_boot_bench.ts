/**
 * What recording a trace costs a boot: pvx's own guest runs its whole selftest with and
 * without `--trace` (the budget: under 15% slower). In-process, so Deno's
 * start-up is not measured.
 * Run: deno bench -A bench/trace_boot_bench.ts
 */
import { boot as run } from "../lib/toolstack/boot.ts";
import { MemorySink } from "../lib/console/testing.ts";

const tmp = await Deno.makeTempFile({ suffix: ".trace" });

async function boot(trace: boolean): Promise<void> {
  const sink = new MemorySink(1 << 20, 1 << 18);
  const code = await run({
    image: new URL("../guest/pvx-guest.elf", import.meta.url).pathname,
    cmdline: "selftest",
    console: sink,
    noReboot: true,
    trace: trace ? tmp : undefined,
    log: () => {},
  });
  await sink.close();
  if (code !== 0) throw new Error(`selftest boot exited ${code}: ${sink.text()}`);
}

await boot(false); // warm up the JIT and the image cache

Deno.bench("selftest boot, no trace", { group: "trace", baseline: true }, async () => {
  await boot(false);
});
Deno.bench("selftest boot, --trace (all classes)", { group: "trace" }, async () => {
  await boot(true);
});
