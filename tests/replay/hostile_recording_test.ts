/**
 * `pvx replay` of well-formed but hostile recordings (any block sequence with valid
 * checksums): the replay ends with divergences or an InputError, never another exception
 * or a hang.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BlockType,
  encodeBlock,
  encodeHeader,
  encodePayload,
  parseRecording,
  utf8,
} from "../../lib/replay/recording_format.ts";
import { InputError } from "../../lib/errors.ts";
import { replayStream } from "../../lib/replay/run.ts";
import { recordBlk } from "./_rigs.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const TYPES = Object.values(BlockType).filter((t) =>
  t !== BlockType.STREAM && t !== BlockType.DISK
);

const arbBlock = fc.record({
  type: fc.constantFrom(...TYPES),
  depth: fc.constantFrom(0, 0, 0, 1, 2),
  args: fc.array(fc.oneof(fc.integer({ min: -5, max: 12 }), fc.integer()), {
    minLength: 5,
    maxLength: 6,
  }),
  data: fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.constant(utf8("/local/domain/1/device/vbd/51712/state\u00004")),
    fc.constant(new Uint8Array(4096).fill(1)),
  ),
});

function recording(
  kind: "vbd" | "vif" | "console",
  blocks: { type: number; depth: number; args: number[]; data: Uint8Array }[],
): Uint8Array {
  const parts = [
    encodeHeader({ pvxVersion: "0", check: "compare" }),
    encodeBlock(
      BlockType.STREAM,
      0,
      1,
      encodePayload(
        [],
        utf8(JSON.stringify({ name: kind, kind, domid: 1, devid: 51712, mfn: 5, port: 2 })),
      ),
    ),
  ];
  if (kind === "vbd") {
    parts.push(encodeBlock(BlockType.DISK, 0, 1, encodePayload([], new Uint8Array(8192))));
  }
  for (const b of blocks) {
    parts.push(encodeBlock(b.type, b.depth, 1, encodePayload(b.args, b.data)));
  }
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("replayStream() survives any well-formed hostile recording (compare and model modes)", async () => {
  let replayed = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("vbd" as const, "vif" as const, "console" as const),
      fc.array(arbBlock, { maxLength: 40 }),
      fc.boolean(),
      async (kind, blocks, model) => {
        let rec;
        try {
          rec = parseRecording(recording(kind, blocks));
        } catch (e) {
          assert.ok(e instanceof InputError, String(e)); // too few arguments for a type
          return;
        }
        replayed++;
        try {
          await replayStream(rec, 1, { mode: model ? "model" : "compare", maxSteps: 10_000 });
        } catch (e) {
          assert.ok(e instanceof InputError, `${kind}: ${e instanceof Error ? e.stack : e}`);
        }
      },
    ),
    { numRuns: FULL ? 3000 : 150 },
  );
  assert.ok(replayed >= 100, `${replayed} replayed`);
});

Deno.test("replayStream() survives a real recording with blocks dropped, repeated and re-argued", async () => {
  const base = parseRecording((await recordBlk(6)).bytes);
  const blocks = base.blocks.filter((b) =>
    b.type !== BlockType.STREAM && b.type !== BlockType.DISK
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          at: fc.nat(blocks.length - 1),
          op: fc.constantFrom("drop", "dup", "arg", "depth"),
          v: fc.integer({ min: -3, max: 40 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      fc.boolean(),
      async (edits, model) => {
        const bs = blocks.slice();
        for (const e of edits) {
          const b = bs[e.at % bs.length];
          if (!b) continue;
          if (e.op === "drop") bs.splice(e.at % bs.length, 1);
          else if (e.op === "dup") bs.splice(e.at % bs.length, 0, b);
          else if (e.op === "arg" && b.args.length > 0) {
            const args = b.args.slice();
            args[Math.abs(e.v) % args.length] = e.v;
            bs[e.at % bs.length] = { ...b, args };
          } else bs[e.at % bs.length] = { ...b, depth: Math.abs(e.v) % 3 };
        }
        const rec = { ...base, blocks: [...base.blocks.slice(0, 2), ...bs] };
        const r = await replayStream(rec, 1, {
          mode: model ? "model" : "compare",
          maxSteps: 50_000,
        });
        assert.ok(Array.isArray(r.divergences));
      },
    ),
    { numRuns: FULL ? 2000 : 60 },
  );
});
