/** Synthetic traces for the trace tests. */
import { MemoryTraceSink, XentraceWriter } from "../../lib/hypervisor/trace/xentrace_writer.ts";
import {
  hypercallArg32,
  TRC_PV_HYPERCALL_V2,
  TRC_PV_PAGE_FAULT,
  TRC_PV_TRAP,
  TRC_SCHED_BLOCK,
} from "../../lib/abi/trace.ts";

/** A small synthetic boot: hypercalls, a trap, a page fault, a block. */
export function sampleTrace(opts: { classes?: number[]; windowWords?: number } = {}): Uint8Array {
  let tsc = 1000;
  const sink = new MemoryTraceSink();
  const w = new XentraceWriter({
    clock: () => (tsc += 37),
    sink: sink.sink,
    classes: opts.classes,
    windowWords: opts.windowWords ?? 64,
  });
  w.switchTo(1, 0);
  for (let i = 0; i < 25; i++) {
    w.rec(TRC_PV_HYPERCALL_V2, 3, 18 | hypercallArg32(0) | hypercallArg32(1), 0, i, 0, 0, 0);
  }
  for (let i = 0; i < 7; i++) {
    w.rec(TRC_PV_HYPERCALL_V2, 3, 29 | hypercallArg32(0) | hypercallArg32(1), 1, 0, 0, 0, 0);
  }
  w.rec(TRC_PV_TRAP, 2, 0xc0001000, 13 | (1 << 15) | (0x10 << 16), 0, 0, 0, 0);
  w.rec(TRC_PV_PAGE_FAULT, 3, 0xc0001004, 0xdeadb000, 2, 0, 0, 0);
  w.rec(TRC_SCHED_BLOCK, 2, 1, 0, 0, 0, 0, 0);
  w.flush();
  return sink.bytes();
}
