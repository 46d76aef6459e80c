/**
 * Differential test: every Xen note pvx reports for the real Debian images equals what
 * Debian's `readnotes` (xen-utils-4.17) prints for the same file. readnotes does not unwrap
 * bzImage, so the vmlinuz's inner ELF (as pvx extracted it) is given to it.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { inspectImage } from "../../lib/toolstack/image_summary.ts";
import { unwrapImage } from "../../lib/hypervisor/builder/unwrap.ts";
import { fixture, readnotesPath, REAL_IMAGES } from "./_fixtures.ts";
import { compare, parseReadnotes, readnotes } from "./_readnotes.ts";

const READNOTES = readnotesPath();

for (const name of REAL_IMAGES) {
  const path = fixture(name);
  Deno.test({
    name: `inspectImage() reports the same notes as readnotes for ${name}`,
    ignore: path === null || READNOTES === null,
  }, async () => {
    const bytes = await Deno.readFile(path!);
    const report = inspectImage(bytes, name);
    let target = path!;
    let tmp: string | null = null;
    if (report.layers.some((l) => l.kind === "bzImage")) {
      // readnotes refuses a bzImage; hand it the ELF pvx extracted
      strictEqual(
        (await readnotes(READNOTES!, path!)).code !== 0,
        true,
        "readnotes unwraps bzImage now?",
      );
      tmp = await Deno.makeTempFile({ suffix: ".elf" });
      await Deno.writeFile(tmp, unwrapImage(bytes).elf);
      target = tmp;
    }
    try {
      const rn = await readnotes(READNOTES!, target);
      strictEqual(rn.code, 0, `readnotes exit code for ${name}`);
      const lines = parseReadnotes(rn.text);
      ok(lines.length > 0, "readnotes printed nothing");
      compare(report, lines);
    } finally {
      if (tmp) await Deno.remove(tmp);
    }
  });
}
