import { ok, strictEqual } from "node:assert/strict";
import { sampleTrace } from "../trace/_sample.ts";
import { pvx } from "../_pvx.ts";

Deno.test("pvx trace prints text, NDJSON, summary and Perfetto JSON; filters by class", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/boot.trace`;
    await Deno.writeFile(f, sampleTrace());
    const text = await pvx("trace", f);
    strictEqual(text.code, 0, text.stderr);
    ok(/cpu0 d1v0 pv_hypercall op=18 name=console_io/.test(text.stdout));
    const json = await pvx("trace", "--json", "--filter", "class=pv,event=pv_page_fault", f);
    const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
    strictEqual(lines.length, 1);
    strictEqual(lines[0].fields.addr, "0xdeadb000");
    const sum = await pvx("trace", "--summary", f);
    ok(/console_io\s+25/.test(sum.stdout), sum.stdout);
    const pf = `${dir}/out.json`;
    strictEqual((await pvx("trace", "--perfetto", pf, f)).code, 0);
    const doc = JSON.parse(await Deno.readTextFile(pf));
    ok(
      doc.traceEvents.some((e: { ph: string; name: string }) =>
        e.ph === "X" && /console_io/.test(e.name)
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx trace exits 2 with the byte offset on a truncated file, and on a bad filter", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/cut.trace`;
    const b = sampleTrace();
    await Deno.writeFile(f, b.subarray(0, b.length - 5));
    const r = await pvx("trace", f);
    strictEqual(r.code, 2);
    ok(/byte offset \d+/.test(r.stderr), r.stderr);
    strictEqual(r.stderr.trim().split("\n").length, 1);
    strictEqual((await pvx("trace", "--filter", "nope=1", f)).code, 2);
    strictEqual((await pvx("trace", `${dir}/missing`)).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
