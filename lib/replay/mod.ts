/**
 * The public face of lib/replay: what other packages use. Inside lib/replay, import files
 * directly.
 * @module
 */
export { type RecordableImage, type RecordedVbd, RingRecording } from "./recording_boot.ts";
export {
  applyRuns,
  type Block,
  BlockType,
  diffPage,
  DISK_INLINE_LIMIT,
  parseRecording,
  type Recording,
  RECORDING_VERSION,
  RecordingFormatError,
  type RecordingHeader,
  type StreamConfig,
  type StreamKind,
} from "./recording_format.ts";
export {
  MemoryRecordingSink,
  RecordingHost,
  type RecordingSink,
  RingRecorder,
  wrapForRecording,
} from "./recording_host.ts";
export { ReplayHost } from "./recording_replay_host.ts";
export type {
  Divergence,
  LateWrite,
  ReplayHostOptions,
  Violation,
} from "./recording_replay_types.ts";
export { type BackendFactory, replayable, slotBytes, streamAbi } from "./backends.ts";
export { PcapExport, VbdTextExport } from "./export.ts";
export { fuzzRecording, reproducerLateWrites } from "./fuzz.ts";
export { replayStream, streamBlocks, type StreamReport } from "./run.ts";
