/**
 * Trace summaries: record counts and time per class, per event, per hypercall and per
 * trap. A record's time is the TSC distance to the next record on the same CPU (the
 * time until something else happened there), as a profile of where the guest spent it.
 * @module
 */
import type { TraceRecord } from "./decode.ts";
import { eventName, hypercallName, hypercallOp, trapName } from "./describe.ts";
import {
  eventClass,
  TRC_64_FLAG,
  TRC_PV_HYPERCALL,
  TRC_PV_HYPERCALL_SUBCALL,
  TRC_PV_HYPERCALL_V2,
  TRC_PV_TRAP,
  TRC_TRACE_CPU_CHANGE,
} from "../abi/mod.ts";

/** One row: how many records and how many TSC cycles. */
export interface SummaryRow {
  count: number;
  cycles: number;
}

/** A whole summary. */
export interface TraceSummary {
  records: number;
  firstTsc: number;
  lastTsc: number;
  byClass: Record<string, SummaryRow>;
  byEvent: Record<string, SummaryRow>;
  /** Hypercalls, including the entries of multicalls (as xenalyze counts them). */
  byHypercall: Record<string, SummaryRow>;
  /** The entries of multicalls alone. */
  bySubcall: Record<string, SummaryRow>;
  byTrap: Record<string, SummaryRow>;
  byDomain: Record<string, SummaryRow>;
}

const CLASS_NAMES: Record<number, string> = {
  0x0001f000: "gen",
  0x0002f000: "sched",
  0x0004f000: "dom0op",
  0x0008f000: "hvm",
  0x0010f000: "mem",
  0x0020f000: "pv",
  0x0040f000: "shadow",
  0x0080f000: "hw/pvx",
  0x0800f000: "guest",
};

/** Name of an event's class. */
export function className(event: number): string {
  const c = eventClass(event);
  return CLASS_NAMES[c] ?? "0x" + c.toString(16);
}

function bump(t: Record<string, SummaryRow>, key: string, cycles: number, count: number): void {
  const row = t[key] ?? (t[key] = { count: 0, cycles: 0 });
  row.count += count;
  row.cycles += cycles;
}

/** Builds a summary incrementally: feed records with {@link add}, read {@link result}. */
export class SummaryBuilder {
  readonly #s: TraceSummary = {
    records: 0,
    firstTsc: -1,
    lastTsc: -1,
    byClass: {},
    byEvent: {},
    byHypercall: {},
    bySubcall: {},
    byTrap: {},
    byDomain: {},
  };
  readonly #pending = new Map<number, TraceRecord>();

  /** Adds one record. */
  add(r: TraceRecord): void {
    if (r.event === TRC_TRACE_CPU_CHANGE) return;
    const s = this.#s;
    s.records++;
    if (r.tsc >= 0) {
      if (s.firstTsc < 0 || r.tsc < s.firstTsc) s.firstTsc = r.tsc;
      if (r.tsc > s.lastTsc) s.lastTsc = r.tsc;
    }
    const prev = this.#pending.get(r.cpu);
    if (prev) this.#account(prev, prev.tsc >= 0 && r.tsc >= prev.tsc ? r.tsc - prev.tsc : 0);
    this.#pending.set(r.cpu, r);
  }

  #account(r: TraceRecord, cycles: number): void {
    const s = this.#s;
    bump(s.byClass, className(r.event), cycles, 1);
    bump(s.byEvent, eventName(r.event), cycles, 1);
    bump(s.byDomain, r.dom >= 0 ? `d${r.dom}` : "unknown", cycles, 1);
    if (r.event === TRC_PV_HYPERCALL_V2 || r.event === TRC_PV_HYPERCALL) {
      bump(s.byHypercall, hypercallName(hypercallOp(r)), cycles, 1);
    } else if (r.event === TRC_PV_HYPERCALL_SUBCALL) {
      // as xenalyze does: a multicall's entries count as hypercalls too, and apart
      bump(s.byHypercall, hypercallName(hypercallOp(r)), cycles, 1);
      bump(s.bySubcall, hypercallName(hypercallOp(r)), cycles, 1);
    } else if (r.event === TRC_PV_TRAP) {
      bump(s.byTrap, trapName(r.data[1] & 0x7fff), cycles, 1);
    } else if (r.event === (TRC_PV_TRAP | TRC_64_FLAG)) {
      bump(s.byTrap, trapName(r.data[2] & 0x7fff), cycles, 1);
    }
  }

  /** The summary of everything added. */
  result(): TraceSummary {
    for (const r of this.#pending.values()) this.#account(r, 0);
    this.#pending.clear();
    return this.#s;
  }
}

/**
 * Summarises records: an array, an iterable of records, or an async iterable of record
 * batches (as `readTraceBatches` yields them: the fast path) or of single records.
 */
export async function summarize(
  records: Iterable<TraceRecord> | AsyncIterable<TraceRecord | TraceRecord[]>,
): Promise<TraceSummary> {
  const b = new SummaryBuilder();
  for await (const r of records) {
    if (Array.isArray(r)) { for (const x of r) b.add(x); }
    else b.add(r);
  }
  return b.result();
}

/** Renders a summary as text tables. */
export function formatSummary(s: TraceSummary, cpuHz: number): string {
  const ns = (c: number) => (c / cpuHz) * 1e9;
  const lines: string[] = [];
  const span = s.lastTsc >= s.firstTsc && s.firstTsc >= 0 ? s.lastTsc - s.firstTsc : 0;
  lines.push(`records: ${s.records}   span: ${span} cycles (${fmtNs(ns(span))})`);
  const table = (title: string, t: Record<string, SummaryRow>) => {
    const rows = Object.entries(t).sort((a, b) =>
      b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1)
    );
    if (rows.length === 0) return;
    lines.push("", title);
    const w = Math.max(12, ...rows.map(([k]) => k.length));
    lines.push(
      `  ${"name".padEnd(w)} ${"count".padStart(10)} ${"cycles".padStart(14)} ${
        "time".padStart(12)
      }`,
    );
    for (const [k, v] of rows) {
      lines.push(
        `  ${k.padEnd(w)} ${String(v.count).padStart(10)} ${String(v.cycles).padStart(14)} ${
          fmtNs(ns(v.cycles)).padStart(12)
        }`,
      );
    }
  };
  table("per class", s.byClass);
  table("per domain", s.byDomain);
  table("per event", s.byEvent);
  table("per hypercall (multicall entries included)", s.byHypercall);
  table("per multicall entry", s.bySubcall);
  table("per trap", s.byTrap);
  return lines.join("\n");
}

/** Formats nanoseconds with a unit. */
export function fmtNs(v: number): string {
  if (v >= 1e9) return (v / 1e9).toFixed(3) + " s";
  if (v >= 1e6) return (v / 1e6).toFixed(3) + " ms";
  if (v >= 1e3) return (v / 1e3).toFixed(3) + " us";
  return v.toFixed(0) + " ns";
}
