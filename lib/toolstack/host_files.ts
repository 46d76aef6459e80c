/**
 * User-named host files, read or written whole, with bounds: an input file is checked
 * before any read (a directory, a device, a FIFO or a file over its limit is refused, and
 * the read stops at the size seen, should the file grow); an output file (trace, capture,
 * console log, recording, Perfetto JSON, reproducer) may not be a directory, a FIFO or a
 * socket (opening a FIFO nobody reads would block pvx forever); a character device
 * (/dev/null) is allowed.
 * @module
 */
import { InputError } from "../errors.ts";

/** "12 MiB" / "300 bytes". */
export function sizeText(n: number): string {
  return n >= 1 << 20 ? `${Math.floor(n / (1 << 20))} MiB` : `${n} bytes`;
}

/**
 * Reads a regular file whole, refusing a directory, a device, a FIFO or a file over
 * `limit` bytes before reading anything.
 * @throws whatever stat/open/read throw, or an Error saying why the file is refused (the
 *   caller words the user's message)
 */
export async function readBounded(path: string, limit: number): Promise<Uint8Array> {
  const info = await Deno.stat(path);
  if (info.isDirectory) throw new Deno.errors.IsADirectory("is a directory");
  if (!info.isFile) throw new Error("not a regular file (a device, FIFO or socket)");
  const size = info.size;
  if (size > limit) throw new Error(`${sizeText(size)} is over the ${sizeText(limit)} limit`);
  const f = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(size + 1);
    let n = 0;
    for (;;) {
      const got = await f.read(buf.subarray(n));
      if (got === null) break;
      n += got;
      if (n > size) throw new Error(`it grew while being read (over ${sizeText(size)})`);
    }
    return buf.subarray(0, n);
  } finally {
    f.close();
  }
}

/**
 * Checks that `path` may be written as an output file.
 * @param what what the file is ("trace", "capture" ...)
 * @throws InputError for a directory, a FIFO or a socket
 */
export function checkOutputPath(path: string, what: string): void {
  if (path === "") throw new InputError(`Cannot write ${what}: the path is empty`);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return; // absent: it will be created (a missing directory fails at open)
  }
  const why = info.isDirectory
    ? "it is a directory"
    : info.isFifo
    ? "it is a FIFO (give a file)"
    : info.isSocket
    ? "it is a socket (give a file)"
    : undefined;
  if (why) throw new InputError(`Cannot write ${what} "${path}": ${why}`);
}

/**
 * Creates (or truncates) an output file after {@link checkOutputPath}.
 * @throws InputError when it is refused or cannot be opened
 */
export function createOutputFile(path: string, what: string): Deno.FsFile {
  checkOutputPath(path, what);
  try {
    return Deno.openSync(path, { write: true, create: true, truncate: true });
  } catch (e) {
    throw new InputError(`Cannot write ${what} "${path}": ${e instanceof Error ? e.message : e}`);
  }
}
