/**
 * Runs a script kernel in a fresh machine and returns the reported results.
 * @module
 */
import { Machine } from "../../lib/hypervisor/machine/machine.ts";
import { type Arg, type Call, scriptKernel, scriptResults } from "./_script_kernel.ts";

/** Captures console_io output. */
export class ByteSink {
  readonly chunks: Uint8Array[] = [];
  write(b: Uint8Array): void {
    this.chunks.push(b.slice());
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** The outcome of a script run. */
export interface ScriptRun {
  results: number[];
  /** All console_io output (the reported table last). */
  output: Uint8Array;
  machine: Machine;
  reason: string;
}

/**
 * Boots the script kernel and returns each call's result.
 * @throws Error when the guest does not power off
 */
export async function runScript(
  calls: Call[],
  data: Record<string, Uint8Array | Arg[]> = {},
  pageAlign: string[] = [],
  memoryMiB = 8,
): Promise<ScriptRun> {
  const sink = new ByteSink();
  const machine = new Machine({
    image: scriptKernel(calls, data, pageAlign),
    memoryMiB,
    console: sink,
    maxInstructions: 10_000_000,
  });
  const r = await machine.run();
  if (r.reason !== "poweroff") {
    throw new Error(`script kernel stopped: ${r.reason}\n${r.dump ?? ""}`);
  }
  const out = sink.bytes();
  const table = out.subarray(out.length - calls.length * 28);
  return { results: scriptResults(table, calls.length), output: out, machine, reason: r.reason };
}
