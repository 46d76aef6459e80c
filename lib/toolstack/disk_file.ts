/**
 * Deno's side of the disk host interface: opens a raw image file for blkback (read-write,
 * read-only, or under a copy-on-write snapshot) as a {@link RawFileDiskImage} over the
 * file, with the CLI's one-line errors.
 * @module
 */
import {
  blkif,
  type DiskImage,
  DiskImageError,
  RawFileDiskImage,
  SnapshotDiskImage,
} from "../blkfront/mod.ts";

/** How to open an image file. */
export interface OpenDiskOptions {
  /** Refuse writes (the file is opened read-only). */
  readonly?: boolean;
  /** Copy-on-write overlay in memory; the file is opened read-only and never written. */
  snapshot?: boolean;
}

/**
 * Opens a raw image file.
 * @param path the file
 * @param opts read-only and snapshot choices
 * @returns the image
 * @throws DiskImageError when the file is missing, not a regular file, or not accessible
 * @example
 * ```ts
 * const img = await openDiskImage("disk.img", { snapshot: true });
 * ```
 */
export async function openDiskImage(path: string, opts: OpenDiskOptions = {}): Promise<DiskImage> {
  const readonly = opts.readonly ?? false;
  const snapshot = opts.snapshot ?? false;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: !readonly && !snapshot });
  } catch (e) {
    throw new DiskImageError(`Cannot open disk image "${path}": ${openReason(e)}`);
  }
  let st: Deno.FileInfo;
  try {
    st = await file.stat();
  } catch (e) {
    file.close();
    throw new DiskImageError(`Cannot open disk image "${path}": ${openReason(e)}`);
  }
  if (!st.isFile) {
    file.close();
    throw new DiskImageError(`Cannot open disk image "${path}": not a regular file`);
  }
  const sectors = Math.floor(st.size / blkif.SECTOR_SIZE);
  const raw = new RawFileDiskImage(path, file, sectors, readonly || snapshot);
  return snapshot ? new SnapshotDiskImage(raw, readonly) : raw;
}

/** A short reason for a failed open, in std's message style. */
function openReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "not a regular file";
  return e instanceof Error ? e.message : String(e);
}
