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
export { PAGE_SIZE } from "./lib/abi/mod.ts";
export { PhysMemory } from "./lib/cpu/mod.ts";
export type { PageWalker, Platform } from "./lib/cpu/mod.ts";
export type { DeviceHost, GrantMapping, StoreOps } from "./lib/hypervisor/mod.ts";
export { BackRing, FrontRing, ringSize, sharedRingInit } from "./lib/abi/mod.ts";
export {
  decodeTrace,
  readTrace,
  readTraceBatches,
  TraceFormatError,
  type TraceRecord,
} from "./lib/trace/mod.ts";
export { describe as describeTraceRecord } from "./lib/trace/mod.ts";
export { formatSummary, summarize as summarizeTrace, type TraceSummary } from "./lib/trace/mod.ts";
export { MemoryTraceSink, XentraceWriter } from "./lib/hypervisor/mod.ts";
export { NULL_TRACER, type Tracer } from "./lib/hypervisor/mod.ts";
export { xenbus } from "./lib/abi/mod.ts";
export { FakeDeviceHost, FakeGuest, MemStore } from "./lib/hypervisor/mod.ts";
export { Netback, type NetbackOptions } from "./lib/netfront/mod.ts";
export { type GuestSide, Netfront } from "./lib/netfront/mod.ts";
export { type SwitchPort, VirtualSwitch } from "./lib/netfront/mod.ts";
export { HOST_IP, HOST_MAC, HostResponder } from "./lib/netfront/mod.ts";
export { PcapWriter, readPcap } from "./lib/netfront/mod.ts";
export { defaultMac, parseVifSpec, type VifSpec } from "./lib/toolstack/mod.ts";
export { writeVifLayout } from "./lib/netfront/mod.ts";
export { evtchn } from "./lib/hypervisor/mod.ts";
export { gnttab } from "./lib/hypervisor/mod.ts";
export { HypervisorDeviceHost, type HypervisorDeviceHostOptions } from "./lib/hypervisor/mod.ts";
export {
  ElfFormatError,
  type ElfImage,
  type ElfNote,
  type ElfProgramHeader,
  type ElfSection,
  EM_386,
  EM_X86_64,
  parseElf,
  PT_LOAD,
  PT_NOTE,
} from "./lib/hypervisor/mod.ts";
export {
  type PaeMode,
  parseFeatures,
  readXenNotes,
  type XenBootParams,
  XENFEAT_NAMES,
  type XenFeature,
  type XenNote,
  type XenNotes,
} from "./lib/hypervisor/mod.ts";
export {
  type LegacyGuestInfo,
  parseLegacyGuestString,
  readLegacyGuest,
} from "./lib/hypervisor/mod.ts";
export {
  type BzImageHeader,
  type ImageLayer,
  readBzImageHeader,
  unwrapImage,
  type UnwrappedImage,
} from "./lib/hypervisor/mod.ts";
export {
  type CompressionFormat,
  decompress,
  DecompressError,
  detectCompression,
} from "./lib/hypervisor/mod.ts";
export {
  type GuestKind,
  INSPECT_SCHEMA_VERSION,
  inspectImage,
  type InspectReport,
} from "./lib/toolstack/mod.ts";
export {
  asXsdError,
  DOM0,
  type DomainEntry,
  SPECIAL_NODES,
  XenStore,
  type XenStoreOptions,
} from "./lib/hypervisor/mod.ts";
export {
  XENSTORE_CONNECTED,
  XENSTORE_RECONNECT,
  XenstoreRingBackend,
} from "./lib/hypervisor/mod.ts";
export { serveXenstoreClients, type XenstoreSocketServer } from "./lib/hypervisor/mod.ts";
export { serveXenstoreSocket, type SocketServerOptions } from "./lib/toolstack/mod.ts";
export {
  type ToolstackLayoutSpec,
  type VbdLayout,
  vdevToDevid,
  type VifLayout,
  writeToolstackLayout,
} from "./lib/hypervisor/mod.ts";
export {
  readXenbusState,
  XENBUS_STATE_NAMES,
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitialising,
  XenbusStateInitWait,
  XenbusStateReconfigured,
  XenbusStateReconfiguring,
  XenbusStateUnknown,
} from "./lib/abi/mod.ts";
export { writeXenbusState } from "./lib/hypervisor/mod.ts";
export { XsConnection } from "./lib/hypervisor/mod.ts";
export {
  encodeMessage,
  MessageFramer,
  XENSTORE_PAYLOAD_MAX,
  XS_TYPE_NAMES,
  XSD_ERRORS,
  XsError,
  type XsMessage,
} from "./lib/hypervisor/mod.ts";
export { ConsoleBackend, type ConsoleStats } from "./lib/console/mod.ts";
export { XenconsRing } from "./lib/console/mod.ts";
export { type ConsoleSink, ESCAPE_BYTE, OutputQueue } from "./lib/console/mod.ts";
export {
  type ConsoleOptions,
  enterRawMode,
  openConsole,
  StdioConsole,
} from "./lib/toolstack/mod.ts";
export { blkif } from "./lib/blkfront/mod.ts";
export { Blkback, type BlkbackOptions } from "./lib/blkfront/mod.ts";
export { Blkfront, type BlkfrontGuest, BlkIoError } from "./lib/blkfront/mod.ts";
export {
  type DiskImage,
  DiskImageError,
  MemoryDiskImage,
  RawFileDiskImage,
  SnapshotDiskImage,
} from "./lib/blkfront/mod.ts";
export { openDiskImage, type OpenDiskOptions } from "./lib/toolstack/mod.ts";
export type { ByteConn, ByteListener, RandomAccessFile } from "./lib/host_io.ts";
export {
  collectDiskSpec,
  type DiskSpec,
  DiskSpecError,
  parseDiskSpec,
  parseDiskSpecs,
} from "./lib/toolstack/mod.ts";
export { writeVbdLayout } from "./lib/blkfront/mod.ts";
export {
  attachDisks,
  type AttachDisksOptions,
  type AttachedDisk,
  closeDisks,
  detachDisks,
  type OpenDisk,
  openDisks,
  startVbds,
  stopVbds,
  toToolstackVbd,
} from "./lib/toolstack/mod.ts";
export * as paging from "./lib/paging/mod.ts";
export { MachineFrames } from "./lib/paging/mod.ts";
export { PagingDomain, type PagingDomainOptions } from "./lib/paging/mod.ts";
export { PaeWalker } from "./lib/paging/mod.ts";
export {
  type AttachedXenstore,
  attachXenstore,
  type XenstoreAttachOptions,
  type XenstoreAttachSpec,
} from "./lib/hypervisor/mod.ts";
export {
  attachConsole,
  type AttachedConsole,
  CONSOLE_CLI_OPTIONS,
  type ConsoleAttachOptions,
} from "./lib/toolstack/mod.ts";
export type { CpuBus } from "./lib/cpu/mod.ts";
export { X87State } from "./lib/cpu/mod.ts";
export { x87Execute, x87Fwait } from "./lib/cpu/mod.ts";
export { fldenv, fnsave, fnstenv, frstor } from "./lib/cpu/mod.ts";
export { SseState } from "./lib/cpu/mod.ts";
export { SSE_OPCODE_MAP, sseExecute } from "./lib/cpu/mod.ts";
export { fxrstor, fxsave, ldmxcsr, stmxcsr } from "./lib/cpu/mod.ts";
export {
  Machine,
  type MachineOptions,
  type RunResult,
  type StopReason,
} from "./lib/hypervisor/mod.ts";
export { type ConsoleSink as HypervisorConsoleSink, Host } from "./lib/hypervisor/mod.ts";
export { Domain } from "./lib/hypervisor/mod.ts";
export { Vcpu } from "./lib/hypervisor/mod.ts";
export { buildDomain, type BuildOptions, type BuiltDomain } from "./lib/hypervisor/mod.ts";
export { computeLayout, type DomainLayout } from "./lib/hypervisor/mod.ts";
export { loadKernelImage } from "./lib/hypervisor/mod.ts";
export type { KernelImage, LoadSegment } from "./lib/hypervisor/mod.ts";
export { readStartInfo, type StartInfo } from "./lib/hypervisor/mod.ts";
export { HYPERCALL_TABLE } from "./lib/hypervisor/mod.ts";
export { pvHypercall } from "./lib/hypervisor/mod.ts";
export { GuestAccess } from "./lib/hypervisor/mod.ts";
export { GuestClock } from "./lib/hypervisor/mod.ts";
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
} from "./lib/replay/mod.ts";
export {
  MemoryRecordingSink,
  RecordingHost,
  type RecordingSink,
  RingRecorder,
  wrapForRecording,
} from "./lib/replay/mod.ts";
export { ReplayHost } from "./lib/replay/mod.ts";
export type { Divergence, LateWrite, ReplayHostOptions, Violation } from "./lib/replay/mod.ts";
export { type RecordableImage, type RecordedVbd, RingRecording } from "./lib/replay/mod.ts";
export {
  ArrayDescriptorTables,
  ATTR_CODE32,
  ATTR_DATA32,
  Cpu,
  descriptor,
  FAULT,
  flatMachine,
  instructionLength,
  MapWalker,
  RecordingPlatform,
} from "./lib/cpu/mod.ts";
export type { ExceptionRecord, FlatMachine } from "./lib/cpu/mod.ts";
export { DEFAULT_GUEST_IMAGE, defaultGuestCmdline, readDefaultGuest } from "./lib/toolstack/mod.ts";
export { fileRecordingSink, openRingRecording } from "./lib/toolstack/mod.ts";
