import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { ElfFormatError } from "../../../lib/hypervisor/builder/elf.ts";
import { readBzImageHeader, unwrapImage } from "../../../lib/hypervisor/builder/unwrap.ts";
import { asciz, buildBzImage, buildElf } from "./_elf_builder.ts";
import { compressWith, sampleData, toolAvailable } from "./_compress.ts";

const ELF = buildElf({
  bits: 64,
  entry: 0xffffffff81000000n,
  segments: [{ vaddr: 0xffffffff81000000n, paddr: 0x1000000n, data: sampleData(200_000, 9) }],
  notes: [{ name: "Xen", type: 6, desc: asciz("linux") }],
});

for (const kind of ["gzip", "bzip2", "lzma", "xz", "lz4", "zstd"]) {
  Deno.test({
    name: `unwrapImage() finds the ELF inside a ${kind} bzImage`,
    ignore: !toolAvailable(kind),
  }, async () => {
    const payload = (await compressWith(kind, ELF))!;
    const bz = buildBzImage(payload, ELF.length, kind === "gzip");
    const { elf, layers } = unwrapImage(bz, { name: "bz" });
    strictEqual(layers.length, 1);
    strictEqual(layers[0].kind, "bzImage");
    strictEqual(layers[0].format, kind);
    strictEqual(layers[0].outputSize, ELF.length);
    strictEqual(layers[0].bzImage?.protocol, "2.15");
    strictEqual(layers[0].bzImage?.kernelVersion, "6.1.0-test (pvx) #1");
    strictEqual(layers[0].declaredSize, kind === "gzip" ? null : ELF.length);
    deepStrictEqual(elf, ELF);
  });
}

Deno.test({
  name: "unwrapImage() unwraps a gzip'd ELF and a gzip'd gzip",
  ignore: !toolAvailable("gzip"),
}, async () => {
  const gz = (await compressWith("gzip", ELF))!;
  const one = unwrapImage(gz);
  deepStrictEqual(one.layers.map((l) => l.kind), ["gzip"]);
  deepStrictEqual(one.elf, ELF);
  const two = unwrapImage((await compressWith("gzip", gz))!);
  deepStrictEqual(two.layers.map((l) => l.kind), ["gzip", "gzip"]);
  deepStrictEqual(two.elf, ELF);
});

Deno.test("unwrapImage() returns a bare ELF unchanged with no layers", () => {
  const r = unwrapImage(ELF);
  strictEqual(r.elf, ELF);
  strictEqual(r.layers.length, 0);
});

Deno.test("unwrapImage() rejects what is neither ELF, gzip nor bzImage", () => {
  throws(
    () => unwrapImage(new TextEncoder().encode("hello world"), { name: "t.txt" }),
    (e: unknown) => {
      ok(e instanceof ElfFormatError);
      strictEqual(
        (e as Error).message,
        'Cannot load image "t.txt": not an ELF file, gzip file or bzImage (magic 68 65 6c 6c)',
      );
      return true;
    },
  );
});

Deno.test({
  name: "unwrapImage() rejects bzImage payloads outside the file, unknown or mis-sized",
  ignore: !toolAvailable("xz"),
}, async () => {
  const payload = (await compressWith("xz", ELF))!;
  const good = buildBzImage(payload, ELF.length);
  const outside = good.slice();
  new DataView(outside.buffer).setUint32(0x24c, good.length, true);
  throws(() => unwrapImage(outside), /lies outside the file/);
  const unknown = good.slice();
  unknown.fill(0x11, 5 * 512 + 0x100, 5 * 512 + 0x110);
  throws(() => unwrapImage(unknown), /unknown compression/);
  const old = good.slice();
  new DataView(old.buffer).setUint16(0x206, 0x0207, true);
  throws(() => unwrapImage(old), /2\.08 or later/);
  const liar = buildBzImage(payload, ELF.length - 1);
  throws(() => unwrapImage(liar), /limit reached|declared/);
  const bomb = buildBzImage(payload, ELF.length);
  throws(() => unwrapImage(bomb, { maxOutput: 1000 }), /limit reached/);
});

Deno.test("readBzImageHeader() returns null without the HdrS signature", () => {
  strictEqual(readBzImageHeader(new Uint8Array(4096)), null);
  strictEqual(readBzImageHeader(ELF), null);
});
