/**
 * Test helper: compresses bytes with the host's tools, as Linux's build compresses kernels
 * (gzip -9, bzip2 -9, lzma -9, xz --check=crc32 --x86 --lzma2, lz4 -l, zstd -22).
 * @module
 */

/** Command line per format; `null` result when the tool is missing. */
export const COMPRESSORS: Record<string, string[]> = {
  gzip: ["gzip", "-n", "-9", "-c"],
  bzip2: ["bzip2", "-9", "-c"],
  lzma: ["lzma", "-9", "-c"],
  xz: ["xz", "--check=crc32", "--x86", "--lzma2=dict=1MiB", "-c"],
  "xz-crc64": ["xz", "--check=crc64", "--lzma2=preset=6", "-c"],
  "xz-none": ["xz", "--check=none", "--x86", "--lzma2=preset=1", "-c"],
  lz4: ["lz4", "-l", "-9", "-c"],
  zstd: ["zstd", "-19", "-q", "-c"],
};

/**
 * Runs a compressor on `data`.
 * @param kind a key of {@link COMPRESSORS}
 * @param data the input
 * @returns the compressed bytes, or null when the tool is not installed
 */
export async function compressWith(kind: string, data: Uint8Array): Promise<Uint8Array | null> {
  const [cmd, ...args] = COMPRESSORS[kind];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "null" })
      .spawn();
  } catch {
    return null;
  }
  const writer = child.stdin.getWriter();
  const done = child.output();
  await writer.write(data);
  await writer.close();
  const out = await done;
  if (!out.success) throw new Error(`${cmd} failed`);
  return out.stdout;
}

/** Deterministic pseudo-random bytes with some redundancy (compressible, not trivially). */
export function sampleData(size: number, seed = 1): Uint8Array {
  const b = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    // mostly small symbols, sometimes copies of earlier bytes, some E8/E9 call opcodes
    if (i > 64 && (x & 7) < 3) b[i] = b[i - 1 - ((x >>> 8) & 63)];
    else if ((x & 63) === 5) b[i] = 0xe8;
    else b[i] = (x >>> 16) & 0x1f;
  }
  return b;
}

/**
 * Whether the compressor for `kind` is on PATH.
 * @param kind a key of {@link COMPRESSORS}
 * @returns true when found
 */
export function toolAvailable(kind: string): boolean {
  const cmd = COMPRESSORS[kind][0];
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}
