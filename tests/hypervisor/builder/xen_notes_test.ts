import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { parseElf } from "../../../lib/hypervisor/builder/elf.ts";
import { parseLegacyGuestString, strtoull } from "../../../lib/hypervisor/builder/legacy_guest.ts";
import {
  noteNumeric,
  parseFeatures,
  readXenNotes,
  XEN_ELFNOTE_BSD_SYMTAB,
  XEN_ELFNOTE_ENTRY,
  XEN_ELFNOTE_FEATURES,
  XEN_ELFNOTE_GUEST_OS,
  XEN_ELFNOTE_HV_START_LOW,
  XEN_ELFNOTE_HYPERCALL_PAGE,
  XEN_ELFNOTE_INFO,
  XEN_ELFNOTE_INIT_P2M,
  XEN_ELFNOTE_L1_MFN_VALID,
  XEN_ELFNOTE_LOADER,
  XEN_ELFNOTE_MOD_START_PFN,
  XEN_ELFNOTE_PADDR_OFFSET,
  XEN_ELFNOTE_PAE_MODE,
  XEN_ELFNOTE_PHYS32_ENTRY,
  XEN_ELFNOTE_SUPPORTED_FEATURES,
  XEN_ELFNOTE_SUSPEND_CANCEL,
  XEN_ELFNOTE_VIRT_BASE,
  XEN_ELFNOTE_XEN_VERSION,
} from "../../../lib/hypervisor/builder/xen_notes.ts";
import { asciz, buildElf, leBytes, type NoteSpec } from "./_elf_builder.ts";

function pv32(notes: NoteSpec[], xenGuest?: string, paddr = 0x100000n) {
  return readXenNotes(parseElf(buildElf({
    bits: 32,
    entry: 0xc0100000n,
    segments: [{ vaddr: 0xc0100000n, paddr, data: new Uint8Array(64), memsz: 0x10000n }],
    notes,
    xenGuest,
  })));
}

