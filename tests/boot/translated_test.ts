/**
 * `pvx boot --translated`: pvx's own guest runs with XENFEAT_auto_translated_physmap
 * (page tables, grants and physmap edits in pfns) and passes its selftest.
 * @module
 */
import assert from "node:assert/strict";
import { pvx as run } from "../_pvx.ts";
import { helloKernel } from "../hypervisor/_image.ts";

/** Runs `pvx ARGS...` with stdin closed; stdout and stderr together. */
async function pvx(...args: string[]): Promise<{ code: number; out: string }> {
  const r = await run(...args);
  return { code: r.code, out: r.stdout + r.stderr };
}

/** The areas the selftest reported, by verdict. */
function verdicts(out: string, verdict: string): string[] {
  return out.split("\n").filter((l) => l.startsWith(verdict + " "));
}

Deno.test("pvx boot --translated runs the default guest in translated paging and passes its selftest", async () => {
  const r = await pvx("boot", "--translated");
  assert.match(r.out, /features [0-9a-f]+, translated paging\n/, r.out);
  assert.deepEqual(verdicts(r.out, "FAIL"), [], r.out);
  assert.ok(verdicts(r.out, "PASS").length >= 14, r.out);
  assert.match(r.out, /selftest: \d+ passed, 0 failed, 2 skipped/);
  assert.equal(r.code, 0, r.out);
});

Deno.test("pvx boot without --translated keeps direct paging", async () => {
  const r = await pvx("boot", "--cmdline", "selftest", "--max-instructions", "3000000");
  assert.match(r.out, /features [0-9a-f]+, direct paging\n/, r.out);
  const feat = /features ([0-9a-f]+),/.exec(r.out);
  assert.ok(feat && (parseInt(feat[1], 16) & 4) === 0, "no auto_translated_physmap bit");
});

Deno.test("pvx boot --translated --disk --net: block and network areas pass too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/disk.img`, new Uint8Array(8 << 20));
    const r = await pvx(
      "boot",
      "--translated",
      "--disk",
      `${dir}/disk.img`,
      "--net",
      "bridge=xenbr0",
    );
    assert.match(r.out, /translated paging\n/, r.out);
    assert.deepEqual(verdicts(r.out, "FAIL"), [], r.out);
    assert.ok(verdicts(r.out, "PASS").some((l) => l.startsWith("PASS block I/O")), r.out);
    assert.ok(verdicts(r.out, "PASS").some((l) => l.startsWith("PASS network I/O")), r.out);
    assert.match(r.out, /selftest: \d+ passed, 0 failed, 0 skipped/);
    assert.equal(r.code, 0, r.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx boot --translated: a crash dump shows cr3 as the L3's guest-physical address", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = `${dir}/crash.elf`;
    await Deno.writeFile(img, helloKernel("oops\n", 3));
    const direct = await pvx("boot", img, "--memory", "8");
    const translated = await pvx("boot", img, "--memory", "8", "--translated");
    assert.equal(translated.code, 1, translated.out);
    const cr3 = (out: string) => /cr3: ([0-9a-f]{8})/.exec(out)?.[1];
    const gpa = cr3(translated.out);
    assert.ok(gpa !== undefined && gpa !== "00000000", translated.out);
    assert.notEqual(cr3(direct.out), gpa, "direct mode shows the machine address");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
