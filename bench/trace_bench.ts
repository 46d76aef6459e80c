/**
 * Trace decode throughput: pvx's decoder vs Debian's xenalyze on the same file.
 * Run: deno bench -A bench/trace_bench.ts
 */
import { MemoryTraceSink, XentraceWriter } from "../lib/hypervisor/trace/xentrace_writer.ts";
import { readTraceBatches } from "../lib/trace/decode.ts";
import { summarize } from "../lib/trace/summary.ts";
import { hypercallArg32, TRC_PV_HYPERCALL_V2 } from "../lib/abi/trace.ts";

const N = 1_000_000;
let tsc = 0;
const sink = new MemoryTraceSink();
const w = new XentraceWriter({ clock: () => (tsc += 50), sink: sink.sink });
w.switchTo(1, 0);
for (let i = 0; i < N; i++) {
  w.rec(TRC_PV_HYPERCALL_V2, 3, (i % 40) | hypercallArg32(0) | hypercallArg32(1), i, 7, 0, 0, 0);
}
w.flush();
const bytes = sink.bytes();
const path = await Deno.makeTempFile({ suffix: ".trace" });
await Deno.writeFile(path, bytes);
const hasXenalyze = (() => {
  try {
    return Deno.statSync("/usr/bin/xenalyze").isFile;
  } catch {
    return false;
  }
})();

Deno.bench(`pvx decode + summary, ${N} records (${(bytes.length / 1e6).toFixed(1)} MB)`, {
  group: "decode",
  baseline: true,
}, async () => {
  const f = await Deno.open(path);
  await summarize(readTraceBatches(f.readable));
});

Deno.bench({
  name: `xenalyze --summary, ${N} records`,
  group: "decode",
  ignore: !hasXenalyze,
  fn: async () => {
    await new Deno.Command("xenalyze", {
      args: ["--summary", path],
      stdout: "null",
      stderr: "null",
    })
      .output();
  },
});

Deno.bench(`XentraceWriter: ${N / 10} records`, () => {
  const s = new MemoryTraceSink();
  const wr = new XentraceWriter({ clock: () => 1, sink: s.sink });
  for (let i = 0; i < N / 10; i++) wr.rec(TRC_PV_HYPERCALL_V2, 2, 18, i, 0, 0, 0, 0);
  wr.flush();
});
