/**
 * `pvx trace FILE`: decodes a xentrace-format trace (pvx's or real Xen's) as text, NDJSON,
 * a summary table or Chrome trace JSON for Perfetto; streams with constant memory.
 * @module
 */
import { createOutputFile } from "../lib/toolstack/mod.ts";
import { InputError, UsageError } from "../lib/errors.ts";
import { readTraceBatches, type TraceRecord } from "../lib/trace/mod.ts";
import { describe, eventName } from "../lib/trace/mod.ts";
import {
  formatRecord,
  matches,
  parseFilter,
  PVX_CPU_HZ,
  type TraceFilter,
} from "../lib/trace/mod.ts";
import { formatSummary, summarize } from "../lib/trace/mod.ts";
import { writePerfetto } from "../lib/trace/mod.ts";

/** Thrown when stdout's reader closed the pipe. */
class ReaderGone extends Error {}

/** Options of `pvx trace`. */
export interface TraceOptions {
  file: string;
  json?: boolean;
  summary?: boolean;
  filter?: string;
  perfetto?: string;
  cpuHz?: number;
  /** Where text goes (stdout by default). */
  out?: (s: string) => void;
}

async function* filtered(
  src: AsyncIterable<TraceRecord[]>,
  f: TraceFilter | null,
): AsyncGenerator<TraceRecord[]> {
  for await (const batch of src) yield f ? batch.filter((r) => matches(f, r)) : batch;
}

async function* flat(src: AsyncIterable<TraceRecord[]>): AsyncGenerator<TraceRecord> {
  for await (const batch of src) yield* batch;
}

/**
 * Runs `pvx trace`.
 * @returns the exit code (0; bad input throws InputError -> 2)
 */
export async function run(opts: TraceOptions): Promise<number> {
  const cpuHz = opts.cpuHz ?? PVX_CPU_HZ;
  if (!(cpuHz > 0) || !Number.isFinite(cpuHz)) {
    throw new UsageError(`Invalid --cpu-hz "${opts.cpuHz}"`);
  }
  const filter = opts.filter ? parseFilter(opts.filter, cpuHz) : null;
  let file: Deno.FsFile;
  let size = 0;
  try {
    const info = await Deno.stat(opts.file);
    if (info.isDirectory) throw new Error("it is a directory");
    file = await Deno.open(opts.file);
    size = info.size;
  } catch (e) {
    throw new InputError(`Cannot open trace "${opts.file}": ${e instanceof Error ? e.message : e}`);
  }
  const tty = Deno.stderr.isTerminal();
  let lastShown = 0;
  const progress = tty
    ? (bytes: number) => {
      if (bytes - lastShown < 64 << 20) return;
      lastShown = bytes;
      const pct = size ? ((bytes / size) * 100).toFixed(0) : "?";
      Deno.stderr.writeSync(new TextEncoder().encode(`\rpvx trace: ${pct}% (${bytes >> 20} MiB)`));
    }
    : undefined;
  const batches = filtered(readTraceBatches(file.readable, progress), filter);
  const enc = new TextEncoder();
  const buffered: string[] = [];
  const out = opts.out ?? ((s: string) => {
    buffered.push(s);
    if (buffered.length >= 4096) flushOut();
  });
  const flushOut = () => {
    if (buffered.length === 0) return;
    const bytes = enc.encode(buffered.join("\n") + "\n");
    buffered.length = 0;
    let o = 0;
    try {
      while (o < bytes.length) o += Deno.stdout.writeSync(bytes.subarray(o));
    } catch (e) {
      // the reader went away (`pvx trace f | head`): stop quietly
      if (e instanceof Deno.errors.BrokenPipe) throw new ReaderGone();
      throw e;
    }
  };
  try {
    if (opts.perfetto) {
      const path = opts.perfetto;
      const fail = (e: unknown) =>
        new InputError(
          `Cannot write Perfetto output "${path}": ${e instanceof Error ? e.message : e}`,
        );
      let pf: Deno.FsFile;
      try {
        pf = createOutputFile(path, "Perfetto output");
      } catch (e) {
        throw e instanceof InputError ? e : fail(e);
      }
      try {
        const n = await writePerfetto(flat(batches), cpuHz, (s) => {
          const b = enc.encode(s);
          try {
            for (let o = 0; o < b.length;) o += pf.writeSync(b.subarray(o));
          } catch (e) {
            throw fail(e);
          }
        });
        out(`wrote ${n} events to ${path}`);
      } finally {
        pf.close();
      }
    } else if (opts.summary) {
      out(formatSummary(await summarize(batches), cpuHz));
    } else if (opts.json) {
      for await (const r of flat(batches)) {
        out(JSON.stringify({
          offset: r.offset,
          cpu: r.cpu,
          tsc: r.tsc,
          ns: r.tsc >= 0 ? Math.round((r.tsc / cpuHz) * 1e9) : null,
          dom: r.dom,
          vcpu: r.vcpu,
          event: "0x" + r.event.toString(16).padStart(8, "0"),
          name: eventName(r.event),
          data: r.data,
          fields: describe(r),
        }));
      }
    } else {
      for await (const batch of batches) for (const r of batch) out(formatRecord(r, cpuHz));
    }
    flushOut();
  } catch (e) {
    if (e instanceof ReaderGone) return 0;
    try {
      flushOut(); // what was decoded before the error still reaches stdout
    } catch (f) {
      if (!(f instanceof ReaderGone)) throw f;
    }
    throw e;
  } finally {
    if (tty && lastShown) Deno.stderr.writeSync(enc.encode("\n"));
  }
  return 0;
}
