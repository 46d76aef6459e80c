/**
 * Names and decoded fields of trace records, for text, JSON and Perfetto output. Unknown
 * events keep their raw id and words.
 * @module
 */
import type { TraceRecord } from "./decode.ts";
import {
  EVENT_NAMES,
  HYPERCALL_NAMES,
  isRunstateEvent,
  TRAP_NAMES,
  TRC_64_FLAG,
  TRC_LOST_RECORDS,
  TRC_MEM_PAGE_GRANT_MAP,
  TRC_MEM_PAGE_GRANT_UNMAP,
  TRC_PV_EMULATE_PRIVOP,
  TRC_PV_FORCED_INVALID_OP,
  TRC_PV_HYPERCALL_SUBCALL,
  TRC_PV_HYPERCALL_V2,
  TRC_PV_HYPERCALL_V2_ARG_MASK,
  TRC_PV_PAGE_FAULT,
  TRC_PV_PTWR_EMULATION,
  TRC_PV_TRAP,
  TRC_PVX_BOUNCE,
  TRC_PVX_EVTCHN_FAIL,
  TRC_PVX_EVTCHN_SEND,
  TRC_PVX_EVTCHN_UPCALL,
  TRC_PVX_GNTTAB_COPY,
  TRC_PVX_GNTTAB_FAIL,
  TRC_PVX_MMU_UPDATE,
  TRC_PVX_RING_NOTIFY,
  TRC_PVX_UPCALL,
  TRC_SCHED_BLOCK,
  TRC_SCHED_RUNSTATE_CHANGE,
  TRC_SCHED_SHUTDOWN,
  TRC_SCHED_SHUTDOWN_CODE,
  TRC_SCHED_SWITCH,
  TRC_SCHED_WAKE,
  TRC_SCHED_YIELD,
  TRC_TRACE_CPU_CHANGE,
} from "../abi/mod.ts";

/** Decoded fields of a record. */
export type Fields = Record<string, number | string | number[]>;

const RUNSTATES = ["running", "runnable", "blocked", "offline"];
const RING_NAMES = ["?", "console", "xenstore", "vbd", "vif-tx", "vif-rx"];

