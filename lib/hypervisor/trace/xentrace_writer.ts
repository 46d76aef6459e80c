/**
 * Records trace events in xentrace's binary format, as Xen's trace buffers and the
 * `xentrace` tool write them: each record is a header word (event:28, extra words:3,
 * cycle flag:1), the 64-bit TSC, then up to 7 data words; records are framed per
 * physical CPU by TRC_TRACE_CPU_CHANGE records (cpu, window size in bytes), which is
 * what xenalyze scans for. Deterministic: the same run gives the same bytes.
 * @module
 */
import type { Tracer } from "./tracer.ts";
import {
  eventClass,
  RUNSTATE_runnable,
  RUNSTATE_running,
  runstateEvent,
  TRC_TRACE_CPU_CHANGE,
} from "../../abi/mod.ts";
import { concatBytes } from "../../bytes.ts";

/** Where finished windows of records go. */
export type TraceSink = (bytes: Uint8Array) => void;

/** Options of {@link XentraceWriter}. */
export interface XentraceWriterOptions {
  /** The TSC of the running vcpu now (virtual by default, so traces are deterministic). */
  clock: () => number;
  /** Receives the bytes (a file writer, or an in-memory collector). */
  sink: TraceSink;
  /** Class ids (TRC_PV, TRC_SCHED, ...) to record; all when absent. */
  classes?: readonly number[];
  /** Window size in 32-bit words before a flush (default 64 Ki words). */
  windowWords?: number;
  /**
   * Added to every timestamp (default {@link TRACE_TSC_OFFSET}): the "host" TSC of the
   * trace runs ahead of the guest's, as on Xen, and is never 0 (xenalyze rejects a trace
   * whose first TSC is 0).
   */
  tscOffset?: number;
}

/** The default host-TSC lead over the guest's virtual TSC: 1 ms at pvx's 1 GHz. */
export const TRACE_TSC_OFFSET = 1_000_000;

const NO_DOMAIN = -1;

/** A {@link Tracer} writing xentrace-format records for physical CPU 0. */
export class XentraceWriter implements Tracer {
  readonly on = true;
  readonly #clock: () => number;
  readonly #sink: TraceSink;
  readonly #classes: Set<number> | null;
  readonly #buf: Uint32Array;
  readonly #tscOffset: number;
  #len = 0;
  #curDom = NO_DOMAIN;
  #curVcpu = 0;
  /** Records written so far. */
  records = 0;

  constructor(opts: XentraceWriterOptions) {
    this.#clock = opts.clock;
    this.#sink = opts.sink;
    this.#classes = opts.classes ? new Set(opts.classes) : null;
    this.#buf = new Uint32Array(opts.windowWords ?? 65536);
    this.#tscOffset = opts.tscOffset ?? TRACE_TSC_OFFSET;
  }

  rec(
    event: number,
    n: number,
    d0: number,
    d1: number,
    d2: number,
    d3: number,
    d4: number,
    d5: number,
  ): void {
    if (this.#classes !== null && !this.#classes.has(eventClass(event))) return;
    if (n > 6) n = 6;
    if (this.#len + 3 + n > this.#buf.length) this.flush();
    const b = this.#buf;
    let i = this.#len;
    const tsc = this.#clock() + this.#tscOffset;
    b[i++] = ((event & 0x0fffffff) | (n << 28) | 0x80000000) >>> 0;
    b[i++] = tsc >>> 0;
    b[i++] = Math.floor(tsc / 4294967296) >>> 0;
    if (n > 0) b[i++] = d0;
    if (n > 1) b[i++] = d1;
    if (n > 2) b[i++] = d2;
    if (n > 3) b[i++] = d3;
    if (n > 4) b[i++] = d4;
    if (n > 5) b[i++] = d5;
    this.#len = i;
    this.records++;
  }

  switchTo(domid: number, vcpu: number): void {
    if (domid === this.#curDom && vcpu === this.#curVcpu) return;
    // xenalyze follows which vcpu runs on a pcpu through runstate changes. As Xen's
    // vcpu_runstate_change writes them, the old and new states are in the event id
    // (bits 8-11 and 4-7) and the one data word is {vcpu:16, dom:16}.
    if (this.#curDom !== NO_DOMAIN) {
      this.rec(
        runstateEvent(RUNSTATE_running, RUNSTATE_runnable),
        1,
        ((this.#curDom << 16) | this.#curVcpu) >>> 0,
        0,
        0,
        0,
        0,
        0,
      );
    }
    this.rec(
      runstateEvent(RUNSTATE_runnable, RUNSTATE_running),
      1,
      ((domid << 16) | vcpu) >>> 0,
      0,
      0,
      0,
      0,
      0,
    );
    this.#curDom = domid;
    this.#curVcpu = vcpu;
  }

  /** Writes the buffered records as one CPU window. */
  flush(): void {
    if (this.#len === 0) return;
    const bytes = this.#len * 4;
    const out = new Uint8Array(12 + bytes);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, (TRC_TRACE_CPU_CHANGE | (2 << 28)) >>> 0, true);
    dv.setUint32(4, 0, true);
    dv.setUint32(8, bytes, true);
    const words = this.#buf.subarray(0, this.#len);
    for (let i = 0; i < words.length; i++) dv.setUint32(12 + i * 4, words[i], true);
    this.#len = 0;
    this.#sink(out);
  }
}

/** Collects a trace in memory (tests, benches). */
export class MemoryTraceSink {
  readonly chunks: Uint8Array[] = [];
  /** The sink function to hand to the writer. */
  readonly sink: TraceSink = (b) => {
    this.chunks.push(b);
  };
  /** All bytes so far. */
  bytes(): Uint8Array {
    return concatBytes(this.chunks);
  }
}
