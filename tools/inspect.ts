/**
 * `pvx inspect IMAGE [--json]`: reads a kernel image (ELF, gzip'd ELF, bzImage), and prints
 * its layers, ELF headers, Xen notes, legacy `__xen_guest` string and boot summary.
 * @module
 */
import { EXIT_OK } from "../lib/errors.ts";
import { inspectImage } from "../lib/toolstack/mod.ts";
import { renderText } from "../lib/toolstack/mod.ts";
import { readInput } from "../lib/toolstack/mod.ts";

/** Options of {@link run}. */
export interface InspectOptions {
  /** path of the image */
  image: string;
  /** print the JSON document instead of text */
  json?: boolean;
  /** where output lines go (default: console.log) */
  write?: (text: string) => void;
}

/**
 * Runs `pvx inspect`.
 * @param opts the image path and output format
 * @returns the exit code (0); bad input throws an {@link InputError} (exit code 2)
 * @example
 * ```ts
 * await run({ image: "vmlinuz", json: true });
 * ```
 */
export async function run(opts: InspectOptions): Promise<number> {
  const write = opts.write ?? ((s: string) => console.log(s));
  const bytes = await readInput(opts.image, "image");
  const report = inspectImage(bytes, opts.image);
  write(opts.json ? JSON.stringify(report, null, 2) : renderText(report));
  return EXIT_OK;
}
