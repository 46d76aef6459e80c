import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyRuns,
  BlockType,
  diffPage,
  encodeBlock,
  encodeDisk,
  encodeHeader,
  encodePayload,
  parseRecording,
  RecordingFormatError,
} from "../../lib/replay/recording_format.ts";
import { MemoryRecordingSink, RingRecorder } from "../../lib/replay/recording_host.ts";
import { InputError } from "../../lib/errors.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";

async function smallRecording(): Promise<Uint8Array> {
  const out = new MemoryRecordingSink();
  const rec = new RingRecorder(out.sink, { test: true });
  const disk = new Uint8Array(1024).fill(7);
  await rec.stream({} as never, { name: "vbd-1", kind: "vbd", domid: 1, devid: 1 }, disk);
  rec.write(BlockType.EVENT, 0, 1, Uint8Array.of(1, 1, 0, 0, 0));
  rec.write(BlockType.NOTIFY, 1, 1, Uint8Array.of(1, 1, 0, 0, 0));
  return out.bytes();
}

Deno.test("parseRecording() returns the header, streams, inline disk and blocks of a recording", async () => {
  const r = parseRecording(await smallRecording());
  assert.equal(r.header.check, "compare");
  assert.deepEqual(r.header.info, { test: true });
  assert.equal(r.streams.get(1)?.name, "vbd-1");
  assert.equal(r.streams.get(1)?.diskBytes, 1024);
  assert.equal(r.streams.get(1)?.diskInline, true);
  assert.match(r.streams.get(1)?.diskSha256 ?? "", /^[0-9a-f]{64}$/);
  assert.deepEqual(r.disks.get(1), new Uint8Array(1024).fill(7));
  assert.deepEqual(r.blocks.map((b) => b.type), [
    BlockType.STREAM,
    BlockType.DISK,
    BlockType.EVENT,
    BlockType.NOTIFY,
  ]);
  assert.equal(r.blocks[3].depth, 1);
  assert.deepEqual([...r.blocks[3].args], [1]);
});

Deno.test("parseRecording() reports a truncation at any length with its byte offset", async () => {
  const bytes = await smallRecording();
  let errors = 0;
  for (let n = 0; n < bytes.length; n += n < 200 ? 1 : 97) {
    // cutting exactly at a block boundary leaves a valid, shorter recording
    try {
      parseRecording(bytes.subarray(0, n));
    } catch (e) {
      errors++;
      assert.ok(e instanceof RecordingFormatError, String(e));
      assert.ok(e instanceof InputError);
      assert.ok(e.offset >= 0 && e.offset <= n, `offset ${e.offset} for length ${n}`);
      assert.match(e.message, /at byte offset \d+$/);
    }
  }
  assert.ok(errors > 100);
  assert.throws(
    () => parseRecording(bytes.subarray(0, 10)),
    /Truncated recording header at byte offset 0/,
  );
});

Deno.test("parseRecording() detects any corrupted byte (checksums) and never throws anything else", async () => {
  const bytes = await smallRecording();
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const b = bytes.slice();
      b[at] ^= x;
      try {
        parseRecording(b);
        return false; // every byte is covered by a checksum or a check
      } catch (e) {
        return e instanceof RecordingFormatError;
      }
    }),
    { numRuns: FULL ? 20000 : 500 },
  );
  const b = bytes.slice();
  b[bytes.length - 1] ^= 1; // inside the last payload
  assert.throws(() => parseRecording(b), /Checksum mismatch in NOTIFY block at byte offset \d+/);
  const m = bytes.slice();
  m[0] = 0x51;
  assert.throws(() => parseRecording(m), /Not a pvx ring recording/);
});

Deno.test("diffPage() and applyRuns() reproduce any page change exactly", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
      fc.array(fc.tuple(fc.nat(4095), fc.nat(255)), { maxLength: 64 }),
      (before, edits) => {
        const after = before.slice();
        for (const [o, v] of edits) after[o] = v;
        const shadow = before.slice();
        const runs = diffPage(shadow, after);
        assert.deepEqual(shadow, after);
        if (runs === null) return assert.deepEqual(before, after);
        const page = before.slice();
        assert.equal(applyRuns(page, runs), true);
        assert.deepEqual(page, after);
      },
    ),
    { numRuns: FULL ? 2000 : 100 },
  );
});

Deno.test("parseRecording() inflates a compressed DISK block and rejects a corrupt one", () => {
  const disk = new Uint8Array(1 << 20);
  disk[12345] = 9;
  const head = encodeHeader({ pvxVersion: "0" });
  const stream = encodeBlock(
    BlockType.STREAM,
    0,
    1,
    encodePayload([], new TextEncoder().encode('{"name":"vbd-1","kind":"vbd","domid":1}')),
  );
  const good = encodeBlock(BlockType.DISK, 0, 1, encodeDisk(disk));
  assert.ok(good.length < 4096, `${good.length} bytes for 1 MiB of zeroes`);
  assert.deepEqual(parseRecording(concat(head, stream, good)).disks.get(1), disk);
  const bad = encodeBlock(
    BlockType.DISK,
    0,
    1,
    encodePayload([1, 1 << 20], Uint8Array.of(1, 2, 3)),
  );
  assert.throws(
    () => parseRecording(concat(head, stream, bad)),
    /Corrupt compressed disk image at byte offset \d+/,
  );
  const odd = encodeBlock(BlockType.DISK, 0, 1, encodePayload([7], Uint8Array.of(1)));
  assert.throws(() => parseRecording(concat(head, stream, odd)), /Unknown DISK block encoding/);
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
