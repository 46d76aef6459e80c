/**
 * Reading a user-named input file (image, ramdisk, config): failures give the one
 * "Cannot read WHAT "PATH": WHY" InputError of lib/errors.ts (exit 2).
 * @module
 */
import { cannotRead } from "../errors.ts";
import { readBounded } from "./host_files.ts";

/** Size limits of the input files pvx reads whole (bytes). */
export const INPUT_LIMITS: Readonly<Record<string, number>> = {
  /** A kernel image (compressed or not): Linux's are ~10 MiB. */
  image: 256 << 20,
  kernel: 256 << 20,
  /** A ramdisk / module: also bounded by the guest's memory at boot. */
  ramdisk: 1536 << 20,
  /** A ring recording (disk images over 64 MiB are not embedded). */
  recording: 1024 << 20,
  /** An xl config file. */
  "xl config": 1 << 20,
};

/** The limit for `what` (256 MiB when it has none of its own). */
export function inputLimit(what: string): number {
  return INPUT_LIMITS[what] ?? 256 << 20;
}

/**
 * Reads an input file whole, after checking it is a regular file within `limit` bytes
 * (lib/host_files.ts: refused before any read otherwise).
 * @throws InputError when it cannot be read or is refused
 */
export async function readInput(
  path: string,
  what: string,
  from?: string,
  limit: number = inputLimit(what),
): Promise<Uint8Array> {
  try {
    return await readBounded(path, limit);
  } catch (err) {
    throw cannotRead(what, path, err, from);
  }
}

/**
 * Reads an input text file.
 * @throws InputError when it cannot be read
 */
export async function readInputText(path: string, what: string, from?: string): Promise<string> {
  return new TextDecoder().decode(await readInput(path, what, from));
}
