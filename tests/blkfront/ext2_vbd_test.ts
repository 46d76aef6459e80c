/**
 * An ext2 image built by e2fsprogs, served by blkback over the raw file and read through
 * the TS frontend: the superblock and a file's data arrive intact, and writes made
 * through the ring leave a filesystem e2fsprogs still reads.
 */
import { ok, strictEqual } from "node:assert/strict";
import { openDiskImage } from "../../lib/toolstack/disk_file.ts";
import { makeBlkRig } from "../../lib/blkfront/testing.ts";
import { buildExt2Image, debugfsCat, haveE2fsprogs } from "./ext2_fixture.ts";

const HAVE = await haveE2fsprogs();

Deno.test({
  name: "Blkback serves an e2fsprogs ext2 image whose file the TS frontend finds",
  ignore: !HAVE,
  fn: async () => {
    const path = await Deno.makeTempFile({ suffix: ".ext2" });
    try {
      const text = "hello from pvx's blkback\n";
      await buildExt2Image(path, { "hello.txt": text, "boot/grub/grub.cfg": "ls\n" });
      strictEqual(await debugfsCat(path, "hello.txt"), text);
      const image = await openDiskImage(path, { readonly: true });
      const { frontend: f } = await makeBlkRig({ image });
      strictEqual(f.sectors, 8192);
      const sb = await f.read(2, 2); // the superblock at byte 1024
      strictEqual(sb[56] | (sb[57] << 8), 0xef53, "ext2 magic");
      const all = await f.read(0, f.sectors);
      const at = new TextDecoder("latin1").decode(all).indexOf(text);
      ok(at > 0 && at % 1024 === 0, "file data found at a block boundary");
      await image.close();
    } finally {
      await Deno.remove(path);
    }
  },
});

Deno.test({
  name: "Blkback --snapshot of an ext2 image leaves the file identical after writes",
  ignore: !HAVE,
  fn: async () => {
    const path = await Deno.makeTempFile({ suffix: ".ext2" });
    try {
      await buildExt2Image(path, { "hello.txt": "hi\n" }, 1024);
      const before = await Deno.readFile(path);
      const image = await openDiskImage(path, { snapshot: true });
      const { frontend: f } = await makeBlkRig({ image });
      await f.write(0, new Uint8Array(1024 * 512).fill(0xff)); // clobber everything
      ok((await f.read(2, 1)).every((b) => b === 0xff));
      await f.flush();
      await image.close();
      const after = await Deno.readFile(path);
      ok(before.length === after.length && before.every((b, i) => b === after[i]));
      strictEqual(await debugfsCat(path, "hello.txt"), "hi\n");
    } finally {
      await Deno.remove(path);
    }
  },
});
