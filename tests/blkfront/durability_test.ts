import { ok } from "node:assert/strict";
import { blockOf, blockRound, BLOCKS, PER_ROUND } from "./durability_worker.ts";

const WORKER = new URL("./durability_worker.ts", import.meta.url).pathname;

/** Runs the worker, kills it with SIGKILL after `killAfterRounds` flushed rounds. */
async function runAndKill(path: string, killAfterRounds: number): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, path],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let lastFlushed = -1;
  let buf = "";
  let killed = false;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^F (\d+)$/.exec(line);
      if (m) lastFlushed = Number(m[1]);
    }
    if (!killed && lastFlushed >= killAfterRounds) {
      child.kill("SIGKILL"); // mid-run: writes of the next round are in flight
      killed = true;
    }
  }
  const status = await child.status;
  const err = await new Response(child.stderr).text();
  ok(killed && status.signal === "SIGKILL", `worker ended by itself (${status.code}): ${err}`);
  return lastFlushed;
}

Deno.test("Blkback keeps every write acknowledged before a completed flush across SIGKILL", async () => {
  const path = await Deno.makeTempFile({ suffix: ".img" });
  try {
    await Deno.writeFile(path, new Uint8Array(BLOCKS * 4096));
    const lastFlushed = await runAndKill(path, 40 + Math.floor(Math.random() * 40));
    ok(lastFlushed >= 40, `only ${lastFlushed + 1} rounds flushed`);
    // The newest round <= lastFlushed that wrote each block: the file must hold it or newer.
    const need = new Int32Array(BLOCKS).fill(-1);
    for (let r = 0; r <= lastFlushed; r++) {
      for (let j = 0; j < PER_ROUND; j++) need[blockOf(r, j)] = r;
    }
    const file = await Deno.readFile(path);
    let checked = 0;
    for (let b = 0; b < BLOCKS; b++) {
      const got = blockRound(file.subarray(b * 4096, (b + 1) * 4096), b);
      ok(got !== undefined, `block ${b} holds a torn or foreign version`);
      ok(got >= need[b], `block ${b}: flushed round ${need[b]} lost (file has ${got})`);
      if (need[b] >= 0) checked++;
    }
    ok(checked > 100, "enough blocks were covered by a flush");
  } finally {
    await Deno.remove(path);
  }
});
