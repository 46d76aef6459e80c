/**
 * Builds a pvx-guest file archive ("PVXARC01", guest/README.md) for `pvx boot --ramdisk`
 * or for the start of a disk: `deno run -A guest/tools/mkarchive.ts OUT FILE...` (each
 * file is stored under its base name).
 * @module
 */

/** A file to store. */
export interface ArchiveFile {
  /** Name (at most 24 bytes of UTF-8, no NUL). */
  name: string;
  /** Contents. */
  data: Uint8Array;
}

const MAGIC = "PVXARC01";
const ENTRY = 32;
const NAME_MAX = 24;

/**
 * Encodes files as a PVXARC01 archive: magic, u32 count, u32 0, 32-byte entries
 * (name[24], u32 offset, u32 size), then the data, each 4-byte aligned (little-endian).
 * @param files the files, in order
 * @returns the archive bytes
 * @throws Error when a name is empty, too long or repeated
 */
export function buildArchive(files: readonly ArchiveFile[]): Uint8Array {
  const enc = new TextEncoder();
  const names = files.map((f) => enc.encode(f.name));
  const seen = new Set<string>();
  for (const [i, n] of names.entries()) {
    if (n.length === 0 || n.length > NAME_MAX || n.includes(0)) {
      throw new Error(`Archive name "${files[i].name}" must be 1-${NAME_MAX} bytes without NUL`);
    }
    if (seen.has(files[i].name)) throw new Error(`Archive name "${files[i].name}" repeated`);
    seen.add(files[i].name);
  }
  const align = (n: number) => (n + 3) & ~3;
  let off = 16 + ENTRY * files.length;
  const offsets = files.map((f) => {
    off = align(off);
    const o = off;
    off += f.data.length;
    return o;
  });
  const out = new Uint8Array(align(off));
  const dv = new DataView(out.buffer);
  out.set(enc.encode(MAGIC), 0);
  dv.setUint32(8, files.length, true);
  files.forEach((f, i) => {
    const e = 16 + ENTRY * i;
    out.set(names[i], e);
    dv.setUint32(e + 24, offsets[i], true);
    dv.setUint32(e + 28, f.data.length, true);
    out.set(f.data, offsets[i]);
  });
  return out;
}

if (import.meta.main) {
  const [outPath, ...inputs] = Deno.args;
  if (!outPath || inputs.length === 0) {
    console.error("usage: mkarchive.ts OUT FILE...");
    Deno.exit(2);
  }
  const files = await Promise.all(inputs.map(async (p) => ({
    name: p.split("/").pop() ?? p,
    data: await Deno.readFile(p),
  })));
  await Deno.writeFile(outPath, buildArchive(files));
}
