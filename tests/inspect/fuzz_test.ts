/**
 * Property test: truncations and byte flips of real images (and of synthetic ELFs and
 * bzImages built here) give a report or an InputError, never another exception or a hang.
 * Flips favour the bytes parsers read (headers, tables, notes). PVX_FUZZ=full runs 10x.
 * @module
 */
import { ok } from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../lib/errors.ts";
import { parseElf } from "../../lib/hypervisor/builder/elf.ts";
import { inspectImage } from "../../lib/toolstack/image_summary.ts";
import { unwrapImage } from "../../lib/hypervisor/builder/unwrap.ts";
import { asciz, buildBzImage, buildElf, leBytes } from "../hypervisor/builder/_elf_builder.ts";
import { compressWith, sampleData, toolAvailable } from "../hypervisor/builder/_compress.ts";
import { fixture } from "./_fixtures.ts";

const SCALE = Deno.env.get("PVX_FUZZ") === "full" ? 10 : 1;

/** Byte ranges a parser reads: ELF header, program/section header tables, notes, names. */
function hotRanges(elf: Uint8Array): [number, number][] {
  const r: [number, number][] = [[0, Math.min(elf.length, 4096)]];
  try {
    const e = parseElf(elf);
    for (const ph of e.programHeaders) {
      if (ph.type === 4) r.push([ph.offset, ph.offset + ph.filesz]);
    }
    for (const s of e.sections) {
      if (s.type === 7 || s.type === 3 || s.name === "__xen_guest") {
        r.push([s.offset, s.offset + s.size]);
      }
    }
    const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
    const shoff = e.bits === 64 ? Number(dv.getBigUint64(40, true)) : dv.getUint32(32, true);
    if (shoff > 0) {
      r.push([shoff, Math.min(elf.length, shoff + e.sections.length * (e.bits === 64 ? 64 : 40))]);
    }
  } catch {
    // not an ELF: the first page is all we target
  }
  return r.filter(([a, b]) => b > a);
}

/** Runs inspectImage; true when it returns or throws an InputError. */
function survives(bytes: Uint8Array): boolean {
  try {
    inspectImage(bytes, "fuzz");
    return true;
  } catch (e) {
    if (e instanceof InputError) return true;
    console.error(e);
    return false;
  }
}

/** Truncations and in-place flips (restored after each case: no copies of big images). */
function fuzzImage(img: Uint8Array, runs: number, seed: number): void {
  const hot = hotRanges(img);
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      fc.boolean(),
      (truncate, a, b, xor, inHot) => {
        if (truncate) return survives(img.subarray(0, a % (img.length + 1)));
        let pos = a % img.length;
        if (inHot) {
          const [lo, hi] = hot[b % hot.length];
          pos = lo + (a % (hi - lo));
        }
        const old = img[pos];
        img[pos] ^= xor;
        try {
          return survives(img);
        } finally {
          img[pos] = old;
        }
      },
    ),
    { numRuns: runs, seed },
  );
}

const real: [string, number][] = [
  ["grub-i386-xen.bin", 2000],
  ["grub-x86_64-xen.bin", 2000],
  ["grub-i386-xen_pvh.bin", 1000],
  ["gnumach-xen-486.gz", 150],
];
for (const [name, runs] of real) {
  const path = fixture(name);
  Deno.test({
    name: `inspectImage() survives ${runs * SCALE} truncations and flips of ${name}`,
    ignore: path === null,
  }, () => {
    fuzzImage(Deno.readFileSync(path!), runs * SCALE, 11);
  });
}

const gnumach = fixture("gnumach-xen-486.gz");
Deno.test({
  name: `inspectImage() survives ${2000 * SCALE} truncations and flips of GNU Mach's inner ELF`,
  ignore: gnumach === null,
}, () => {
  fuzzImage(unwrapImage(Deno.readFileSync(gnumach!)).elf.slice(), 2000 * SCALE, 12);
});

const vmlinuz = fixture("vmlinuz");
Deno.test({
  name: `inspectImage() survives ${2000 * SCALE} truncations and flips of the Linux vmlinux ELF`,
  ignore: vmlinuz === null,
}, () => {
  const elf = unwrapImage(Deno.readFileSync(vmlinuz!)).elf.slice();
  fuzzImage(elf, 2000 * SCALE, 13);
});

for (const bits of [32, 64] as const) {
  Deno.test(`inspectImage() survives ${3000 * SCALE} truncations and flips of a synthetic ELF${bits}`, () => {
    const img = buildElf({
      bits,
      entry: 0x400000n,
      segments: [{
        vaddr: 0x400000n,
        paddr: 0x400000n,
        data: sampleData(4096, bits),
        memsz: 0x3000n,
      }],
      notes: [
        { name: "Xen", type: 6, desc: asciz("linux") },
        { name: "Xen", type: 5, desc: asciz("xen-3.0") },
        { name: "Xen", type: 1, desc: leBytes(0x400000n, bits / 8) },
        { name: "Xen", type: 10, desc: asciz("!writable_page_tables|dom0") },
        { name: "Xen", type: 13, desc: new Uint8Array(16).fill(1) },
      ],
      xenGuest: "GUEST_OS=x,PAE=yes,HYPERCALL_PAGE=0x2",
    });
    fuzzImage(img, 3000 * SCALE, 20 + bits);
  });
}

for (const kind of ["xz", "gzip", "lz4", "zstd", "bzip2", "lzma"]) {
  Deno.test({
    name: `inspectImage() survives ${
      300 * SCALE
    } truncations and flips of a synthetic ${kind} bzImage`,
    ignore: !toolAvailable(kind),
  }, async () => {
    const elf = buildElf({
      bits: 64,
      entry: 0x1000000n,
      segments: [{ vaddr: 0x1000000n, paddr: 0x1000000n, data: sampleData(16_384, 5) }],
      notes: [{ name: "Xen", type: 6, desc: asciz("linux") }],
    });
    const payload = (await compressWith(kind, elf))!;
    const bz = buildBzImage(payload, elf.length, kind === "gzip");
    ok(survives(bz));
    fuzzImage(bz, 300 * SCALE, 30);
  });
}
