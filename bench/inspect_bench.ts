/**
 * `pvx inspect` throughput on the real Debian images (fetched by .ci/setup.d/inspect.sh):
 * the Linux bzImage includes its xz (+ x86 BCJ) decompression, GNU Mach its gunzip.
 * @module
 */
import { inspectImage } from "../lib/toolstack/image_summary.ts";

const DIR = new URL("../tests/fixtures/cache/inspect/", import.meta.url).pathname;

function load(name: string): Uint8Array | null {
  try {
    return Deno.readFileSync(DIR + name);
  } catch {
    return null;
  }
}

for (const name of ["vmlinuz", "gnumach-xen-486.gz", "grub-x86_64-xen.bin"]) {
  const bytes = load(name);
  Deno.bench({
    name: `inspectImage(${name})`,
    ignore: bytes === null,
    n: name === "vmlinuz" ? 5 : undefined,
    fn: () => {
      inspectImage(bytes!, name);
    },
  });
}
