import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { asciz, buildElf, leBytes } from "../hypervisor/builder/_elf_builder.ts";
import type { InspectReport } from "../../lib/toolstack/image_summary.ts";
import { pvx } from "../_pvx.ts";

/** A small pv32pae guest and a 32-bit guest without PAE whose entry is outside the image. */
async function images(): Promise<{ good: string; bad: string; junk: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "pvx-inspect-" });
  const notes = (pae: boolean, entry: bigint) => [
    { name: "Xen", type: 6, desc: asciz("linux") },
    { name: "Xen", type: 5, desc: asciz("xen-3.0") },
    { name: "Xen", type: 3, desc: leBytes(0xc0000000n, 4) },
    { name: "Xen", type: 1, desc: leBytes(entry, 4) },
    { name: "Xen", type: 2, desc: leBytes(0xc0101000n, 4) },
    ...(pae ? [{ name: "Xen", type: 9, desc: asciz("yes") }] : []),
  ];
  const seg = [{ vaddr: 0xc0100000n, paddr: 0x100000n, data: new Uint8Array(0x2000) }];
  const good = `${dir}/good.elf`, bad = `${dir}/bad.elf`, junk = `${dir}/junk.bin`;
  await Deno.writeFile(
    good,
    buildElf({ bits: 32, entry: 0xc0100000n, segments: seg, notes: notes(true, 0xc0100000n) }),
  );
  await Deno.writeFile(
    bad,
    buildElf({ bits: 32, entry: 0xc0100000n, segments: seg, notes: notes(false, 0xd0000000n) }),
  );
  await Deno.writeFile(junk, new TextEncoder().encode("this is not a kernel\n"));
  return { good, bad, junk, dir };
}

Deno.test("pvx inspect: text, --json, problems, bad input exit codes and --help", async (t) => {
  const img = await images();
  try {
    await t.step("prints a boot summary and exits 0", async () => {
      const r = await pvx("inspect", img.good);
      strictEqual(r.code, 0, r.stderr);
      ok(r.stdout.includes("Boot summary: pv32pae"), r.stdout);
      ok(r.stdout.includes("GUEST_OS:"), r.stdout);
      ok(r.stdout.includes("hypercall pg  0xc0101000"), r.stdout);
      ok(r.stdout.includes("Problems: none"), r.stdout);
    });
    await t.step("--json is one parsable document with schemaVersion 1", async () => {
      const r = await pvx("inspect", "--json", img.good);
      strictEqual(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as InspectReport;
      strictEqual(doc.schemaVersion, 1);
      strictEqual(doc.boot.kind, "pv32pae");
      strictEqual(doc.boot.entry, "0xc0100000");
      strictEqual(doc.boot.virtStart, "0xc0100000");
      strictEqual(doc.boot.virtEnd, "0xc0102000");
      deepStrictEqual(doc.xen.notes.map((n) => n.name), [
        "GUEST_OS",
        "XEN_VERSION",
        "VIRT_BASE",
        "ENTRY",
        "HYPERCALL_PAGE",
        "PAE_MODE",
      ]);
      strictEqual(doc.elf.class, 32);
    });
    await t.step(
      "reports 32-bit without PAE and an entry outside the image as problems",
      async () => {
        const r = await pvx("inspect", "--json", img.bad);
        strictEqual(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout) as InspectReport;
        strictEqual(doc.boot.kind, "pv32");
        ok(doc.boot.problems.some((p) => p.includes("without PAE")), doc.boot.problems.join("; "));
        ok(
          doc.boot.problems.some((p) => p.includes("outside the image")),
          doc.boot.problems.join("; "),
        );
      },
    );
    await t.step("a file that is not a kernel gives one line on stderr and exit 2", async () => {
      const r = await pvx("inspect", img.junk);
      strictEqual(r.code, 2);
      strictEqual(r.stdout, "");
      strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
      ok(r.stderr.startsWith(`pvx: Cannot load image "${img.junk}": not an ELF file`), r.stderr);
    });
    await t.step("a missing file exits 2 with one line", async () => {
      const r = await pvx("inspect", `${img.dir}/nope`);
      strictEqual(r.code, 2);
      strictEqual(r.stderr.trim(), `pvx: Cannot read image "${img.dir}/nope": no such file`);
    });
    await t.step("no image argument is a usage error (exit 2)", async () => {
      const r = await pvx("inspect");
      strictEqual(r.code, 2);
      ok(r.stderr.includes("missing required argument"), r.stderr);
    });
    await t.step("--help describes the argument and --json", async () => {
      const r = await pvx("inspect", "--help");
      strictEqual(r.code, 0);
      ok(r.stdout.includes("Usage: pvx inspect [options] <image>"), r.stdout);
      ok(r.stdout.includes("--json"), r.stdout);
      ok(r.stdout.includes("bzImage"), r.stdout);
    });
  } finally {
    await Deno.remove(img.dir, { recursive: true });
  }
});
