/**
 * guest/tools/mkarchive.ts: archives decode back to their files, and the guest runs
 * programs and reads files from an archive given as the boot module or on the disk.
 * @module
 */
import assert, { deepStrictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { type ArchiveFile, buildArchive } from "../../tools/mkarchive.ts";
import { boot as run } from "../../lib/toolstack/boot.ts";
import { MemorySink } from "../../lib/console/testing.ts";

const GUEST = new URL("../../guest/", import.meta.url).pathname;

/** An independent decoder of the format documented in guest/README.md. */
function decode(a: Uint8Array): ArchiveFile[] {
  const dv = new DataView(a.buffer, a.byteOffset, a.byteLength);
  deepStrictEqual(new TextDecoder().decode(a.subarray(0, 8)), "PVXARC01");
  deepStrictEqual(dv.getUint32(12, true), 0);
  const out: ArchiveFile[] = [];
  for (let i = 0; i < dv.getUint32(8, true); i++) {
    const e = 16 + 32 * i;
    const raw = a.subarray(e, e + 24);
    const end = raw.indexOf(0);
    const off = dv.getUint32(e + 24, true), size = dv.getUint32(e + 28, true);
    deepStrictEqual(off % 4, 0, "data 4-byte aligned");
    out.push({
      name: new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end)),
      data: a.slice(off, off + size),
    });
  }
  return out;
}

const NUM_RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 2000 : 200;

Deno.test("buildArchive() output decodes back to the same names and bytes", () => {
  const file = fc.record({
    name: fc.stringMatching(/^[a-z0-9._-]{1,24}$/),
    data: fc.uint8Array({ maxLength: 300 }),
  });
  fc.assert(
    fc.property(fc.uniqueArray(file, { selector: (f) => f.name, maxLength: 8 }), (files) => {
      const a = buildArchive(files);
      deepStrictEqual(a.length % 4, 0);
      deepStrictEqual(decode(a), files.map((f) => ({ name: f.name, data: f.data })));
    }),
    { numRuns: NUM_RUNS },
  );
});

Deno.test("buildArchive() rejects empty, long and repeated names", () => {
  const d = new Uint8Array(1);
  throws(() => buildArchive([{ name: "", data: d }]), /1-24 bytes/);
  throws(() => buildArchive([{ name: "x".repeat(25), data: d }]), /1-24 bytes/);
  throws(() => buildArchive([{ name: "a", data: d }, { name: "a", data: d }]), /repeated/);
});

async function bootWith(extra: { ramdisk?: string; disks?: string[] }): Promise<string> {
  const sink = new MemorySink(1 << 20, 1 << 18);
  sink.type("ls\nrun extra\ncat note.txt\npoweroff\n");
  const code = await run({
    image: `${GUEST}/pvx-guest.elf`,
    console: sink,
    noReboot: true,
    maxInstructions: 2_000_000_000,
    log: () => {},
    ...extra,
  });
  await sink.close();
  deepStrictEqual(code, 0, sink.text());
  return sink.text();
}

async function withArchive(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    // the spin program, taken out of the archive built into the committed image
    const prog = extractBuiltin(await Deno.readFile(`${GUEST}/pvx-guest.elf`), "spin");
    const arc = buildArchive([
      { name: "extra", data: prog },
      { name: "note.txt", data: new TextEncoder().encode("a note from the archive\n") },
    ]);
    const img = new Uint8Array(Math.max(1 << 20, arc.length));
    img.set(arc);
    await Deno.writeFile(`${dir}/a.img`, img);
    await fn(`${dir}/a.img`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The named file of the archive built into the kernel image. */
function extractBuiltin(image: Uint8Array, name: string): Uint8Array {
  const magic = new TextEncoder().encode("PVXARC01");
  // the first "PVXARC01" followed by a zero reserved word (the kernel's own string is not)
  let at = -1;
  for (let i = 0; i + 16 <= image.length && at < 0; i++) {
    if (
      magic.every((b, k) => image[i + k] === b) &&
      image.subarray(i + 12, i + 16).every((b) => b === 0)
    ) {
      at = i;
    }
  }
  assert(at >= 0, "no archive in the image");
  const f = decode(image.subarray(at)).find((x) => x.name === name);
  assert(f, `no ${name} in the built-in archive`);
  return f.data;
}

Deno.test("the guest runs a program and reads a file from a --ramdisk archive", async () => {
  await withArchive(async (path) => {
    const text = await bootWith({ ramdisk: path });
    assert(/^extra \d+$/m.test(text), text);
    assert(/spin: [0-9a-f]+\nrun: extra exited with 0/.test(text), text);
    assert(text.includes("a note from the archive"), text);
  });
});

Deno.test("the guest runs a program and reads a file from an archive on its disk", async () => {
  await withArchive(async (path) => {
    const text = await bootWith({ disks: [path] });
    assert(text.includes("ramdisk: 2 files from the disk archive"), text);
    assert(/spin: [0-9a-f]+\nrun: extra exited with 0/.test(text), text);
    assert(text.includes("a note from the archive"), text);
  });
});
