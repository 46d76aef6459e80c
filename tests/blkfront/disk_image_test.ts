import { yieldToEventLoop } from "../../lib/blkfront/testing.ts";
import { assertBytes } from "./_assert.ts";
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import {
  DiskImageError,
  MemoryDiskImage,
  SnapshotDiskImage,
} from "../../lib/blkfront/disk_image.ts";
import { openDiskImage } from "../../lib/toolstack/disk_file.ts";

async function tempImage(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".img" });
  await Deno.writeFile(path, bytes);
  return path;
}

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

Deno.test("openDiskImage() reads and writes a raw file in place", async () => {
  const path = await tempImage(pattern(64 * 512));
  try {
    const img = await openDiskImage(path);
    strictEqual(img.sectors, 64);
    strictEqual(img.readonly, false);
    const got = new Uint8Array(1024);
    await img.read(10, got);
    assertBytes(got, pattern(64 * 512).subarray(5120, 6144));
    await img.write(3, new Uint8Array(512).fill(0xee));
    await img.flush();
    await img.close();
    const file = await Deno.readFile(path);
    ok(file.subarray(1536, 2048).every((b) => b === 0xee));
    strictEqual(file[1535], pattern(64 * 512)[1535]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("openDiskImage() ignores a trailing partial sector and refuses I/O past the end", async () => {
  const path = await tempImage(pattern(10 * 512 + 100));
  try {
    const img = await openDiskImage(path);
    strictEqual(img.sectors, 10);
    await rejects(img.read(9, new Uint8Array(1024)), DiskImageError);
    await rejects(img.read(-1, new Uint8Array(512)), DiskImageError);
    await rejects(img.write(10, new Uint8Array(512)), DiskImageError);
    await rejects(img.read(0, new Uint8Array(100)), /not a whole number of sectors/);
    await rejects(img.discard(5, 6), DiskImageError);
    await img.close();
    await rejects(img.read(0, new Uint8Array(512)), /closed/);
    strictEqual((await Deno.stat(path)).size, 10 * 512 + 100);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("openDiskImage() in read-only mode refuses writes and discards", async () => {
  const path = await tempImage(pattern(8 * 512));
  try {
    const img = await openDiskImage(path, { readonly: true });
    strictEqual(img.readonly, true);
    await rejects(img.write(0, new Uint8Array(512)), /read-only/);
    await rejects(img.discard(0, 1), /read-only/);
    await img.flush();
    await img.close();
    assertBytes(await Deno.readFile(path), pattern(8 * 512));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("openDiskImage() reports a missing file or a directory as DiskImageError", async () => {
  await rejects(openDiskImage("/nonexistent/disk.img"), (e: unknown) => {
    return e instanceof DiskImageError &&
      e.message === 'Cannot open disk image "/nonexistent/disk.img": no such file';
  });
  const dir = await Deno.makeTempDir();
  try {
    await rejects(openDiskImage(dir, { readonly: true }), /not a regular file/);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("openDiskImage({snapshot}) reads its writes back and leaves the file untouched", async () => {
  const orig = pattern(40 * 512, 3);
  const path = await tempImage(orig);
  try {
    const img = await openDiskImage(path, { snapshot: true });
    ok(img instanceof SnapshotDiskImage);
    strictEqual(img.readonly, false);
    await img.write(5, new Uint8Array(3 * 512).fill(1)); // partial chunks on both sides
    await img.write(16, new Uint8Array(8 * 512).fill(2)); // one whole chunk
    await img.discard(30, 2);
    await img.flush();
    const all = new Uint8Array(40 * 512);
    await img.read(0, all);
    const want = orig.slice();
    want.fill(1, 5 * 512, 8 * 512);
    want.fill(2, 16 * 512, 24 * 512);
    want.fill(0, 30 * 512, 32 * 512);
    assertBytes(all, want);
    await img.close();
    assertBytes(await Deno.readFile(path), orig);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("SnapshotDiskImage matches a plain in-memory image under random writes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          discard: fc.boolean(),
          sector: fc.nat({ max: 63 }),
          count: fc.integer({ min: 1, max: 20 }),
          fill: fc.nat({ max: 255 }),
        }),
        { maxLength: 30 },
      ),
      async (ops) => {
        const base = pattern(64 * 512, 5);
        const model = new MemoryDiskImage(base.slice());
        const snap = new SnapshotDiskImage(new MemoryDiskImage(base.slice(), true));
        for (const op of ops) {
          const count = Math.min(op.count, 64 - op.sector);
          if (op.discard) {
            await model.discard(op.sector, count);
            await snap.discard(op.sector, count);
          } else {
            const data = new Uint8Array(count * 512).fill(op.fill);
            await model.write(op.sector, data);
            await snap.write(op.sector, data);
          }
        }
        const a = new Uint8Array(64 * 512);
        const b = new Uint8Array(64 * 512);
        await model.read(0, a);
        await snap.read(0, b);
        assertBytes(b, a);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("RawFileDiskImage runs queued I/O in submission order", async () => {
  const path = await tempImage(new Uint8Array(16 * 512));
  try {
    const img = await openDiskImage(path);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) jobs.push(img.write(i % 4, new Uint8Array(512).fill(i)));
    const got = new Uint8Array(4 * 512);
    jobs.push(img.read(0, got));
    await Promise.all(jobs);
    deepStrictEqual([got[0], got[512], got[1024], got[1536]], [48, 49, 46, 47]);
    await img.discard(0, 16);
    const z = new Uint8Array(16 * 512).fill(9);
    await img.read(0, z);
    ok(z.every((b) => b === 0));
    await img.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("RawFileDiskImage.discard() zeroes data and leaves a sparse file's holes unwritten", async () => {
  const path = await Deno.makeTempFile({ suffix: ".img" });
  try {
    const f = await Deno.open(path, { write: true });
    await f.truncate(64 << 20); // 64 MiB of holes
    f.close();
    const img = await openDiskImage(path);
    await img.write(1000, new Uint8Array(4096).fill(7));
    const before = (await Deno.stat(path)).blocks ?? 0;
    await img.discard(0, img.sectors);
    await img.flush();
    const back = new Uint8Array(4096).fill(1);
    await img.read(1000, back);
    ok(back.every((b) => b === 0));
    const after = (await Deno.stat(path)).blocks;
    if (after !== null) ok(after <= before + 16, `file filled: ${before} -> ${after} blocks`);
    await img.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("RawFileDiskImage.discard() of odd-sized ranges matches an in-memory image", async () => {
  const size = 300;
  const path = await tempImage(pattern(size * 512, 8));
  try {
    const file = await openDiskImage(path);
    const mem = new MemoryDiskImage(pattern(size * 512, 8));
    for (const [s, n] of [[1, 3], [7, 1], [20, 9], [100, 150], [299, 1], [0, 1]]) {
      await file.discard(s, n);
      await mem.discard(s, n);
    }
    const a = new Uint8Array(size * 512);
    await file.read(0, a);
    assertBytes(a, mem.bytes);
    await file.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("RawFileDiskImage's read cache stays coherent with writes, discards and readNow()", async () => {
  const sectors = 2048; // 1 MiB: 8 cache chunks
  const base = pattern(sectors * 512, 21);
  const path = await tempImage(base);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            kind: fc.constantFrom("seqread", "read", "now", "write", "discard", "writeThenNow"),
            delta: fc.integer({ min: -300, max: 300 }), // near the sequential reader
            count: fc.integer({ min: 1, max: 300 }),
            fill: fc.nat({ max: 255 }),
          }),
          { maxLength: 40 },
        ),
        async (ops) => {
          await Deno.writeFile(path, base);
          const file = await openDiskImage(path);
          const model = new MemoryDiskImage(base.slice());
          let next = 0; // a sequential reader's position
          for (const o of ops) {
            const op = { ...o, sector: Math.max(0, Math.min(sectors - 1, next + o.delta)) };
            const count = Math.min(op.count, sectors - op.sector);
            const want = new Uint8Array(count * 512);
            const got = new Uint8Array(count * 512);
            if (op.kind === "seqread" || op.kind === "read" || op.kind === "now") {
              const at = op.kind === "seqread" ? next : op.sector;
              const n = Math.min(count, sectors - at);
              if (n === 0) {
                next = 0;
                continue;
              }
              await model.read(at, want.subarray(0, n * 512));
              if (op.kind === "now") {
                if (!file.readNow!(at, got.subarray(0, n * 512))) continue; // not cached
              } else await file.read(at, got.subarray(0, n * 512));
              assertBytes(got.subarray(0, n * 512), want.subarray(0, n * 512), `read ${at}+${n}`);
              next = at + n;
            } else if (op.kind === "discard") {
              await file.discard(op.sector, count);
              await model.discard(op.sector, count);
            } else {
              const data = new Uint8Array(count * 512).fill(op.fill);
              const w = file.write(op.sector, data);
              await model.write(op.sector, data);
              if (op.kind === "writeThenNow") {
                strictEqual(file.readNow!(op.sector, got), false, "readNow passed a queued write");
              }
              await w;
            }
          }
          await file.close();
        },
      ),
      { numRuns: 100 },
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("RawFileDiskImage answers a sequential reader from its cache with read-ahead", async () => {
  const path = await tempImage(pattern(4096 * 512, 22));
  try {
    const img = await openDiskImage(path);
    const buf = new Uint8Array(4096);
    let now = 0;
    for (let s = 0; s < 4096; s += 8) {
      if (img.readNow!(s, buf)) now++;
      else await img.read(s, buf);
      assertBytes(buf, pattern(4096 * 512, 22).subarray(s * 512, s * 512 + 4096));
      await yieldToEventLoop(); // let read-ahead land, as slices would
    }
    ok(now > 400, `only ${now} of 512 reads answered at once`);
    await img.close();
  } finally {
    await Deno.remove(path);
  }
});
