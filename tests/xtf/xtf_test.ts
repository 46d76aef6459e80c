/**
 * XTF, Xen's own test suite, run as a user would: `pvx boot test-ENV-NAME.cfg` for every
 * xl config of each environment, reading the console's `Test result:` line. Each
 * configuration must end as Xen 4.17 in its default configuration ends it: SUCCESS, or
 * SKIP where Xen would skip too (the reason is in EXPECTED_SKIPS and README.md).
 * @module
 */
import assert from "node:assert/strict";
import { pvx } from "../_pvx.ts";
import { xtfDir } from "./_xtf_dir.ts";

/** The XTF environments pvx boots (pv64 joins when 64-bit PV guests do). */
const ENVIRONMENTS = ["pv32pae"];

/** Tests Xen 4.17 skips in its default configuration, and why. */
const EXPECTED_SKIPS: Record<string, string> = {
  argo: "Argo is compiled out of Xen by default (CONFIG_ARGO=n, and argo=1 on Xen's command line)",
};

const dir = xtfDir();

/** The configs of one environment, sorted (none when XTF is absent). */
function configs(env: string): string[] {
  if (!dir.path) return [];
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir.path}/${env}`)) {
    if (e.isFile && e.name.endsWith(".cfg")) out.push(e.name);
  }
  return out.sort();
}

if (!dir.path) {
  Deno.test({ name: `XTF (ignored: ${dir.reason})`, ignore: true, fn() {} });
}

for (const env of ENVIRONMENTS) {
  for (const cfg of configs(env)) {
    const name = cfg.replace(/\.cfg$/, "");
    const test = name.replace(`test-${env}-`, "").replace(/~.*$/, "");
    const skip = EXPECTED_SKIPS[test];
    const want = skip ? "SKIP" : "SUCCESS";
    Deno.test(`XTF ${name}: ${want}${skip ? ` (${skip})` : ""}`, async () => {
      const r = await pvx("boot", `${dir.path}/${env}/${cfg}`);
      const results = [...r.stdout.matchAll(/Test result: (\w+)/g)].map((m) => m[1]);
      const tail = r.stdout.split("\n").slice(-12).join("\n") + r.stderr;
      assert.ok(results.length > 0, `no "Test result:" line (exit ${r.code}):\n${tail}`);
      assert.equal(results[results.length - 1], want, tail);
      assert.equal(r.code, 0, tail);
    });
  }
}
