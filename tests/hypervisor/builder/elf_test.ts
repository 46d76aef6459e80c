import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../../lib/errors.ts";
import { ElfFormatError, parseElf, PT_LOAD, PT_NOTE } from "../../../lib/hypervisor/builder/elf.ts";
import { asciz, buildElf, leBytes } from "./_elf_builder.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";

function sample(bits: 32 | 64): Uint8Array {
  return buildElf({
    bits,
    entry: bits === 64 ? 0xffffffff81000010n : 0xc0100010n,
    segments: [
      {
        vaddr: bits === 64 ? 0xffffffff81000000n : 0xc0100000n,
        paddr: 0x100000n,
        data: new Uint8Array(300).fill(0x90),
        memsz: 0x2000n,
        flags: 7,
      },
    ],
    notes: [
      { name: "Xen", type: 6, desc: asciz("linux") },
      { name: "GNU", type: 3, desc: new Uint8Array([1, 2, 3, 4]) },
      { name: "Xen", type: 1, desc: leBytes(0x1234n, bits / 8) },
    ],
  });
}

for (const bits of [32, 64] as const) {
  Deno.test(`parseElf() reads an ELF${bits} header, load segment, sections and notes`, () => {
    const elf = parseElf(sample(bits), "s.elf");
    strictEqual(elf.bits, bits);
    strictEqual(elf.entry, bits === 64 ? 0xffffffff81000010n : 0xc0100010n);
    strictEqual(elf.machineName, bits === 64 ? "x86-64" : "i386");
    strictEqual(elf.typeName, "EXEC");
    const load = elf.programHeaders.find((p) => p.type === PT_LOAD)!;
    strictEqual(load.paddr, 0x100000n);
    strictEqual(load.filesz, 300);
    strictEqual(load.memsz, 0x2000n);
    strictEqual(load.flags, 7);
    ok(elf.programHeaders.some((p) => p.type === PT_NOTE && p.typeName === "NOTE"));
    deepStrictEqual(elf.sections.map((s) => s.name), ["", ".text", ".note.Xen", ".shstrtab"]);
    deepStrictEqual(elf.notes.map((n) => [n.name, n.type, n.desc.length]), [
      ["Xen", 6, 6],
      ["GNU", 3, 4],
      ["Xen", 1, bits / 8],
    ]);
    strictEqual(elf.notes[0].source, "segment");
  });
}

Deno.test("parseElf() falls back to SHT_NOTE sections when no PT_NOTE segment exists", () => {
  const elf = parseElf(buildElf({
    bits: 32,
    entry: 0n,
    segments: [{ vaddr: 0n, paddr: 0n, data: new Uint8Array(16) }],
    notes: [{ name: "Xen", type: 5, desc: asciz("xen-3.0") }],
    notesInSectionOnly: true,
  }));
  strictEqual(elf.notes.length, 1);
  strictEqual(elf.notes[0].source, "section");
});

Deno.test("parseElf() rejects non-ELF, big-endian and truncated input with ElfFormatError", () => {
  throws(
    () => parseElf(new Uint8Array(100), "zero.bin"),
    /Cannot load image "zero.bin": not an ELF file/,
  );
  const be = sample(32);
  be[5] = 2;
  throws(() => parseElf(be), /big-endian/);
  const full = sample(64);
  throws(() => parseElf(full.subarray(0, 40)), ElfFormatError);
  throws(() => parseElf(full.subarray(0, full.length - 10)), /section header table/);
});

Deno.test("parseElf() rejects a load segment that lies outside the file", () => {
  const b = sample(32);
  const dv = new DataView(b.buffer);
  dv.setUint32(52 + 16, 0x7fffffff, true); // p_filesz of program header 0
  throws(() => parseElf(b), /program header 0 .*outside the file/);
});

Deno.test("parseElf() keeps a note that overruns its segment, clipped, with a warning", () => {
  const b = sample(32);
  const elf0 = parseElf(b);
  const last = elf0.notes[2];
  new DataView(b.buffer).setUint32(last.offset + 4, 12, true); // descsz 4 -> 12
  const elf = parseElf(b);
  strictEqual(elf.notes[2].descsz, 12);
  strictEqual(elf.notes[2].desc.length, 4);
  ok(elf.warnings.some((w) => /declares 12 descriptor bytes/.test(w)));
});

Deno.test("parseElf() throws only InputError on truncations and byte flips of ELFs", () => {
  const images = [sample(32), sample(64)];
  fc.assert(
    fc.property(
      fc.constantFrom(...images),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (img, a, b, x) => {
        const cut = img.slice(0, a % (img.length + 1));
        const flip = img.slice();
        flip[b % img.length] ^= x;
        for (const bytes of [cut, flip]) {
          try {
            parseElf(bytes);
          } catch (e) {
            if (!(e instanceof InputError)) return false;
          }
        }
        return true;
      },
    ),
    { numRuns: FULL ? 100_000 : 5000, seed: 3 },
  );
});

/** An ELF64 whose 65535 section headers share one unterminated 1 MiB name table and whose
 * 65535 program headers are PT_NOTE segments over one region full of notes. */
function hostileElf(): Uint8Array {
  const n = 65535;
  const region = 1 << 20;
  const phoff = 64, shoff = phoff + n * 56, data = shoff + n * 64;
  const b = new Uint8Array(data + region);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true);
  dv.setUint16(18, 62, true);
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 0xffff, true); // PN_XNUM: the count is in section 0's sh_info
  dv.setUint16(58, 64, true);
  dv.setUint16(60, 0, true); // count in section 0's sh_size
  dv.setUint16(62, 1, true);
  for (let i = 0; i < n; i++) {
    const o = phoff + i * 56;
    dv.setUint32(o, 4, true);
    dv.setBigUint64(o + 8, BigInt(data), true);
    dv.setBigUint64(o + 32, BigInt(region), true);
    const s = shoff + i * 64;
    dv.setUint32(s + 4, i === 1 ? 3 : 1, true);
    dv.setBigUint64(s + 24, BigInt(data), true);
    dv.setBigUint64(s + 32, BigInt(region), true);
  }
  dv.setBigUint64(shoff + 32, BigInt(n), true);
  dv.setUint32(shoff + 44, n, true);
  // the region: empty-named notes (12 bytes each) with no NUL anywhere in names
  b.fill(0x41, data, data + region);
  for (let o = data; o + 12 <= data + region; o += 12) {
    dv.setUint32(o, 0, true);
    dv.setUint32(o + 4, 0, true);
  }
  return b;
}

Deno.test("parseElf() bounds the work on 65535 headers sharing one region (no hang)", () => {
  const b = hostileElf();
  throws(() => parseElf(b, "hostile"), (e: unknown) => {
    ok(e instanceof ElfFormatError);
    ok(/too many notes/.test((e as Error).message), (e as Error).message);
    return true;
  });
  // without the note segments: 65535 names read from one unterminated table, each capped
  const dv = new DataView(b.buffer);
  for (let i = 0; i < 65535; i++) dv.setUint32(64 + i * 56, 0, true); // PT_NULL
  b.fill(0x41, b.length - (1 << 20)); // no NUL in the name table at all
  const elf = parseElf(b, "hostile");
  strictEqual(elf.sections.length, 65535);
  strictEqual(elf.sections[2].name, "A".repeat(256));
});
