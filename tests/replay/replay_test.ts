import assert from "node:assert/strict";
import { recordBlk, recordConsole, recordNet } from "./_rigs.ts";
import { corruptingBlkback, failingReadsBlkback } from "./_buggy.ts";
import { replayRecording as run, type ReplayReport } from "../../lib/toolstack/replay.ts";
import { parseRecording } from "../../lib/replay/recording_format.ts";
import { replayStream } from "../../lib/replay/run.ts";
import { readPcap } from "../../lib/netfront/pcap.ts";
import { RecordingFormatError } from "../../lib/replay/recording_format.ts";
import { UsageError } from "../../lib/errors.ts";
import { main } from "../../cli.ts";

const dir = await Deno.makeTempDir({ prefix: "pvx-replay-" });
const blk = await recordBlk(18);
const blkFile = `${dir}/blk.rec`;
await Deno.writeFile(blkFile, blk.bytes);
const netFile = `${dir}/net.rec`;
await Deno.writeFile(netFile, await recordNet(12));

function capture(): { print: (l: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { print: (l) => lines.push(l), lines };
}

Deno.test("replayStream() re-drives a recorded blkfront session with zero divergences", async () => {
  const rec = parseRecording(blk.bytes);
  const r = await replayStream(rec, 1);
  assert.deepEqual(r.divergences, []);
  assert.deepEqual(r.violations, []);
  assert.ok(r.inputs > 18, `inputs ${r.inputs}`);
  assert.ok(r.compared > 50, `compared ${r.compared}`);
});

Deno.test("replayStream() re-drives a recorded netfront session (fresh switch and responder) with zero divergences", async () => {
  const rec = parseRecording(await Deno.readFile(netFile));
  const r = await replayStream(rec, 1);
  assert.deepEqual(r.divergences, []);
  assert.ok(r.compared > 30);
});

Deno.test("replayStream() re-drives a recorded console session with zero divergences", async () => {
  const rec = parseRecording(await recordConsole(20));
  assert.equal(rec.streams.get(1)?.kind, "console");
  const r = await replayStream(rec, 1);
  assert.deepEqual(r.divergences, []);
  assert.ok(r.inputs >= 20 && r.compared >= 20, `${r.inputs} inputs, ${r.compared} compared`);
});

Deno.test("run() reports a backend that corrupts read data: ring, request and expected vs got, exit 1", async () => {
  const out = capture();
  const code = await run({
    file: blkFile,
    json: true,
    print: out.print,
    factory: corruptingBlkback,
  });
  assert.equal(code, 1);
  const rep: ReplayReport = JSON.parse(out.lines.join("\n"));
  const d = rep.rings[0].divergences[0];
  assert.equal(d.ring, "vbd-51712");
  assert.match(d.what, /^COPY_TO\(1, \d+, 0, 0\) data byte 0$/);
  assert.match(d.request ?? "", /^ring request #\d+ \(slot \d+\): id \d+, segment 0$/);
  const exp = parseInt(d.expected.split(" ")[1], 16);
  const got = parseInt(d.got.split(" ")[1], 16);
  assert.equal(exp ^ got, 0xff);
});

Deno.test("run() reports a backend that answers with a different status as a ring-slot divergence", async () => {
  const rec = parseRecording(blk.bytes);
  // the copies into the guest fail: every read is answered BLKIF_RSP_ERROR instead of OKAY
  const r = await replayStream(rec, 1, { factory: failingReadsBlkback });
  const slot = r.divergences.find((d) => d.what.startsWith("ring page"));
  assert.ok(slot, JSON.stringify(r.divergences.slice(0, 3)));
  assert.match(slot.request ?? "", /^ring slot \d+ \(response id \d+\)$/);
});

Deno.test("run() prints a summary table and selects rings with --ring", async () => {
  const out = capture();
  assert.equal(await run({ file: blkFile, print: out.print, rings: ["vbd-51712"] }), 0);
  assert.match(
    out.lines[0],
    /^ring\s+kind\s+inputs\s+calls\s+compared\s+divergences\s+violations\s+result$/,
  );
  assert.match(out.lines[1], /^vbd-51712\s+vbd\s+\d+\s+\d+\s+\d+\s+0\s+0\s+ok$/);
  await assert.rejects(
    () => run({ file: blkFile, print: out.print, rings: ["vif-9"] }),
    UsageError,
  );
});

Deno.test("run() exports vif traffic as pcap and vbd traffic as text", async () => {
  const pcap = `${dir}/out.pcap`;
  assert.equal(await run({ file: netFile, pcap, print: () => {} }), 0);
  const frames = readPcap(await Deno.readFile(pcap));
  // 12 frames from the guest and the responder's answers (ARP replies, UDP echoes)
  assert.ok(frames.length >= 20, `frames ${frames.length}`);
  assert.equal(frames.filter((f) => f.frame[12] === 0x08 && f.frame[13] === 0x06).length, 6);
  const text = `${dir}/vbd.txt`;
  assert.equal(await run({ file: blkFile, vbdText: text, print: () => {} }), 0);
  const lines = (await Deno.readTextFile(text)).trim().split("\n");
  const reqs = lines.filter((l) => / req #/.test(l));
  const rsps = lines.filter((l) => / rsp #/.test(l));
  assert.equal(reqs.length, rsps.length);
  assert.ok(reqs.length >= 19, `${reqs.length} requests`);
  assert.match(reqs[0], /^vbd-51712 req #0 id=\d+ write sector=0 segs=\[\d+:0-7\]$/);
  assert.ok(rsps.every((l) => / status=0$/.test(l)));
  assert.ok(lines.some((l) => /flush_diskcache/.test(l)));
});

Deno.test("pvx replay exits 2 with the byte offset for a corrupt or truncated recording", async () => {
  const bad = `${dir}/bad.rec`;
  const b = blk.bytes.slice(0, 5000);
  await Deno.writeFile(bad, b);
  await assert.rejects(() => run({ file: bad, print: () => {} }), RecordingFormatError);
  const err = console.error;
  const msgs: string[] = [];
  console.error = (m: string) => msgs.push(String(m));
  try {
    assert.equal(await main(["replay", bad]), 2);
    assert.equal(await main(["replay", `${dir}/none.rec`]), 2);
    assert.equal(await main(["replay", blkFile, "--ring", "vbd-51712"]), 0);
  } finally {
    console.error = err;
  }
});
