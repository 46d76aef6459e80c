/**
 * The per-run outputs of `pvx boot`: the `--trace` file (xentrace format) and the
 * `--net-pcap` capture. Their clocks follow the machine that currently runs (`machine`),
 * unless the caller gives its own.
 * @module
 */
import { createOutputFile } from "./host_files.ts";
import type { Machine } from "../hypervisor/mod.ts";
import { XentraceWriter } from "../hypervisor/mod.ts";
import { parseTraceClasses } from "../abi/mod.ts";
import { PcapWriter } from "../netfront/mod.ts";

/** An open output file whose records carry the current machine's time. */
interface OpenOutput {
  file: Deno.FsFile;
  /** The machine whose clock stamps the records (null: time 0). */
  machine: Machine | null;
}

/** An open `--net-pcap` file. */
export interface OpenPcap extends OpenOutput {
  writer: PcapWriter;
}

/** An open `--trace` file and its writer. */
export interface OpenTrace extends OpenOutput {
  writer: XentraceWriter;
}

function create(path: string, what: string): Deno.FsFile {
  return createOutputFile(path, what);
}

function writeAll(file: Deno.FsFile): (bytes: Uint8Array) => void {
  return (bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  };
}

/**
 * Opens a `--net-pcap` capture.
 * @param path the file (truncated)
 * @param clock the time stamp source in ns (default: the current machine's clock)
 * @throws InputError when the file cannot be written
 */
export function openPcap(path: string, clock?: () => number): OpenPcap {
  const file = create(path, "capture");
  const out: { machine: Machine | null } = { machine: null };
  const writer = new PcapWriter(
    writeAll(file),
    clock ?? (() => out.machine?.host.clock.nowNs() ?? 0),
  );
  return Object.assign(out, { file, writer });
}

/**
 * Opens a `--trace` file.
 * @param path the file (truncated)
 * @param classes `--trace-classes` (default: all)
 * @throws InputError for an unknown class or when the file cannot be written
 */
export function openTrace(path: string, classes?: string): OpenTrace {
  const classIds = classes !== undefined ? parseTraceClasses(classes) : undefined;
  const file = create(path, "trace");
  const out: { machine: Machine | null } = { machine: null };
  const writer = new XentraceWriter({
    classes: classIds,
    clock: () => out.machine?.host.clock.tsc() ?? 0,
    sink: writeAll(file),
  });
  return Object.assign(out, { file, writer });
}
