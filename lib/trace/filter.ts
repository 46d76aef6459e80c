/**
 * Selecting and printing trace records: the `--filter` language of `pvx trace` and the
 * one-line text form of a record.
 * @module
 */
import { UsageError } from "../errors.ts";
import type { TraceRecord } from "./decode.ts";
import { describe, eventName } from "./describe.ts";
import {
  EVENT_NAMES,
  eventClass,
  isRunstateEvent,
  parseTraceClasses,
  TRC_SCHED_RUNSTATE_CHANGE,
} from "../abi/mod.ts";

/** pvx's virtual TSC frequency (1 GHz): the default for `--cpu-hz`. */
export const PVX_CPU_HZ = 1_000_000_000;

/** A parsed `--filter`. */
export interface TraceFilter {
  classes?: Set<number>;
  events?: Set<number>;
  dom?: number;
  from?: number;
  to?: number;
}

/**
 * Parses a filter expression: comma-separated `class=pv|sched|mem|gen|pvx`,
 * `event=NAME|0xID`, `dom=N`, `from=T`, `to=T` (T in cycles, or with an `ns`/`us`/`ms`/`s`
 * suffix converted with the CPU frequency). Repeating a key widens class/event.
 */
export function parseFilter(expr: string, cpuHz: number): TraceFilter {
  const f: TraceFilter = {};
  const byName = new Map<string, number>();
  for (const [id, name] of EVENT_NAMES) byName.set(name, id);
  const time = (v: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s)?$/.exec(v);
    if (!m) throw new UsageError(`Invalid time "${v}" in --filter`);
    const x = Number(m[1]);
    const scale = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 }[m[2] ?? ""] ?? 0;
    return scale ? Math.round(x * scale * cpuHz) : x;
  };
  for (const part of expr.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new UsageError(`Invalid --filter term "${part}": expected key=value`);
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === "class") {
      for (const c of parseTraceClasses(v)) (f.classes ??= new Set()).add(c);
    } else if (k === "event") {
      const id = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : byName.get(v);
      if (id === undefined) throw new UsageError(`Unknown event "${v}" in --filter`);
      (f.events ??= new Set()).add(id);
    } else if (k === "dom") {
      if (!/^\d+$/.test(v)) throw new UsageError(`Invalid domain "${v}" in --filter`);
      f.dom = Number(v);
    } else if (k === "from") f.from = time(v);
    else if (k === "to") f.to = time(v);
    else throw new UsageError(`Unknown --filter key "${k}" (class, event, dom, from, to)`);
  }
  return f;
}

/** Whether a record passes a filter. */
export function matches(f: TraceFilter, r: TraceRecord): boolean {
  if (f.classes && !f.classes.has(eventClass(r.event))) return false;
  if (
    f.events && !f.events.has(r.event) &&
    !(isRunstateEvent(r.event) && f.events.has(TRC_SCHED_RUNSTATE_CHANGE))
  ) return false;
  if (f.dom !== undefined && r.dom !== f.dom) return false;
  if (f.from !== undefined && r.tsc >= 0 && r.tsc < f.from) return false;
  if (f.to !== undefined && r.tsc >= 0 && r.tsc > f.to) return false;
  return true;
}

/** One text line for a record: time in cycles and ns, cpu, domain/vcpu, event, fields. */
export function formatRecord(r: TraceRecord, cpuHz: number): string {
  const t = r.tsc >= 0 ? `${r.tsc} (${((r.tsc / cpuHz) * 1e9).toFixed(0)} ns)` : "-";
  const who = r.dom >= 0 ? `d${r.dom}v${r.vcpu}` : "-";
  const fields = Object.entries(describe(r))
    .map(([k, v]) =>
      `${k}=${Array.isArray(v) ? "[" + v.map((x) => "0x" + x.toString(16)).join(",") + "]" : v}`
    )
    .join(" ");
  return `${t} cpu${r.cpu} ${who} ${eventName(r.event)} ${fields}`;
}
