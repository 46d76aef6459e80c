/// <reference lib="dom" />
/**
 * Disk images of the page: a blank image or an opened file, served from memory
 * ({@link MemoryDiskImage}), and kept across visits in the browser's origin-private file
 * system (OPFS) when asked: saved when the guest stops, loaded again on the next boot.
 * @module
 */
import { MemoryDiskImage } from "../../lib/blkfront/disk_image.ts";
import { InputError } from "../../lib/errors.ts";

/** The largest disk image the page holds in memory. */
export const MAX_DISK_BYTES = 256 << 20;
/** The OPFS file that keeps the page's disk. */
export const OPFS_DISK_NAME = "pvx-disk.img";

/**
 * An in-memory image of `bytes` (whole sectors; a partial last sector is refused, as
 * the CLI truncates nothing silently).
 * @throws InputError for an empty, oversized or ragged image
 */
export function memoryDisk(bytes: Uint8Array, name: string): MemoryDiskImage {
  if (bytes.length === 0) throw new InputError(`Cannot open disk image "${name}": it is empty`);
  if (bytes.length > MAX_DISK_BYTES) {
    throw new InputError(
      `Cannot open disk image "${name}": ${bytes.length} bytes is over the ${
        MAX_DISK_BYTES >> 20
      } MiB limit of the page`,
    );
  }
  if (bytes.length % 512 !== 0) {
    throw new InputError(
      `Cannot open disk image "${name}": ${bytes.length} bytes is not a whole number of sectors`,
    );
  }
  return new MemoryDiskImage(bytes);
}

/** A blank image of `mib` MiB. */
export function blankDisk(mib: number): MemoryDiskImage {
  return new MemoryDiskImage(new Uint8Array(mib << 20));
}

/** The whole contents of an image (for download and saving). */
export async function diskBytes(img: MemoryDiskImage): Promise<Uint8Array> {
  const out = new Uint8Array(img.sectors * 512);
  await img.read(0, out);
  return out;
}

async function opfsRoot(): Promise<FileSystemDirectoryHandle | null> {
  const s = globalThis.navigator?.storage;
  if (!s || typeof s.getDirectory !== "function") return null;
  try {
    return await s.getDirectory();
  } catch {
    return null;
  }
}

/** Whether the browser offers OPFS here. */
export async function opfsAvailable(): Promise<boolean> {
  return (await opfsRoot()) !== null;
}

/** Saves the image to OPFS. @returns false when OPFS is unavailable */
export async function saveToOpfs(bytes: Uint8Array): Promise<boolean> {
  const root = await opfsRoot();
  if (!root) return false;
  const fh = await root.getFileHandle(OPFS_DISK_NAME, { create: true });
  const w = await fh.createWritable();
  await w.write(bytes as Uint8Array<ArrayBuffer>);
  await w.close();
  return true;
}

/** The saved image, or null when there is none. */
export async function loadFromOpfs(): Promise<Uint8Array | null> {
  const root = await opfsRoot();
  if (!root) return null;
  try {
    const fh = await root.getFileHandle(OPFS_DISK_NAME);
    return new Uint8Array(await (await fh.getFile()).arrayBuffer());
  } catch {
    return null;
  }
}
