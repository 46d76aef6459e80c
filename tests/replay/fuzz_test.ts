import assert from "node:assert/strict";
import { recordBlk, recordNet } from "./_rigs.ts";
import { offByOneBlkback } from "./_buggy.ts";
import { run } from "../../tools/replay.ts";
import { applyMutations, fuzzRecording, prng, randomMutation } from "../../tools/_replay_fuzz.ts";
import { BlockType, parseRecording } from "../../lib/hypervisor/io/recording_format.ts";
import { streamBlocks } from "../../tools/_replay_run.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
/** Mutations per ring: 50,000 each (100,000 in all) under PVX_FUZZ=full. */
const PER_RING = FULL ? 50_000 : 400;

const dir = await Deno.makeTempDir({ prefix: "pvx-fuzz-" });
const blkFile = `${dir}/blk.rec`;
await Deno.writeFile(blkFile, (await recordBlk(18)).bytes);
const netFile = `${dir}/net.rec`;
await Deno.writeFile(netFile, await recordNet(12));

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

Deno.test(`fuzzRecording() breaks no invariant of blkback and netback in ${2 * PER_RING} mutations`, async () => {
  for (const file of [blkFile, netFile]) {
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
