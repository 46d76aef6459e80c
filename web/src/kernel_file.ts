/**
 * A kernel image chosen in the page (file dialog or drop): read with the CLI's checks, and
 * `pvx inspect`'s report made before anything boots. Errors are the CLI's one-liners. The
 * examination (unwrapping a compressed kernel can take seconds) runs in a worker in the
 * page ({@link examineInWorker}), so the tab never freezes on a big image.
 * @module
 */
import { InputError } from "../../lib/errors.ts";
import { inspectImage } from "../../lib/toolstack/image_summary.ts";
import { renderText } from "../../lib/toolstack/image_summary_text.ts";
import { loadPvKernel } from "../../lib/hypervisor/builder/from_elf.ts";
import { unwrapImage } from "../../lib/hypervisor/builder/unwrap.ts";

/** The largest image the page reads (the CLI's decompression limit). */
export const MAX_IMAGE_BYTES = 256 << 20;

/** An examined kernel. */
export interface KernelChoice {
  /** The file's name. */
  name: string;
  /** What to boot: the unwrapped ELF when pvx can boot it, else the file. */
  bytes: Uint8Array;
  /** `pvx inspect`'s guest kind (pv32pae, pv64, ...). */
  kind: string;
  /** `pvx inspect`'s text report. */
  text: string;
  /** Why pvx cannot boot it (the builder's one-line error, as `pvx boot` prints it), or null. */
  problem: string | null;
}

/** What the page needs of a File (the DOM's File has it). */
export interface FileLike {
  readonly name: string;
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Examines bytes (in the worker, or directly). */
export type Examiner = (name: string, bytes: Uint8Array) => Promise<KernelChoice>;

/**
 * Reads and examines a kernel image.
 * @param f the file
 * @param examine where to examine it (default: here)
 * @throws InputError (shown as "pvx: ...") for a huge, unreadable or non-kernel file
 */
export async function loadKernel(
  f: FileLike,
  examine: Examiner = (n, b) => Promise.resolve(examineKernel(n, b)),
): Promise<KernelChoice> {
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
  return await examine(f.name, bytes);
}

/**
 * Inspects an image and checks that pvx can boot it.
 * @throws InputError for a file that is no kernel at all
 */
export function examineKernel(name: string, bytes: Uint8Array): KernelChoice {
  const report = inspectImage(bytes, name);
  const text = renderText(report);
  const kind = report.boot.kind;
  try {
    loadPvKernel(bytes, name);
  } catch (e) {
    if (e instanceof InputError) return { name, bytes, kind, text, problem: e.message };
    throw e;
  }
  // boot the unwrapped ELF: the machine then has nothing left to decompress
  return { name, bytes: unwrapImage(bytes, { name }).elf, kind, text, problem: null };
}

/** The worker's answer. */
export type ExamineReply = { ok: true; choice: KernelChoice } | {
  ok: false;
  input: boolean;
  message: string;
};

/**
 * Examines in a module worker (its script: `inspect-worker.js`, built from
 * inspect_worker.ts), one request at a time.
 * @param url the worker script
 */
export function examineInWorker(url: string | URL): Examiner {
  return (name, bytes) =>
    new Promise((resolve, reject) => {
      const w = new Worker(url, { type: "module" });
      w.onmessage = (e: MessageEvent<ExamineReply>) => {
        w.terminate();
        const r = e.data;
        if (r.ok) resolve(r.choice);
        else reject(r.input ? new InputError(r.message) : new Error(r.message));
      };
      w.onerror = (e) => {
        w.terminate();
        reject(new Error(`the inspect worker failed: ${e.message}`));
      };
      w.postMessage({ name, bytes }, [bytes.buffer]);
    });
}
