/**
 * pvx: an emulator of the Xen paravirtual platform, as a library.
 *
 * The same pieces that back the `pvx` command: the x86 CPU, machine memory and paging,
 * the hypervisor, the split-driver backends and frontends, the image inspector, the trace
 * decoder and the ring replayer.
 *
 * @example
 * ```ts
 * import { VERSION } from "./mod.ts";
 * console.log(VERSION);
 * ```
 * @module
 */

export { VERSION } from "./lib/version.ts";
export {
  EXIT_BAD_INPUT,
  EXIT_FAILED,
  EXIT_INTERNAL,
  EXIT_OK,
  InputError,
  InternalError,
  UsageError,
} from "./lib/errors.ts";
export { PAGE_SIZE, PhysMemory } from "./lib/cpu/phys_memory.ts";
export type { PageWalker, Platform } from "./lib/cpu/platform.ts";
export type { DeviceHost, GrantMapping, StoreOps } from "./lib/hypervisor/backend_api.ts";
export { BackRing, FrontRing, ringSize, sharedRingInit } from "./lib/hypervisor/io/ring.ts";
export {
  decodeTrace,
  readTrace,
  readTraceBatches,
  TraceFormatError,
  type TraceRecord,
} from "./lib/hypervisor/trace/decode.ts";
export { describe as describeTraceRecord } from "./lib/hypervisor/trace/describe.ts";
export {
  formatSummary,
  summarize as summarizeTrace,
  type TraceSummary,
} from "./lib/hypervisor/trace/summary.ts";
export { MemoryTraceSink, XentraceWriter } from "./lib/hypervisor/trace/xentrace_writer.ts";
export { NULL_TRACER, type Tracer } from "./lib/hypervisor/trace/tracer.ts";
