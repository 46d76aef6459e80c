/**
 * XTF, Xen's own test suite, run as a user would: `pvx boot test-ENV-NAME.cfg` for every
 * xl config of each environment, reading the console's `Test result:` line. Each
 * configuration must end as Xen 4.17 in its default configuration ends it: SUCCESS, or
 * SKIP where Xen would skip too (the reason is in EXPECTED_SKIPS and README.md). A
 * configuration pvx does not pass yet is listed in KNOWN_FAILURES with its reason and
 * reported as ignored, never as passed.
 * @module
 */
import assert from "node:assert/strict";
import { pvx } from "../_pvx.ts";
import { xtfDir } from "./_xtf_dir.ts";
import { cpu64Gap } from "./_cpu64_probe.ts";

/** The XTF environments pvx boots. */
const ENVIRONMENTS = ["pv32pae", "pv64"];

/** Tests Xen 4.17 skips in its default configuration (on pvx's CPU), and why. */
const EXPECTED_SKIPS: Record<string, string> = {
  argo: "Argo is compiled out of Xen by default (CONFIG_ARGO=n, and argo=1 on Xen's command line)",
  "pv-fsgsbase": "the CPU offers no FSGSBASE (Xen skips it on such hardware)",
  "xsa-167": "Xen removed PV superpages in 4.10",
  "xsa-444": "DBEXT is an AMD feature and pvx's CPU is an Intel one (Xen skips it there)",
};

/** Configurations pvx does not pass yet, and why (reported as ignored). */
const KNOWN_FAILURES: Record<string, string> = {};

/** A whole environment pvx cannot run yet, and why (its configurations are ignored). */
const ENV_GAPS: Record<string, string | null> = { pv64: cpu64Gap() };

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
    const known = ENV_GAPS[env] ?? KNOWN_FAILURES[name];
    if (known) {
      Deno.test({ name: `XTF ${name} (ignored: known failure: ${known})`, ignore: true, fn() {} });
      continue;
    }
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
