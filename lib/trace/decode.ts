/**
 * Streaming decoder of xentrace-format trace files (pvx's and real Xen's): records are
 * read in order from any byte stream with constant memory, framed by the
 * TRC_TRACE_CPU_CHANGE windows, and checked as xenalyze frames them, and more: the file
 * must start with a cpu_change record (so that a file that is not a trace is refused at
 * byte 0), every record must lie inside its CPU window, windows must be plausible (cpu
 * below 4096, size a multiple of 4 and at most 1 GiB), and the file must end exactly at
 * a record and window boundary (no trailing bytes, no cut window). Anything else is a
 * {@link TraceFormatError} naming the byte offset.
 * @module
 */
import { InputError } from "../errors.ts";
import { isRunstateEvent, RUNSTATE_running, TRC_TRACE_CPU_CHANGE } from "../abi/mod.ts";

/** A malformed or truncated trace. */
export class TraceFormatError extends InputError {
  override name = "TraceFormatError";
  /** Byte offset of the offending record. */
  readonly offset: number;
  constructor(offset: number, msg: string) {
    super(`Cannot read trace at byte offset ${offset}: ${msg}`);
    this.offset = offset;
  }
}

/** One raw trace record. */
export interface TraceRecord {
  /** Byte offset of the record's header in the file. */
  offset: number;
  /** Physical CPU (from the enclosing CPU window). */
  cpu: number;
  /** TSC, or -1 when the record has none. */
  tsc: number;
  /** 28-bit event id. */
  event: number;
  /** Data words (0..7). */
  data: number[];
  /** Domain running on this CPU at the time (from runstate changes), or -1. */
  dom: number;
  /** Its vcpu, or -1. */
  vcpu: number;
}

/** The largest CPU window accepted (Xen's per-cpu trace buffers are far smaller). */
export const MAX_TRACE_WINDOW = 1 << 30;

/** Decoder state carried across chunks. */
class Framer {
  cpu = 0;
  windowEnd = -1; // file offset where the current CPU window ends; -1 = no window yet
  dom: number[] = [];
  vcpu: number[] = [];
}

/**
 * Parses as many whole records as `buf` holds.
 * @param base file offset of buf[0]
 * @param eof whether no more bytes follow
 * @returns bytes consumed
 */