Deno.test("readXenNotes() decodes every elfnote.h type and keeps unknown types raw", () => {
  const x = pv32([
    { name: "Xen", type: XEN_ELFNOTE_INFO, desc: asciz("a=b") },
    { name: "Xen", type: XEN_ELFNOTE_GUEST_OS, desc: asciz("linux") },
    { name: "Xen", type: XEN_ELFNOTE_XEN_VERSION, desc: asciz("xen-3.0") },
    { name: "Xen", type: XEN_ELFNOTE_LOADER, desc: asciz("generic") },
    { name: "Xen", type: XEN_ELFNOTE_VIRT_BASE, desc: leBytes(0xc0000000n, 4) },
    { name: "Xen", type: XEN_ELFNOTE_PADDR_OFFSET, desc: leBytes(0n, 4) },
    { name: "Xen", type: XEN_ELFNOTE_ENTRY, desc: leBytes(0xc0100020n, 4) },
    { name: "Xen", type: XEN_ELFNOTE_HYPERCALL_PAGE, desc: leBytes(0xc0101000n, 4) },
    { name: "Xen", type: XEN_ELFNOTE_PAE_MODE, desc: asciz("yes") },
    { name: "Xen", type: XEN_ELFNOTE_FEATURES, desc: asciz("!writable_page_tables|dom0|frob") },
    { name: "Xen", type: XEN_ELFNOTE_BSD_SYMTAB, desc: asciz("yes") },
    { name: "Xen", type: XEN_ELFNOTE_HV_START_LOW, desc: leBytes(0xf5800000n, 4) },
    {
      name: "Xen",
      type: XEN_ELFNOTE_L1_MFN_VALID,
      desc: new Uint8Array([...leBytes(1n, 8), ...leBytes(1n, 8)]),
    },
    { name: "Xen", type: XEN_ELFNOTE_SUSPEND_CANCEL, desc: leBytes(1n, 4) },
    { name: "Xen", type: XEN_ELFNOTE_INIT_P2M, desc: leBytes(0x8000000000n, 8) },
    { name: "Xen", type: XEN_ELFNOTE_MOD_START_PFN, desc: leBytes(1n, 4) },
    { name: "Xen", type: XEN_ELFNOTE_SUPPORTED_FEATURES, desc: leBytes(0x8801n, 4) },
    { name: "Xen", type: XEN_ELFNOTE_PHYS32_ENTRY, desc: leBytes(0x100040n, 4) },
    { name: "Xen", type: 99, desc: new Uint8Array([0xde, 0xad]) },
    { name: "NotXen", type: XEN_ELFNOTE_GUEST_OS, desc: asciz("other") },
  ]);
  strictEqual(x.source, "notes");
  strictEqual(x.notes.length, 19);
  deepStrictEqual(x.notes.map((n) => n.name).slice(0, 4), [
    "INFO",
    "GUEST_OS",
    "XEN_VERSION",
    "LOADER",
  ]);
  strictEqual(x.notes[0].text, "a=b");
  strictEqual(x.guestOs, "linux");
  strictEqual(x.boot.virtBase, 0xc0000000n);
  strictEqual(x.boot.entry, 0xc0100020n);
  strictEqual(x.boot.hypercallPage, 0xc0101000n);
  strictEqual(x.boot.pae, "extended-cr3");
  strictEqual(x.bsdSymtab, true);
  strictEqual(x.hvStartLow, 0xf5800000n);
  deepStrictEqual(x.l1MfnValid, [{ mask: 1n, value: 1n }]);
  strictEqual(x.suspendCancel, 1n);
  strictEqual(x.boot.p2mBase, 0x8000000000n);
  strictEqual(x.modStartPfn, 1n);
  strictEqual(x.boot.phys32Entry, 0x100040n);
  strictEqual(x.supportedFeaturesBitmap, 0x8801);
  deepStrictEqual(x.requiredFeatures, ["writable_page_tables"]);
  ok(x.supportedFeatures.includes("linux_rsdp_unrestricted"));
  ok(x.supportedFeatures.includes("dom0"));
  ok(!x.supportedFeatures.includes("frob"));
  const unknown = x.notes[18];
  strictEqual(unknown.name, "unknown");
  strictEqual(unknown.kind, "raw");
  deepStrictEqual([...unknown.desc], [0xde, 0xad]);
  // paddr 0x100000 + (virt_base - 0) = 0xc0100000
  strictEqual(x.boot.vStart, 0xc0100000n);
  strictEqual(x.boot.vEnd, 0xc0110000n);
});

Deno.test("readXenNotes() uses __xen_guest only when there are no Xen notes (Xen's rule)", () => {
  const legacyOnly = pv32(
    [],
    "GUEST_OS=Mach,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,HYPERCALL_PAGE=0x2,PAE=yes[extended-cr3]",
  );
  strictEqual(legacyOnly.source, "legacy");
  strictEqual(legacyOnly.guestOs, "Mach");
  // ELF_PADDR_OFFSET defaults to VIRT_BASE for legacy images: paddr 0x100000 -> va 0x100000
  strictEqual(legacyOnly.boot.elfPaddrOffset, 0xc0000000n);
  strictEqual(legacyOnly.boot.vStart, 0x100000n);
  // HYPERCALL_PAGE is a page number relative to VIRT_BASE
  strictEqual(legacyOnly.boot.hypercallPage, 0xc0002000n);
  strictEqual(legacyOnly.boot.pae, "extended-cr3");
  const both = pv32(
    [{ name: "Xen", type: XEN_ELFNOTE_GUEST_OS, desc: asciz("linux") }],
    "GUEST_OS=Mach",
  );
  strictEqual(both.source, "notes");
  strictEqual(both.guestOs, "linux");
  ok(both.legacy !== null);
  const none = pv32([]);
  strictEqual(none.source, "none");
  strictEqual(none.boot.entry, 0xc0100000n);
});

