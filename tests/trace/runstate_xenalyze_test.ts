/**
 * Runstate changes as Xen's vcpu_runstate_change writes them (old and new state in the event
 * id, {vcpu, dom} in the one data word): Debian's xenalyze follows two vcpus of one domain
 * switching on pvx's one pcpu, a second vcpu first seen after the first ran (VCPUOP_up, as
 * Linux brings up its secondary CPU). With the states in a data word xenalyze read every
 * change as running->running and gave up ("p->current not default domain", exit 1).
 */
import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { HAVE_XENALYZE, needs } from "../_tools.ts";
import { XentraceWriter } from "../../lib/hypervisor/trace/xentrace_writer.ts";
import { decodeTrace, describe } from "../../lib/trace/mod.ts";
import { concatBytes } from "../../lib/bytes.ts";

function twoVcpuTrace(): Uint8Array {
  const chunks: Uint8Array[] = [];
  let t = 0;
  const w = new XentraceWriter({ clock: () => (t += 1000), sink: (b) => chunks.push(b.slice()) });
  const work = () => {
    for (let i = 0; i < 4; i++) w.rec(0x0020f003, 1, i, 0, 0, 0, 0, 0); // pv hypercall
  };
  w.switchTo(1, 0);
  work();
  w.switchTo(1, 1);
  work();
  w.switchTo(1, 0);
  work();
  w.switchTo(1, 1);
  work();
  w.flush();
  return concatBytes(chunks);
}

Deno.test("pvx's decoder reads the runstate changes' states from the event id", () => {
  const recs = decodeTrace(twoVcpuTrace()).filter((r) => describe(r).new !== undefined);
  deepStrictEqual(
    recs.map((r) =>
      `d${describe(r).dom}v${describe(r).vcpu} ${describe(r).old}->${describe(r).new}`
    ),
    [
      "d1v0 runnable->running",
      "d1v0 running->runnable",
      "d1v1 runnable->running",
      "d1v1 running->runnable",
      "d1v0 runnable->running",
      "d1v0 running->runnable",
      "d1v1 runnable->running",
    ],
  );
  // the record after a switch is attributed to the vcpu switched to
  strictEqual(decodeTrace(twoVcpuTrace()).at(-1)!.vcpu, 1);
});

Deno.test({
  ...needs(
    "xenalyze follows two vcpus of a domain switching on one pcpu",
    !HAVE_XENALYZE && "xenalyze missing",
  ),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "pvx-runstate-" });
    try {
      await Deno.writeFile(`${dir}/t.xt`, twoVcpuTrace());
      const o = await new Deno.Command("xenalyze", { args: ["--summary", `${dir}/t.xt`] })
        .output();
      const err = new TextDecoder().decode(o.stderr), out = new TextDecoder().decode(o.stdout);
      strictEqual(o.code, 0, err);
      deepStrictEqual(err.split("\n").filter((l) => /strange|fatal|error/i.test(l)), []);
      match(err, /Creating vcpu 1 for dom 1/);
      match(out, /-- v1 --/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
