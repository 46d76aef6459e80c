/**
 * Block I/O through the ring: the TS blkfront driving blkback over a raw image file
 * (page-cached) on the fake host. Sequential 1 MiB requests (256 indirect segments) and
 * random 4 KiB requests, 32 in flight.
 *
 *   deno bench -A bench/blk_bench.ts      per-iteration times
 *   deno run -A bench/blk_bench.ts        MB/s and IOPS table
 * @module
 */
import { openDiskImage } from "../lib/toolstack/disk_file.ts";
import { makeBlkRig } from "../lib/blkfront/testing.ts";
import type { Blkfront } from "../lib/blkfront/frontend.ts";

const IMAGE_MIB = 64;
const SEQ_CHUNK = 1 << 20;
const RAND_OPS = 4096;
const INFLIGHT = 32;

/** A connected frontend over a fresh 64 MiB image file. */
async function setUp(): Promise<{ f: Blkfront; path: string; done: () => Promise<void> }> {
  const path = await Deno.makeTempFile({ suffix: ".img" });
  const init = new Uint8Array(IMAGE_MIB << 20);
  for (let i = 0; i < init.length; i += 4096) init[i] = i >>> 12;
  await Deno.writeFile(path, init);
  const image = await openDiskImage(path);
  const rig = await makeBlkRig({ image, frontend: { maxSegments: 256 } });
  return {
    f: rig.frontend,
    path,
    done: async () => {
      await rig.backend.close();
      await image.close();
      await Deno.remove(path);
    },
  };
}

/** Runs `jobs` calls of `job(i)` with at most INFLIGHT outstanding. */
async function pool(jobs: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs) await job(next++);
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
}

/** Sequential read or write of the whole image in 1 MiB requests. */
function seq(f: Blkfront, write: boolean): Promise<void> {
  const bufs = Array.from({ length: INFLIGHT }, () => new Uint8Array(SEQ_CHUNK));
  const per = SEQ_CHUNK / 512;
  return pool(IMAGE_MIB, (i) => {
    const b = bufs[i % INFLIGHT];
    return write ? f.write(i * per, b) : f.readInto(i * per, b);
  });
}

/** RAND_OPS random 4 KiB reads or writes. */
function rand(f: Blkfront, write: boolean, seed: number): Promise<void> {
  const bufs = Array.from({ length: INFLIGHT }, () => new Uint8Array(4096));
  const pages = (IMAGE_MIB << 20) / 4096;
  let x = seed >>> 0 || 1;
  return pool(RAND_OPS, (i) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const page = (x >>> 0) % pages;
    const b = bufs[i % INFLIGHT];
    return write ? f.write(page * 8, b) : f.readInto(page * 8, b);
  });
}

if (import.meta.main) {
  const { f, done } = await setUp();
  const rows: string[] = [];
  const time = async (fn: () => Promise<void>) => {
    await fn(); // warm-up
    const t0 = performance.now();
    await fn();
    return (performance.now() - t0) / 1000;
  };
  for (const write of [false, true]) {
    const s = await time(() => seq(f, write));
    rows.push(`sequential ${write ? "write" : "read "} 1 MiB: ${(IMAGE_MIB / s).toFixed(0)} MB/s`);
  }
  for (const write of [false, true]) {
    const s = await time(() => rand(f, write, 7));
    const iops = RAND_OPS / s;
    rows.push(
      `random ${write ? "write" : "read "} 4 KiB:    ${iops.toFixed(0)} IOPS (${
        (iops * 4096 / (1 << 20)).toFixed(1)
      } MB/s)`,
    );
  }
  await done();
  console.log(rows.join("\n"));
} else {
  const { f, path } = await setUp();
  globalThis.addEventListener("unload", () => Deno.removeSync(path));
  Deno.bench(`sequential read ${IMAGE_MIB} MiB (1 MiB requests)`, async () => {
    await seq(f, false);
  });
  Deno.bench(`sequential write ${IMAGE_MIB} MiB (1 MiB requests)`, async () => {
    await seq(f, true);
  });
  Deno.bench(`random read ${RAND_OPS} x 4 KiB`, async () => {
    await rand(f, false, 7);
  });
  Deno.bench(`random write ${RAND_OPS} x 4 KiB`, async () => {
    await rand(f, true, 9);
  });
}