Deno.test("readXenNotes() maps PAE strings as libelf does", () => {
  const pae = (s: string) =>
    pv32([{ name: "Xen", type: XEN_ELFNOTE_PAE_MODE, desc: asciz(s) }]).boot.pae;
  strictEqual(pae("yes"), "extended-cr3");
  strictEqual(pae("bimodal"), "bimodal");
  strictEqual(pae("yes,bimodal"), "bimodal");
  strictEqual(pae("no"), "no");
  strictEqual(pv32([], "PAE=yes").boot.pae, "yes");
  strictEqual(pv32([], "PAE=no").boot.pae, "no");
});

Deno.test("readXenNotes() warns about an unknown required feature", () => {
  const x = pv32([{ name: "Xen", type: XEN_ELFNOTE_FEATURES, desc: asciz("!frobnicate|dom0") }]);
  ok(x.warnings.some((w) => w.includes("frobnicate")));
});

Deno.test("parseFeatures() splits on '|' and marks '!' as required", () => {
  deepStrictEqual(parseFeatures("!writable_page_tables|pae_pgdir_above_4gb||x"), [
    { name: "writable_page_tables", bit: 0, required: true },
    { name: "pae_pgdir_above_4gb", bit: 4, required: false },
    { name: "x", bit: null, required: false },
  ]);
});

Deno.test("noteNumeric() reads 1/2/4/8-byte little-endian values and 0 for other sizes", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.constantFrom(1, 2, 4, 8),
      (v, size) => {
        const masked = v & ((1n << BigInt(size * 8)) - 1n);
        return noteNumeric(leBytes(masked, size)) === masked;
      },
    ),
    { numRuns: 500 },
  );
  strictEqual(noteNumeric(new Uint8Array(3).fill(0xff)), 0n);
});

Deno.test("strtoull() parses hex, octal and decimal prefixes as C does", () => {
  strictEqual(strtoull("0x40000000"), 0x40000000n);
  strictEqual(strtoull("010"), 8n);
  strictEqual(strtoull("42abc"), 42n);
  strictEqual(strtoull("  7"), 7n);
  strictEqual(strtoull("0x"), 0n);
  strictEqual(strtoull(""), 0n);
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      (v) => strtoull("0x" + v.toString(16)) === v && strtoull(v.toString()) === v,
    ),
    { numRuns: 500 },
  );
});

Deno.test("parseLegacyGuestString() keeps every pair, including unknown keys and bare keys", () => {
  const g = parseLegacyGuestString(
    "GUEST_OS=GNU Mach,GUEST_VERSION=1.3,XEN_VER=xen-3.0,VIRT_BASE=0x40000000,ELF_PADDR_OFFSET=0x40000000,HYPERCALL_PAGE=0x2,LOADER=generic,BSD_SYMTAB,FEATURES=!writable_page_tables,X=1",
  );
  strictEqual(g.pairs.length, 10);
  strictEqual(g.guestVersion, "1.3");
  strictEqual(g.virtBase, 0x40000000n);
  strictEqual(g.hypercallPage, 2n);
  strictEqual(g.bsdSymtab, true);
  strictEqual(g.features, "!writable_page_tables");
  deepStrictEqual(g.pairs.at(-1), { key: "X", value: "1" });
  deepStrictEqual(g.pairs[7], { key: "BSD_SYMTAB", value: null });
});

Deno.test("readXenNotes() takes Xen notes from SHT_NOTE sections when PT_NOTE holds only others", () => {
  const bytes = buildElf({
    bits: 64,
    entry: 0x1000n,
    segments: [{ vaddr: 0x1000n, paddr: 0x1000n, data: new Uint8Array(32) }],
    notes: [{ name: "GNU", type: 3, desc: new Uint8Array(20) }],
  });
  const elf = parseElf(bytes);
  // the builder's only SHT_NOTE section mirrors the segment: make its note a Xen one there
  const xenSection = {
    ...elf.sectionNotes[0],
    name: "Xen",
    type: XEN_ELFNOTE_GUEST_OS,
    desc: asciz("linux"),
  };
  const x = readXenNotes({ ...elf, sectionNotes: [xenSection] });
  strictEqual(x.source, "notes");
  strictEqual(x.guestOs, "linux");
  strictEqual(readXenNotes(elf).source, "none");
});