const hex = (v: number) => "0x" + (v >>> 0).toString(16).padStart(8, "0");
/** A 64-bit address of a TRC_64_FLAG record, from its (lo, hi) words. */
const hex64 = (lo: number, hi: number) =>
  "0x" + (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");

/** The event's name, or `unknown_0x...` for ids pvx does not know. */
export function eventName(event: number): string {
  if (isRunstateEvent(event)) event = TRC_SCHED_RUNSTATE_CHANGE;
  return EVENT_NAMES.get(event) ?? `unknown_${hex(event)}`;
}

/** For TRC_PV_HYPERCALL_V2 records: the hypercall number. */
export function hypercallOp(r: TraceRecord): number {
  return (r.data[0] ?? 0) & ~TRC_PV_HYPERCALL_V2_ARG_MASK;
}

/** Hypercall name by number. */
export function hypercallName(op: number): string {
  return HYPERCALL_NAMES[op] ?? `hypercall_${op}`;
}

/** Trap name by vector. */
export function trapName(vector: number): string {
  return TRAP_NAMES[vector] ?? (vector >= 32 ? `int 0x${vector.toString(16)}` : `vector_${vector}`);
}

/** Decodes a record's words into named fields. */
export function describe(r: TraceRecord): Fields {
  const d = r.data;
  switch (isRunstateEvent(r.event) ? TRC_SCHED_RUNSTATE_CHANGE : r.event) {
    case TRC_TRACE_CPU_CHANGE:
      return { cpu: d[0], window_bytes: d[1] };
    case TRC_LOST_RECORDS:
      return { lost: d[0] ?? 0, dom: (d[1] ?? 0) >>> 16, vcpu: (d[1] ?? 0) & 0xffff };
    case TRC_SCHED_RUNSTATE_CHANGE:
      return {
        dom: d[0] >>> 16,
        vcpu: d[0] & 0xffff,
        old: RUNSTATES[(r.event >>> 8) & 0xf] ?? String((r.event >>> 8) & 0xf),
        new: RUNSTATES[(r.event >>> 4) & 0xf] ?? String((r.event >>> 4) & 0xf),
      };
    case TRC_SCHED_BLOCK:
    case TRC_SCHED_WAKE:
    case TRC_SCHED_YIELD:
      return { dom: d[0] ?? 0, vcpu: d[1] ?? 0 };
    case TRC_SCHED_SHUTDOWN:
    case TRC_SCHED_SHUTDOWN_CODE:
      return { dom: d[0] ?? 0, vcpu: d[1] ?? 0, reason: d[2] ?? 0 };
    case TRC_SCHED_SWITCH:
      return {
        prev_dom: d[0] ?? 0,
        prev_vcpu: d[1] ?? 0,
        next_dom: d[2] ?? 0,
        next_vcpu: d[3] ?? 0,
      };
    case TRC_PV_HYPERCALL_V2:
    case TRC_PV_HYPERCALL_SUBCALL: {
      const op = hypercallOp(r);
      const args: number[] = [];
      let w = 1;
      for (let i = 0; i < 6; i++) {
        const kind = (d[0] >>> (20 + 2 * i)) & 3;
        if (kind === 1 && w < d.length) args.push(d[w++]);
        else if (kind === 2 && w + 1 < d.length) {
          args.push(d[w] + d[w + 1] * 4294967296);
          w += 2;
        }
      }
      return { op, name: hypercallName(op), args };
    }
    case TRC_PV_TRAP: {
      const trapnr = d[1] & 0x7fff;
      const hasEc = (d[1] >>> 15) & 1;
      const f: Fields = { eip: hex(d[0]), trap: trapName(trapnr), vector: trapnr };
      if (hasEc) f.error_code = d[1] >>> 16;
      return f;
    }
    case TRC_PV_TRAP | TRC_64_FLAG: {
      const trapnr = d[2] & 0x7fff;
      const f: Fields = { rip: hex64(d[0], d[1]), trap: trapName(trapnr), vector: trapnr };
      if ((d[2] >>> 15) & 1) f.error_code = d[2] >>> 16;
      return f;
    }
    case TRC_PV_PAGE_FAULT:
      return { eip: hex(d[0]), addr: hex(d[1]), error_code: d[2] };
    case TRC_PV_PAGE_FAULT | TRC_64_FLAG:
      return { rip: hex64(d[0], d[1]), addr: hex64(d[2], d[3]), error_code: d[4] };
    case TRC_PV_EMULATE_PRIVOP:
      return { eip: hex(d[0]) };
    case TRC_PV_EMULATE_PRIVOP | TRC_64_FLAG:
    case TRC_PV_FORCED_INVALID_OP | TRC_64_FLAG:
      return { rip: hex64(d[0], d[1]) };
    case TRC_PV_PTWR_EMULATION | TRC_64_FLAG:
      return { pte: hex64(d[0], d[1]), addr: hex64(d[2], d[3]), rip: hex64(d[4], d[5]) };
    case TRC_MEM_PAGE_GRANT_MAP:
    case TRC_MEM_PAGE_GRANT_UNMAP:
      return { dom: d[0] ?? 0 };
    case TRC_PVX_EVTCHN_SEND:
      return { dom: d[0], port: d[1], remote_dom: d[2], remote_port: d[3] };
    case TRC_PVX_EVTCHN_UPCALL:
      return { dom: d[0], vcpu: d[1], port: d[2] };
    case TRC_PVX_EVTCHN_FAIL:
    case TRC_PVX_GNTTAB_FAIL:
      return { dom: d[0], op: d[1], arg: hex(d[2] ?? 0), error: -(d[3] | 0) };
    case TRC_PVX_GNTTAB_COPY:
      return { dom: d[0], src_dom: d[1], dst_dom: d[2], len: d[3], status: -((d[4] ?? 0) | 0) };
    case TRC_PVX_UPCALL:
      return { dom: d[0], vcpu: d[1], eip: hex(d[2] ?? 0) };
    case TRC_PVX_RING_NOTIFY:
      return {
        ring: RING_NAMES[d[0]] ?? String(d[0]),
        dom: d[1],
        dir: d[2] ? "back->front" : "front->back",
        prod: d[3],
      };
    case TRC_PVX_BOUNCE:
      return {
        flags: hex(d[0]),
        cs: hex(d[1]),
        eip: hex(d[2]),
        error_code: d[3] === 0xffffffff ? "none" : d[3],
      };
    case TRC_PVX_MMU_UPDATE:
      return {
        ptr: hex(d[0]) + (d[1] ? `:${hex(d[1])}` : ""),
        val: hex(d[3]) + hex(d[2]).slice(2),
        result: d[4] | 0,
      };
    default:
      return { raw: d.map((w) => hex(w)).join(" ") };
  }
}
