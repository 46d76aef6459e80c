/**
 * The public face of lib/trace: what other packages use. Inside lib/trace, import files
 * directly.
 * @module
 */
export {
  decodeTrace,
  readTrace,
  readTraceBatches,
  TraceFormatError,
  type TraceRecord,
} from "./decode.ts";
export { describe, eventName } from "./describe.ts";
export { formatRecord, matches, parseFilter, PVX_CPU_HZ, type TraceFilter } from "./filter.ts";
export { writePerfetto } from "./perfetto.ts";
export { formatSummary, summarize, type TraceSummary } from "./summary.ts";
