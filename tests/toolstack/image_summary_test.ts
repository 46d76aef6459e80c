import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { inspectImage } from "../../lib/toolstack/image_summary.ts";
import { asciz, buildElf, leBytes, type NoteSpec } from "../hypervisor/builder/_elf_builder.ts";
import { fixture } from "../inspect/_fixtures.ts";

/** What the real images must summarise to (values as readnotes and readelf show them). */
const EXPECTED: Record<string, {
  kind: string;
  pvh: boolean;
  entry: string;
  virtBase: string;
  hypercallPage: string | null;
  virtStart: string;
  layers: string[];
}> = {
  "grub-i386-xen.bin": {
    kind: "pv32pae",
    pvh: false,
    entry: "0x0",
    virtBase: "0x0",
    hypercallPage: null,
    virtStart: "0x0",
    layers: [],
  },
  "grub-x86_64-xen.bin": {
    kind: "pv64",
    pvh: false,
    entry: "0x0",
    virtBase: "0x0",
    hypercallPage: null,
    virtStart: "0x0",
    layers: [],
  },
  "grub-i386-xen_pvh.bin": {
    kind: "pvh-only",
    pvh: true,
    entry: "0x100000",
    virtBase: "0x0",
    hypercallPage: null,
    virtStart: "0x100000",
    layers: [],
  },
  "gnumach-xen-486.gz": {
    kind: "pv64",
    pvh: false,
    entry: "0x40000000",
    virtBase: "0x40000000",
    hypercallPage: "0x40002000",
    virtStart: "0x40000000",
    layers: ["gzip/gzip"],
  },
  "vmlinuz": {
    kind: "pv64",
    pvh: true,
    entry: "0xffffffff830791c0",
    virtBase: "0xffffffff80000000",
    hypercallPage: null,
    virtStart: "0xffffffff81000000",
    layers: ["bzImage/xz"],
  },
};

for (const [name, want] of Object.entries(EXPECTED)) {
  const path = fixture(name);
  Deno.test({
    name: `inspectImage() summarises ${name} as ${want.kind}`,
    ignore: path === null,
  }, async () => {
    const r = inspectImage(await Deno.readFile(path!), name);
    strictEqual(r.boot.kind, want.kind);
    strictEqual(r.boot.pvh, want.pvh);
    strictEqual(r.boot.entry, want.entry);
    strictEqual(r.boot.virtBase, want.virtBase);
    strictEqual(r.boot.hypercallPage, want.hypercallPage);
    strictEqual(r.boot.virtStart, want.virtStart);
    deepStrictEqual(r.layers.map((l) => `${l.kind}/${l.format}`), want.layers);
    if (want.kind !== "pvh-only") {
      ok(
        !r.boot.problems.some((p) => /outside|without PAE|not a Xen/.test(p)),
        r.boot.problems.join("; "),
      );
    }
  });
}

function summary(bits: 32 | 64, notes: NoteSpec[], xenGuest?: string) {
  return inspectImage(
    buildElf({
      bits,
      entry: 0x100000n,
      segments: [{ vaddr: 0x100000n, paddr: 0x100000n, data: new Uint8Array(32), memsz: 0x1000n }],
      notes,
      xenGuest,
    }),
    "t.elf",
  ).boot;
}

Deno.test("inspectImage() classifies guests as Xen's loader checks them", () => {
  const os = (s: string) => ({ name: "Xen", type: 6, desc: asciz(s) });
  const ver = (s: string) => ({ name: "Xen", type: 5, desc: asciz(s) });
  const loader = (s: string) => ({ name: "Xen", type: 8, desc: asciz(s) });
  const pae = { name: "Xen", type: 9, desc: asciz("yes") };
  strictEqual(summary(64, [os("linux"), ver("xen-3.0")]).kind, "pv64");
  strictEqual(summary(32, [os("linux"), ver("xen-3.0"), pae]).kind, "pv32pae");
  strictEqual(summary(32, [os("FreeBSD"), loader("generic"), ver("xen-3.0"), pae]).kind, "pv32pae");
  // neither the generic loader nor Linux: Xen refuses it
  const odd = summary(32, [os("Plan9"), ver("xen-3.0"), pae]);
  strictEqual(odd.kind, "not-xen");
  ok(odd.problems.some((p) => p.includes("not loadable as PV")));
  // Xen only loads images built for xen-3.0
  strictEqual(summary(64, [os("linux"), ver("xen-2.0")]).kind, "not-xen");
  // PHYS32_ENTRY alone: PVH only
  const pvh = summary(32, [{ name: "Xen", type: 18, desc: leBytes(0x100000n, 4) }]);
  strictEqual(pvh.kind, "pvh-only");
  strictEqual(pvh.pvh, true);
  // legacy string only
  strictEqual(summary(32, [], "GUEST_OS=linux,XEN_VER=xen-3.0,PAE=yes").kind, "pv32pae");
  strictEqual(summary(64, []).kind, "not-xen");
});

Deno.test("inspectImage() reports a hypercall page and an INIT_P2M base inside the image", () => {
  const b = summary(64, [
    { name: "Xen", type: 6, desc: asciz("linux") },
    { name: "Xen", type: 5, desc: asciz("xen-3.0") },
    { name: "Xen", type: 2, desc: leBytes(0x900000n, 8) },
    { name: "Xen", type: 15, desc: leBytes(0x100800n, 8) },
  ]);
  ok(
    b.problems.some((p) => p.includes("hypercall page 0x900000 outside the image")),
    b.problems.join("; "),
  );
  ok(
    b.problems.some((p) => p.includes("INIT_P2M base 0x100800 inside the image")),
    b.problems.join("; "),
  );
  ok(b.loaderMustProvide.some((s) => s.includes("P2M list mapped at 0x100800")));
});
