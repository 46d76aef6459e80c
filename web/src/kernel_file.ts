/**
 * A kernel image chosen in the page (file dialog or drop): read with the CLI's checks, and
 * `pvx inspect`'s report made before anything boots. Errors are the CLI's one-liners.
 * @module
 */
import { InputError } from "../../lib/errors.ts";
import { inspectImage, type InspectReport } from "../../lib/toolstack/image_summary.ts";
import { renderText } from "../../lib/toolstack/image_summary_text.ts";
import { loadKernelImage } from "../../lib/hypervisor/builder/from_elf.ts";

/** The largest image the page reads (the CLI's decompression limit). */
export const MAX_IMAGE_BYTES = 256 << 20;

/** A kernel ready to boot. */
export interface KernelChoice {
  name: string;
  bytes: Uint8Array;
  report: InspectReport;
  /** `pvx inspect`'s text report. */
  text: string;
}

/** What the page needs of a File (the DOM's File has it). */
export interface FileLike {
  readonly name: string;
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Reads and inspects a kernel image.
 * @throws InputError (shown as "pvx: ...") for a huge, unreadable or non-kernel file, or
 *   one pvx cannot boot (64-bit, PVH-only, no Xen notes)
 */
export async function loadKernel(f: FileLike): Promise<KernelChoice> {
  if (f.size > MAX_IMAGE_BYTES) {
    throw new InputError(
      `Cannot load image "${f.name}": ${f.size} bytes is over the ${
        MAX_IMAGE_BYTES >> 20
      } MiB limit`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await f.arrayBuffer());
  } catch (e) {
    throw new InputError(`Cannot read image "${f.name}": ${e instanceof Error ? e.message : e}`);
  }
  return inspectKernel(f.name, bytes);
}

/**
 * Inspects bytes already in memory (the built-in guest, a dropped file).
 * @throws InputError as {@link loadKernel}, for a file that is no kernel at all
 */
export function inspectKernel(name: string, bytes: Uint8Array): KernelChoice {
  const report = inspectImage(bytes, name);
  return { name, bytes, report, text: renderText(report) };
}

/**
 * Why pvx cannot boot an inspected image (the builder's own one-line error, as `pvx boot`
 * prints it), or null when it can.
 * @param k the inspected kernel
 */
export function bootProblem(k: KernelChoice): string | null {
  try {
    loadKernelImage(k.bytes, k.name);
    return null;
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
}
