/**
 * Reading a user-named input file (image, ramdisk, config): failures give the one
 * "Cannot read WHAT "PATH": WHY" InputError of lib/errors.ts (exit 2).
 * @module
 */
import { cannotRead } from "../errors.ts";

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
