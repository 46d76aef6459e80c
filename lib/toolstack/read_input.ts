/**
 * Reading a user-named input file (image, ramdisk, config, recording): the one
 * "Cannot read WHAT "PATH": WHY" message, as an InputError (exit 2).
 * @module
 */
import { InputError } from "../errors.ts";

/**
 * The error for an input file that cannot be read.
 * @param what what the file is ("image", "xl config" ...)
 * @param path the file
 * @param err what the read threw
 * @param from the config file that named it, if any
 */
export function cannotRead(what: string, path: string, err: unknown, from?: string): InputError {
  const why = err instanceof Deno.errors.NotFound
    ? "no such file"
    : err instanceof Deno.errors.IsADirectory
    ? "is a directory"
    : err instanceof Error
    ? err.message
    : String(err);
  const origin = from !== undefined ? ` (from "${from}")` : "";
  return new InputError(`Cannot read ${what} "${path}"${origin}: ${why}`);
}

/**
 * Reads an input file.
 * @throws InputError when it cannot be read
 */
export async function readInput(path: string, what: string, from?: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw cannotRead(what, path, err, from);
  }
}

/**
 * Reads an input text file.
 * @throws InputError when it cannot be read
 */
export async function readInputText(path: string, what: string, from?: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw cannotRead(what, path, err, from);
  }
}
