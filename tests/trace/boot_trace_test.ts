import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { HAVE_XENALYZE, needs } from "../_tools.ts";
import { decodeTrace } from "../../lib/trace/decode.ts";
import { summarize } from "../../lib/trace/summary.ts";
import { HYPERCALL_NAMES } from "../../lib/abi/trace.ts";

async function bootTrace(path: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli.ts",
      "boot",
      "guest/pvx-guest.elf",
      "--cmdline",
      "selftest",
      "--trace",
      path,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  strictEqual(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test("pvx boot --trace records the same bytes twice; xenalyze counts the hypercalls pvx counts", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await bootTrace(`${dir}/a.trace`);
    await bootTrace(`${dir}/b.trace`);
    const a = await Deno.readFile(`${dir}/a.trace`);
    deepStrictEqual(a, await Deno.readFile(`${dir}/b.trace`), "tracing is deterministic");
    const s = await summarize(decodeTrace(a));
    const ours: Record<number, number> = {};
    for (const [name, row] of Object.entries(s.byHypercall)) {
      ours[HYPERCALL_NAMES.indexOf(name)] = row.count;
    }
    ok(Object.keys(ours).length > 10, "a guest boot makes many kinds of hypercalls");
    await t.step({
      ...needs("xenalyze counts the same hypercalls", !HAVE_XENALYZE && "xenalyze missing"),
      fn: () => xenalyzeAgrees(`${dir}/a.trace`, ours),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function xenalyzeAgrees(path: string, ours: Record<number, number>): Promise<void> {
  {
    const x = await new Deno.Command("xenalyze", { args: ["--summary", path] })
      .output();
    const text = new TextDecoder().decode(x.stdout);
    strictEqual(x.code, 0, text + new TextDecoder().decode(x.stderr));
    const theirs: Record<number, number> = {};
    const section = text.slice(text.indexOf("  hypercall "), text.indexOf("hypercall (subcall)"));
    for (const m of section.matchAll(/^\s+\S+\s+\[\s*(\d+)\]:\s+(\d+)$/gm)) {
      theirs[Number(m[1])] = Number(m[2]);
    }
    deepStrictEqual(theirs, ours);
  }
}

Deno.test("pvx boot --trace-classes records only the named classes; an unknown class exits 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = (extra: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "cli.ts", "boot", "--trace", `${dir}/t.trace`, ...extra],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
    strictEqual((await run(["--trace-classes", "pv"])).code, 0);
    const recs = decodeTrace(await Deno.readFile(`${dir}/t.trace`));
    ok(recs.length > 100);
    ok(recs.every((r) => r.event === 0x0001f003 || (r.event & 0x0fff0000) === 0x00200000));
    const bad = await run(["--trace-classes", "pv,nope"]);
    strictEqual(bad.code, 2);
    ok(/Unknown trace class "nope"/.test(new TextDecoder().decode(bad.stderr)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
