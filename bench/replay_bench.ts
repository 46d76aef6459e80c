/**
 * Replay speed: a recorded blkfront session (200 requests) and a netfront session (200
 * frames) re-driven against fresh backends with every call and page compared, and the
 * fuzzer's model-mode replays.
 *
 *   deno bench -A bench/replay_bench.ts      per-iteration times
 *   deno run -A bench/replay_bench.ts        requests/s table
 * @module
 */
import { recordBlk, recordNet } from "../tests/replay/_rigs.ts";
import { parseRecording } from "../lib/replay/recording_format.ts";
import { replayStream } from "../lib/replay/run.ts";
import { fuzzRecording } from "../lib/replay/fuzz.ts";

const REQUESTS = 200;
const blk = parseRecording((await recordBlk(REQUESTS)).bytes);
const net = parseRecording(await recordNet(REQUESTS));

async function replayOnce(which: "blk" | "net"): Promise<void> {
  const r = await replayStream(which === "blk" ? blk : net, 1);
  if (r.divergences.length > 0) throw new Error(`${which}: ${r.divergences[0].what}`);
}

if (import.meta.main) {
  const rows: string[] = [];
  for (const which of ["blk", "net"] as const) {
    await replayOnce(which);
    const n = 20;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await replayOnce(which);
    const s = (performance.now() - t0) / 1000;
    rows.push(`${which} replay (compare): ${Math.round((n * REQUESTS) / s)} requests/s`);
  }
  const t0 = performance.now();
  const res = await fuzzRecording(blk, { mutations: 2000, seed: 1, streams: [1] });
  const s = (performance.now() - t0) / 1000;
  rows.push(
    `blk fuzz (model): ${Math.round(res.mutations / s)} mutations/s, ` +
      `${Math.round(res.cases / s)} cases/s`,
  );
  for (const r of rows) console.log(r);
} else {
  Deno.bench(`replay a blkfront session (${REQUESTS} requests)`, async () => {
    await replayOnce("blk");
  });
  Deno.bench(`replay a netfront session (${REQUESTS} frames)`, async () => {
    await replayOnce("net");
  });
}