function parse(
  buf: Uint8Array,
  base: number,
  eof: boolean,
  st: Framer,
  out: TraceRecord[],
): number {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  while (p + 4 <= buf.length) {
    const hdr = dv.getUint32(p, true);
    const event = hdr & 0x0fffffff;
    const n = (hdr >>> 28) & 7;
    const hasTsc = (hdr >>> 31) !== 0;
    const size = 4 + (hasTsc ? 8 : 0) + 4 * n;
    const off = base + p;
    if (off === 0 && event !== TRC_TRACE_CPU_CHANGE) {
      throw new TraceFormatError(
        0,
        `not a xentrace file: it starts with event 0x${
          event.toString(16)
        }, not a cpu_change record`,
      );
    }
    if (p + size > buf.length) {
      if (eof) {
        throw new TraceFormatError(
          off,
          `record needs ${size} bytes, the file ends after ${buf.length - p}`,
        );
      }
      break;
    }
    if (st.windowEnd >= 0 && off + size > st.windowEnd && event !== TRC_TRACE_CPU_CHANGE) {
      throw new TraceFormatError(
        off,
        `record of ${size} bytes crosses the end of its CPU window at ${st.windowEnd}`,
      );
    }
    let q = p + 4;
    let tsc = -1;
    if (hasTsc) {
      tsc = dv.getUint32(q, true) + dv.getUint32(q + 4, true) * 4294967296;
      q += 8;
    }
    const data: number[] = new Array(n);
    for (let i = 0; i < n; i++) data[i] = dv.getUint32(q + 4 * i, true);
    p += size;
    if (event === TRC_TRACE_CPU_CHANGE) {
      if (n < 2) throw new TraceFormatError(off, "cpu_change record without cpu and window size");
      if (st.windowEnd >= 0 && off !== st.windowEnd) {
        throw new TraceFormatError(off, `cpu_change inside the window ending at ${st.windowEnd}`);
      }
      if (data[0] > 4095) throw new TraceFormatError(off, `implausible cpu number ${data[0]}`);
      if (data[1] % 4 !== 0) {
        throw new TraceFormatError(off, `window size ${data[1]} is not a multiple of 4`);
      }
      if (data[1] > MAX_TRACE_WINDOW) {
        throw new TraceFormatError(off, `implausible window size ${data[1]}`);
      }
      st.cpu = data[0];
      st.windowEnd = off + size + data[1];
    } else if (isRunstateEvent(event) && n >= 1) {
      // Xen's layout: new state in bits 4-7 of the event id, {vcpu:16, dom:16} in data[0]
      if (((event >>> 4) & 0xf) === RUNSTATE_running) {
        st.dom[st.cpu] = data[0] >>> 16;
        st.vcpu[st.cpu] = data[0] & 0xffff;
      } else if (st.dom[st.cpu] === data[0] >>> 16 && st.vcpu[st.cpu] === (data[0] & 0xffff)) {
        st.dom[st.cpu] = -1;
        st.vcpu[st.cpu] = -1;
      }
    }
    if (st.windowEnd >= 0 && base + p === st.windowEnd && event !== TRC_TRACE_CPU_CHANGE) {
      st.windowEnd = -2; // window complete: the next record must be a cpu_change
    } else if (st.windowEnd === -2 && event !== TRC_TRACE_CPU_CHANGE) {
      throw new TraceFormatError(off, "record outside any CPU window (expected cpu_change)");
    }
    out.push({
      offset: off,
      cpu: st.cpu,
      tsc,
      event,
      data,
      dom: st.dom[st.cpu] ?? -1,
      vcpu: st.vcpu[st.cpu] ?? -1,
    });
  }
  if (eof && p < buf.length) {
    throw new TraceFormatError(
      base + p,
      `${buf.length - p} trailing byte(s): a record header needs 4`,
    );
  }
  if (eof && base + p === 0) throw new TraceFormatError(0, "the file is empty: not a trace");
  if (eof && st.windowEnd >= 0 && base + p < st.windowEnd) {
    throw new TraceFormatError(
      base + p,
      `the file ends inside a CPU window that runs to ${st.windowEnd}`,
    );
  }
  return p;
}

/**
 * Decodes a trace from a stream of byte chunks, yielding the records of each chunk as
 * one array (the fast path: one await per chunk, not per record). Memory stays constant
 * whatever the file size.
 * @param chunks the file's bytes (e.g. `(await Deno.open(path)).readable`)
 * @param onProgress called with the bytes consumed so far, once per chunk
 */
export async function* readTraceBatches(
  chunks: AsyncIterable<Uint8Array>,
  onProgress?: (bytes: number) => void,
): AsyncGenerator<TraceRecord[]> {
  const st = new Framer();
  let carry = new Uint8Array(0);
  let base = 0;
  for await (const chunk of chunks) {
    let buf: Uint8Array;
    if (carry.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(carry.length + chunk.length);
      buf.set(carry);
      buf.set(chunk, carry.length);
    }
    const out: TraceRecord[] = [];
    const used = parse(buf, base, false, st, out);
    base += used;
    carry = buf.slice(used);
    if (out.length > 0) yield out;
    onProgress?.(base);
  }
  const out: TraceRecord[] = [];
  parse(carry, base, true, st, out);
  if (out.length > 0) yield out;
}

/**
 * Decodes a trace from a stream of byte chunks, yielding records in file order.
 * @param chunks the file's bytes
 * @param onProgress called with the bytes consumed so far, once per chunk
 */
export async function* readTrace(
  chunks: AsyncIterable<Uint8Array>,
  onProgress?: (bytes: number) => void,
): AsyncGenerator<TraceRecord> {
  for await (const batch of readTraceBatches(chunks, onProgress)) yield* batch;
}

/**
 * Decodes a whole in-memory trace.
 * @param bytes the trace file's contents
 */
export function decodeTrace(bytes: Uint8Array): TraceRecord[] {
  const out: TraceRecord[] = [];
  parse(bytes, 0, true, new Framer(), out);
  return out;
}
