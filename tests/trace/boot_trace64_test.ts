/**
 * `pvx boot --trace` of the 64-bit guest (guest/pvx-guest64.elf's selftest): the PV
 * records carry 64-bit addresses as Xen writes them for a 64-bit guest (TRC_64_FLAG on
 * traps, page faults and privileged-op emulation; TRC_PV_HYPERCALL_V2 without it, 64-bit
 * arguments marked as such), and xenalyze reads the trace: the same hypercall counts as
 * pvx's summary, domain 1, the same trap vectors and rips, the same page-fault words.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { HAVE_XENALYZE, needs } from "../_tools.ts";
import { decodeTrace, type TraceRecord } from "../../lib/trace/decode.ts";
import { describe } from "../../lib/trace/describe.ts";
import { summarize } from "../../lib/trace/summary.ts";
import {
  HYPERCALL_NAMES,
  TRC_64_FLAG,
  TRC_PV_EMULATE_PRIVOP,
  TRC_PV_HYPERCALL_V2,
  TRC_PV_PAGE_FAULT,
  TRC_PV_TRAP,
} from "../../lib/abi/trace.ts";

const dec = new TextDecoder();

async function bootTrace64(path: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", "boot", "guest/pvx-guest64.elf", "--cmdline", "selftest"]
      .concat(["--trace", path]),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  strictEqual(out.code, 0, dec.decode(out.stderr));
  ok(/booting \(xen-3\.0-x86_64\)/.test(dec.decode(out.stdout)), "the 64-bit guest ran");
}

const hex = (n: number) => (n >>> 0).toString(16);
const rip = (lo: number, hi: number) => hi === 0 ? hex(lo) : hex(hi) + hex(lo).padStart(8, "0");

Deno.test("a 64-bit guest's trace has 64-bit PV records; xenalyze reads them as pvx does", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/g64.trace`;
    await bootTrace64(path);
    const recs = decodeTrace(await Deno.readFile(path));
    const of = (e: number) => recs.filter((r) => r.event === e);
    // the 32-bit forms never appear for a 64-bit guest
    strictEqual(of(TRC_PV_TRAP).length + of(TRC_PV_PAGE_FAULT).length, 0);
    strictEqual(of(TRC_PV_EMULATE_PRIVOP).length, 0);
    const traps = of(TRC_PV_TRAP | TRC_64_FLAG), pfs = of(TRC_PV_PAGE_FAULT | TRC_64_FLAG);
    ok(traps.length > 0 && pfs.length > 0 && of(TRC_PV_EMULATE_PRIVOP | TRC_64_FLAG).length > 0);
    ok(traps.every((r) => r.data.length === 3) && pfs.every((r) => r.data.length === 5));
    // kernel rips are in the upper half: the high word is there
    ok(traps.some((r) => r.data[1] === 0xffffffff), "a trap taken in the kernel");
    ok(traps.some((r) => r.data[1] === 0), "a trap taken in user space");
    const f = describe(pfs[0]);
    ok(/^0x[0-9a-f]{16}$/.test(String(f.rip)) && /^0x[0-9a-f]{16}$/.test(String(f.addr)));
    // hypercall records: no 64-bit flag; kernel pointers as 64-bit arguments
    const hcs = of(TRC_PV_HYPERCALL_V2);
    ok(hcs.length > 100);
    ok(hcs.some((r) => ((r.data[0] >>> 20) & 3) === 2), "a 64-bit first argument");
    const args = hcs.map((r) => describe(r).args as number[]);
    ok(args.some((a) => a.some((x) => x > 2 ** 63)), "an upper-half pointer decodes whole");

    const s = await summarize(recs);
    const ours: Record<number, number> = {};
    for (const [name, row] of Object.entries(s.byHypercall)) {
      ours[HYPERCALL_NAMES.indexOf(name)] = row.count;
    }
    ok(Object.keys(ours).length > 10, "a guest boot makes many kinds of hypercalls");
    const trapCount = Object.values(s.byTrap).reduce((n, row) => n + row.count, 0);
    strictEqual(trapCount, traps.length, "the summary counts the 64-bit trap records");
    await t.step({
      ...needs("xenalyze agrees", !HAVE_XENALYZE && "xenalyze missing"),
      fn: () => xenalyzeAgrees(path, ours, traps, pfs),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function xenalyzeAgrees(
  path: string,
  ours: Record<number, number>,
  traps: TraceRecord[],
  pfs: TraceRecord[],
): Promise<void> {
  const sum = await new Deno.Command("xenalyze", { args: ["--summary", path] }).output();
  const text = dec.decode(sum.stdout), err = dec.decode(sum.stderr);
  strictEqual(sum.code, 0, text + err);
  ok(/Creating domain 1$/m.test(err), err);
  ok(/^\|-- Domain 1 --\|$/m.test(text), text);
  // nothing xenalyze could not read (runstate changes carry their states as Xen writes them)
  const remarks = err.split("\n").filter((l) => /error|unknown|unexpected|bad|invalid/i.test(l));
  deepStrictEqual(remarks, []);
  const theirs: Record<number, number> = {};
  const section = text.slice(text.indexOf("  hypercall "), text.indexOf("hypercall (subcall)"));
  for (const m of section.matchAll(/^\s+\S+\s+\[\s*(\d+)\]:\s+(\d+)$/gm)) {
    theirs[Number(m[1])] = Number(m[2]);
  }
  deepStrictEqual(theirs, ours);
  // the dump: xenalyze decodes each 64-bit trap's vector and rip as pvx wrote them, and
  // shows the page faults' five words
  const dump = dec.decode(
    (await new Deno.Command("xenalyze", { args: ["--dump-all", path] }).output()).stdout,
  );
  const theirTraps = [...dump.matchAll(/ d1v0 trap (\d+) eip ([0-9a-f]+)$/gm)]
    .map((m) => `${m[1]} ${m[2]}`);
  deepStrictEqual(
    theirTraps,
    traps.map((r) => `${r.data[2] & 0x7fff} ${rip(r.data[0], r.data[1])}`),
  );
  const theirPfs = [...dump.matchAll(/ d1v0 page_fault\[ ([0-9a-f ]+) \]$/gm)].map((m) => m[1]);
  deepStrictEqual(theirPfs, pfs.map((r) => r.data.map(hex).join(" ")));
}
