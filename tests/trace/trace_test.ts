import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { HAVE_XENALYZE, needs } from "../_tools.ts";
import fc from "fast-check";
import { sampleTrace } from "./_sample.ts";
import {
  decodeTrace,
  readTrace,
  TraceFormatError,
  type TraceRecord,
} from "../../lib/trace/decode.ts";
import { describe } from "../../lib/trace/describe.ts";
import { summarize } from "../../lib/trace/summary.ts";
import {
  TRC_LOST_RECORDS,
  TRC_PV,
  TRC_PV_HYPERCALL_V2,
  TRC_PV_TRAP,
  TRC_TRACE_CPU_CHANGE,
} from "../../lib/abi/trace.ts";

async function* chunked(bytes: Uint8Array, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

const fuzzRuns = Deno.env.get("PVX_FUZZ") === "full" ? 200_000 : 3_000;

Deno.test("XentraceWriter output decodes back to the same records, framed by cpu_change", () => {
  const recs = decodeTrace(sampleTrace());
  const body = recs.filter((r) => r.event !== TRC_TRACE_CPU_CHANGE);
  strictEqual(body.length, 1 + 25 + 7 + 3);
  ok(recs[0].event === TRC_TRACE_CPU_CHANGE, "starts with a cpu window");
  const hc = body.filter((r) => r.event === TRC_PV_HYPERCALL_V2);
  deepStrictEqual(describe(hc[3]).args, [0, 3]);
  strictEqual(describe(hc[3]).name, "console_io");
  strictEqual(hc[0].dom, 1);
  const tscs = body.map((r) => r.tsc);
  deepStrictEqual(tscs, [...tscs].sort((a, b) => a - b));
  const trap = describe(body.find((r) => r.event === TRC_PV_TRAP)!);
  strictEqual(trap.trap, "#GP");
  strictEqual(trap.error_code, 0x10);
});

Deno.test("XentraceWriter is deterministic and honours the class filter", () => {
  deepStrictEqual(sampleTrace(), sampleTrace());
  const onlyPv = decodeTrace(sampleTrace({ classes: [TRC_PV] }));
  ok(
    onlyPv.every((r) => r.event === TRC_TRACE_CPU_CHANGE || (r.event & 0x0fff0000) === 0x00200000),
  );
  strictEqual(onlyPv.filter((r) => r.event !== TRC_TRACE_CPU_CHANGE).length, 34);
});

Deno.test("readTrace() gives the same records whatever the chunking", async () => {
  const bytes = sampleTrace({ windowWords: 40 });
  const whole = decodeTrace(bytes);
  for (const size of [1, 3, 7, 64, 4096]) {
    const got: TraceRecord[] = [];
    for await (const r of readTrace(chunked(bytes, size))) got.push(r);
    deepStrictEqual(got, whole);
  }
});

Deno.test("decodeTrace() reads records without TSC and lost-record markers, unknown events raw", () => {
  const words = [
    TRC_TRACE_CPU_CHANGE | (2 << 28),
    3,
    0, // window filled in below
    (TRC_LOST_RECORDS | (2 << 28)) >>> 0,
    12,
    (1 << 16) | 0,
    (0x0123_4567 | (1 << 28)) >>> 0,
    0xabcd,
  ];
  words[2] = (words.length - 3) * 4;
  const bytes = new Uint8Array(new Uint32Array(words).buffer);
  const recs = decodeTrace(bytes);
  strictEqual(recs[1].cpu, 3);
  strictEqual(recs[1].tsc, -1);
  strictEqual(describe(recs[1]).lost, 12);
  strictEqual(describe(recs[2]).raw, "0x0000abcd");
});

Deno.test("decodeTrace() reports truncation and broken framing with the byte offset", () => {
  const bytes = sampleTrace();
  const err = (() => {
    try {
      decodeTrace(bytes.subarray(0, bytes.length - 2));
    } catch (e) {
      return e;
    }
  })();
  ok(err instanceof TraceFormatError);
  ok(err.offset > 0 && err.offset < bytes.length);
  ok(/byte offset \d+/.test(err.message));
  const bad = bytes.slice();
  new DataView(bad.buffer).setUint32(8, 6, true); // window size not a multiple of 4
  throws(() => decodeTrace(bad), TraceFormatError);
});

Deno.test("decodeTrace() never throws anything but TraceFormatError on mutated input", () => {
  const base = sampleTrace({ windowWords: 32 });
  fc.assert(
    fc.property(
      fc.nat({ max: base.length }),
      fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        maxLength: 6,
      }),
      (cut, flips) => {
        const b = base.slice(0, cut);
        for (const [i, v] of flips) if (i < b.length) b[i] = v;
        try {
          decodeTrace(b);
        } catch (e) {
          if (!(e instanceof TraceFormatError)) throw e;
        }
      },
    ),
    { numRuns: fuzzRuns },
  );
});

Deno.test("summarize() counts hypercalls and traps", async () => {
  const s = await summarize(decodeTrace(sampleTrace()));
  strictEqual(s.byHypercall.console_io.count, 25);
  strictEqual(s.byHypercall.sched_op.count, 7);
  strictEqual(s.byTrap["#GP"].count, 1);
  strictEqual(s.byDomain.d1.count, 36);
});

Deno.test({
  ...needs(
    "xenalyze reads a pvx trace and counts the same hypercalls as summarize()",
    !HAVE_XENALYZE && "xenalyze missing",
  ),
  fn: async () => {
    const bytes = sampleTrace();
    const path = await Deno.makeTempFile({ suffix: ".trace" });
    try {
      await Deno.writeFile(path, bytes);
      const out = await new Deno.Command("xenalyze", { args: ["--summary", path] }).output();
      strictEqual(out.code, 0, new TextDecoder().decode(out.stderr));
      const text = new TextDecoder().decode(out.stdout);
      const counts: Record<string, number> = {};
      for (const m of text.matchAll(/^\s+(\w+)\s+\[\s*(\d+)\]:\s+(\d+)/gm)) {
        counts[m[1]] = Number(m[3]);
      }
      const s = await summarize(decodeTrace(bytes));
      const ours = Object.fromEntries(Object.entries(s.byHypercall).map(([k, v]) => [k, v.count]));
      deepStrictEqual(counts, ours);
    } finally {
      await Deno.remove(path);
    }
  },
});

Deno.test("pvx trace ids agree with the ids the evtchn and gnttab models emit", async () => {
  const ev = await import("../../lib/abi/trace.ts");
  const ec = await import("../../lib/abi/event_channel.ts");
  const gt = await import("../../lib/abi/grant_table.ts");
  strictEqual(ev.TRC_PVX_EVTCHN_SEND, ec.TRC_PVX_EVTCHN_SEND);
  strictEqual(ev.TRC_PVX_EVTCHN_UPCALL, ec.TRC_PVX_EVTCHN_UPCALL);
  strictEqual(ev.TRC_PVX_EVTCHN_FAIL, ec.TRC_PVX_EVTCHN_FAIL);
  strictEqual(ev.TRC_PVX_GNTTAB_COPY, gt.TRC_PVX_GNTTAB_COPY);
  strictEqual(ev.TRC_PVX_GNTTAB_FAIL, gt.TRC_PVX_GNTTAB_FAIL);
});
