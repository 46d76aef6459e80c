import assert from "node:assert/strict";
import { recordBlk, recordConsole, recordNet } from "./_rigs.ts";
import {
  livelockBlkback,
  lostCompletionBlkback,
  offByOneBlkback,
  throwingBlkback,
} from "./_buggy.ts";
import type { BackendFactory } from "../../lib/replay/backends.ts";
import { replayRecording as run } from "../../lib/toolstack/replay.ts";
import { applyMutations, fuzzRecording, prng, randomMutation } from "../../lib/replay/fuzz.ts";
import { BlockType, parseRecording } from "../../lib/replay/recording_format.ts";
import { replayStream, streamBlocks } from "../../lib/replay/run.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
/** Mutations per ring: 40,000 each (120,000 in all) under PVX_FUZZ=full. */
const PER_RING = FULL ? 40_000 : 400;

const dir = await Deno.makeTempDir({ prefix: "pvx-fuzz-" });
const blkFile = `${dir}/blk.rec`;
await Deno.writeFile(blkFile, (await recordBlk(18)).bytes);
const netFile = `${dir}/net.rec`;
await Deno.writeFile(netFile, await recordNet(12));
const conFile = `${dir}/con.rec`;
await Deno.writeFile(conFile, await recordConsole(20));

Deno.test("applyMutations() duplicates events, drops writes, rewrites bytes and store values", () => {
  const rec = parseRecording(Deno.readFileSync(blkFile));
  const blocks = streamBlocks(rec, 1);
  const ev = blocks.findIndex((b) => b.type === BlockType.EVENT);
  const gw = blocks.findIndex((b) => b.type === BlockType.GUEST_WRITE);
  const rd = blocks.findIndex((b) => b.type === BlockType.ST_READ);
  const { blocks: out, late } = applyMutations(blocks, [
    { k: "storm", block: ev, times: 3 },
    { k: "bytes", block: gw, off: 100, bytes: [1, 2] },
    { k: "store", block: rd, value: "junk" },
    { k: "late", input: 2, afterCalls: 1, off: 70, bytes: [9] },
  ]);
  assert.equal(out.length, blocks.length + 3);
  assert.equal(out.filter((b) => b === blocks[ev]).length, 4);
  assert.notEqual(out[gw + (gw > ev ? 3 : 0)].data.length, blocks[gw].data.length);
  assert.equal(late.length, 1);
  const dropped = applyMutations(blocks, [{ k: "drop", block: gw }]).blocks;
  assert.equal(dropped.length, blocks.length - 1);
  assert.ok(!dropped.includes(blocks[gw]));
});

Deno.test("randomMutation() draws every kind of hostile input from a seed, deterministically", () => {
  const blocks = streamBlocks(parseRecording(Deno.readFileSync(blkFile)), 1);
  const draw = (seed: number) => {
    const r = prng(seed);
    return Array.from({ length: 400 }, () => randomMutation(blocks, r, (m) => (m === 1 ? 108 : 0)));
  };
  const a = draw(7);
  assert.deepEqual(a, draw(7));
  const kinds = new Set(a.map((m) => m?.k));
  for (const k of ["bytes", "storm", "copy", "late", "drop", "store"]) {
    assert.ok(kinds.has(k as never), k);
  }
});

Deno.test(`fuzzRecording() breaks no invariant of blkback, netback and the console in ${3 * PER_RING} mutations`, async () => {
  for (const file of [blkFile, netFile, conFile]) {
    const rec = parseRecording(await Deno.readFile(file));
    const res = await fuzzRecording(rec, { mutations: PER_RING, seed: 11, streams: [1] });
    assert.equal(res.failure, undefined, JSON.stringify(res.failure?.violations));
    assert.equal(res.mutations, PER_RING);
    assert.ok(res.cases >= PER_RING / 4);
  }
});

Deno.test("pvx replay --fuzz finds an injected blkback bug and writes a minimal reproducer that replays to exit 1", async () => {
  const out = `${dir}/repro.rec`;
  const lines: string[] = [];
  const code = await run({
    file: blkFile,
    fuzz: 5000,
    seed: 3,
    out,
    factory: offByOneBlkback,
    print: (l) => lines.push(l),
  });
  assert.equal(code, 1, lines.join("\n"));
  assert.ok(
    lines.some((l) => /^FAIL vbd-51712: copy(From|To)Grant outside the granted page/.test(l)),
    lines.join("\n"),
  );
  const repro = parseRecording(await Deno.readFile(out));
  assert.equal(repro.header.check, "invariants");
  const mutLine = lines.find((l) => l.startsWith("minimal mutations: "))!;
  assert.equal(JSON.parse(mutLine.slice(19)).length, 1);
  const original = parseRecording(await Deno.readFile(blkFile));
  assert.ok(repro.blocks.length <= original.blocks.length);
  // the reproducer fails with the buggy backend and passes with the real one
  const quiet = () => {};
  assert.equal(await run({ file: out, factory: offByOneBlkback, print: quiet }), 1);
  assert.equal(await run({ file: out, print: quiet }), 0);
});

Deno.test("replayStream() in model mode reports each broken invariant", async (t) => {
  const rec = parseRecording(await Deno.readFile(blkFile));
  const check = async (factory: BackendFactory, what: RegExp) => {
    const r = await replayStream(rec, 1, { mode: "model", factory, maxSteps: 20_000 });
    assert.ok(
      r.violations.some((v) => what.test(v.what)),
      JSON.stringify(r.violations.slice(0, 3)),
    );
  };
  await t.step(
    "a lost completion: requests never answered",
    () =>
      check(
        lostCompletionBlkback,
        /^\d+ request\(s\) never answered and the device did not disconnect$/,
      ),
  );
  await t.step(
    "a livelock: the step bound",
    () => check(livelockBlkback, /^no progress: the step bound was exceeded \(a hang\)$/),
  );
  await t.step(
    "an exception escaping the backend",
    () => check(throwingBlkback, /^exception escaped the backend: TypeError: boom$/),
  );
  await t.step("the real backend: none", async () => {
    const r = await replayStream(rec, 1, { mode: "model" });
    assert.deepEqual(r.violations, []);
  });
});
