/**
 * The pvx-side process of the durability test: blkback over a real image file driven by
 * the TS frontend, writing rounds of 4 KiB blocks; after each round is acknowledged it
 * flushes and prints "F <round>" once the flush is answered. Killed with SIGKILL by
 * durability_test.ts, which then checks the file.
 *
 * Usage: deno run -A durability_worker.ts IMAGE
 * @module
 */
import { openDiskImage } from "../../lib/toolstack/disk_file.ts";
import { makeBlkRig } from "../../lib/blkfront/testing.ts";

/** Blocks (4 KiB) in the test image. */
export const BLOCKS = 1024;
/** Blocks written per round. */
export const PER_ROUND = 16;
const MAGIC = 0x50565842;

/** The block position written by the j-th write of round r (reproducible). */
export function blockOf(r: number, j: number): number {
  let x = (Math.imul(r + 1, 0x9e3779b1) ^ Math.imul(j + 7, 0x85ebca6b)) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d) >>> 0;
  return ((x ^ (x >>> 12)) >>> 0) % BLOCKS;
}

/** The 4 KiB a write of round r puts in block b. */
export function blockContent(r: number, b: number): Uint8Array {
  const out = new Uint8Array(4096);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, r, true);
  dv.setUint32(8, b, true);
  for (let i = 12; i < 4096; i++) out[i] = (r * 31 + b * 17 + i) & 0xff;
  return out;
}

/**
 * Decodes a block read back from the file.
 * @returns the round that wrote it, -1 for a never-written (zero) block, or undefined
 *   when the block is neither zero nor a whole valid version for position b
 */
export function blockRound(bytes: Uint8Array, b: number): number | undefined {
  if (bytes.every((v) => v === 0)) return -1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 4096);
  if (dv.getUint32(0, true) !== MAGIC || dv.getUint32(8, true) !== b) return undefined;
  const r = dv.getUint32(4, true);
  const want = blockContent(r, b);
  for (let i = 12; i < 4096; i++) if (bytes[i] !== want[i]) return undefined;
  return r;
}

if (import.meta.main) {
  const image = await openDiskImage(Deno.args[0]);
  const { frontend } = await makeBlkRig({ image });
  const out = Deno.stdout;
  const enc = new TextEncoder();
  for (let r = 0;; r++) {
    const writes: Promise<void>[] = [];
    for (let j = 0; j < PER_ROUND; j++) {
      const b = blockOf(r, j);
      writes.push(frontend.write(b * 8, blockContent(r, b)));
    }
    await Promise.all(writes);
    await frontend.flush();
    await out.write(enc.encode(`F ${r}\n`));
  }
}
