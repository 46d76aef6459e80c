/**
 * Chrome trace-event JSON (opened by ui.perfetto.dev) from trace records: one process per
 * domain, one thread per vcpu, each record an instant event, and hypercalls as complete
 * events lasting until the next record on that CPU.
 * @module
 */
import type { TraceRecord } from "./decode.ts";
import { describe, eventName } from "./describe.ts";
import { TRC_PV_HYPERCALL_V2, TRC_TRACE_CPU_CHANGE } from "../abi/mod.ts";

/**
 * Streams Chrome trace JSON for `records` into `write` (constant memory).
 * @param cpuHz TSC frequency, to convert cycles to microseconds
 * @returns the number of events written
 */
export async function writePerfetto(
  records: AsyncIterable<TraceRecord>,
  cpuHz: number,
  write: (s: string) => Promise<void> | void,
): Promise<number> {
  await write('{"displayTimeUnit":"ns","traceEvents":[\n');
  let n = 0;
  let held: TraceRecord | null = null;
  const emit = async (r: TraceRecord, next: TraceRecord | null) => {
    const ts = r.tsc >= 0 ? (r.tsc / cpuHz) * 1e6 : 0;
    const fields = describe(r);
    const name = r.event === TRC_PV_HYPERCALL_V2 ? `hypercall ${fields.name}` : eventName(r.event);
    const ev: Record<string, unknown> = {
      name,
      cat: name.split("_")[0],
      ts,
      pid: r.dom >= 0 ? r.dom : 32767,
      tid: r.vcpu >= 0 ? r.vcpu : 0,
      args: fields,
    };
    if (r.event === TRC_PV_HYPERCALL_V2 && next && next.tsc >= r.tsc) {
      ev.ph = "X";
      ev.dur = ((next.tsc - r.tsc) / cpuHz) * 1e6;
    } else {
      ev.ph = "i";
      ev.s = "t";
    }
    await write((n === 0 ? "" : ",\n") + JSON.stringify(ev));
    n++;
  };
  for await (const r of records) {
    if (r.event === TRC_TRACE_CPU_CHANGE) continue;
    if (held) await emit(held, held.cpu === r.cpu ? r : null);
    held = r;
  }
  if (held) await emit(held, null);
  await write("\n]}\n");
  return n;
}
