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
export { BackRing, FrontRing, ringSize, sharedRingInit } from "./lib/abi/ring.ts";
export {
  decodeTrace,
  readTrace,
  readTraceBatches,
  TraceFormatError,
  type TraceRecord,
} from "./lib/trace/decode.ts";
export { describe as describeTraceRecord } from "./lib/trace/describe.ts";
export {
  formatSummary,
  summarize as summarizeTrace,
  type TraceSummary,
} from "./lib/trace/summary.ts";
export { MemoryTraceSink, XentraceWriter } from "./lib/hypervisor/trace/xentrace_writer.ts";
export { NULL_TRACER, type Tracer } from "./lib/hypervisor/trace/tracer.ts";
export * as xenbus from "./lib/abi/xenbus_state.ts";
export { FakeDeviceHost, FakeGuest, MemStore } from "./lib/hypervisor/testing_host.ts";
export { Netback, type NetbackOptions } from "./lib/netfront/backend.ts";
export { type GuestSide, Netfront } from "./lib/netfront/frontend.ts";
export { type SwitchPort, VirtualSwitch } from "./lib/netfront/switch.ts";
export { HOST_IP, HOST_MAC, HostResponder } from "./lib/netfront/responder.ts";
export { PcapWriter, readPcap } from "./lib/netfront/pcap.ts";
export { defaultMac, parseVifSpec, type VifSpec } from "./lib/toolstack/vif_spec.ts";
export { writeVifLayout } from "./lib/netfront/xenbus.ts";
export * as evtchn from "./lib/hypervisor/evtchn/mod.ts";
export * as gnttab from "./lib/hypervisor/gnttab/mod.ts";
export {
  HypervisorDeviceHost,
  type HypervisorDeviceHostOptions,
} from "./lib/hypervisor/device_host.ts";
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
} from "./lib/hypervisor/builder/elf.ts";
export {
  type PaeMode,
  parseFeatures,
  readXenNotes,
  type XenBootParams,
  XENFEAT_NAMES,
  type XenFeature,
  type XenNote,
  type XenNotes,
} from "./lib/hypervisor/builder/xen_notes.ts";
export {
  type LegacyGuestInfo,
  parseLegacyGuestString,
  readLegacyGuest,
} from "./lib/hypervisor/builder/legacy_guest.ts";
export {
  type BzImageHeader,
  type ImageLayer,
  readBzImageHeader,
  unwrapImage,
  type UnwrappedImage,
} from "./lib/hypervisor/builder/unwrap.ts";
export {
  type CompressionFormat,
  decompress,
  DecompressError,
  detectCompression,
} from "./lib/hypervisor/builder/decompress.ts";
export {
  type GuestKind,
  INSPECT_SCHEMA_VERSION,
  inspectImage,
  type InspectReport,
} from "./lib/toolstack/image_summary.ts";
export {
  asXsdError,
  DOM0,
  type DomainEntry,
  SPECIAL_NODES,
  XenStore,
  type XenStoreOptions,
} from "./lib/hypervisor/xenstore/store.ts";
export {
  XENSTORE_CONNECTED,
  XENSTORE_RECONNECT,
  XenstoreRingBackend,
} from "./lib/hypervisor/xenstore/ring_backend.ts";
export {
  serveXenstoreSocket,
  type SocketServerOptions,
  type XenstoreSocketServer,
} from "./lib/hypervisor/xenstore/socket_server.ts";
export {
  type ToolstackLayoutSpec,
  type VbdLayout,
  vdevToDevid,
  type VifLayout,
  writeToolstackLayout,
} from "./lib/hypervisor/xenstore/toolstack_layout.ts";
export {
  readXenbusState,
  writeXenbusState,
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
} from "./lib/hypervisor/xenstore/xenbus.ts";
export { XsConnection } from "./lib/hypervisor/xenstore/connection.ts";
export {
  encodeMessage,
  MessageFramer,
  XENSTORE_PAYLOAD_MAX,
  XS_TYPE_NAMES,
  XSD_ERRORS,
  XsError,
  type XsMessage,
} from "./lib/hypervisor/xenstore/wire.ts";
export { ConsoleBackend, type ConsoleStats } from "./lib/console/backend.ts";
export { XenconsRing } from "./lib/console/protocol.ts";
export { type ConsoleSink, ESCAPE_BYTE, OutputQueue } from "./lib/console/sinks.ts";
export {
  type ConsoleOptions,
  enterRawMode,
  openConsole,
  StdioConsole,
} from "./lib/console/terminal.ts";
export * as blkif from "./lib/blkfront/protocol.ts";
export { Blkback, type BlkbackOptions } from "./lib/blkfront/backend.ts";
export { Blkfront, type BlkfrontGuest, BlkIoError } from "./lib/blkfront/frontend.ts";
export {
  type DiskImage,
  DiskImageError,
  MemoryDiskImage,
  openDiskImage,
  SnapshotDiskImage,
} from "./lib/blkfront/disk_image.ts";
export {
  collectDiskSpec,
  type DiskSpec,
  DiskSpecError,
  parseDiskSpec,
  parseDiskSpecs,
} from "./lib/toolstack/disk_spec.ts";
export { writeVbdLayout } from "./lib/blkfront/xenbus.ts";
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
} from "./lib/toolstack/vbd_attach.ts";
export * as paging from "./lib/paging/mod.ts";
export { MachineFrames } from "./lib/paging/machine_frames.ts";
export { PagingDomain, type PagingDomainOptions } from "./lib/paging/paging_domain.ts";
export { PaeWalker } from "./lib/paging/pae_walk.ts";
export {
  type AttachedXenstore,
  attachXenstore,
  type XenstoreAttachOptions,
  type XenstoreAttachSpec,
} from "./lib/hypervisor/xenstore/attach.ts";
export {
  attachConsole,
  type AttachedConsole,
  CONSOLE_CLI_OPTIONS,
  type ConsoleAttachOptions,
} from "./lib/console/attach.ts";
export type { CpuBus } from "./lib/cpu/fpu/bus.ts";
export { X87State } from "./lib/cpu/fpu/x87_state.ts";
export { x87Execute, x87Fwait } from "./lib/cpu/fpu/x87_execute.ts";
export { fldenv, fnsave, fnstenv, frstor } from "./lib/cpu/fpu/x87_memory.ts";
export { SseState } from "./lib/cpu/sse/sse_state.ts";
export { SSE_OPCODE_MAP, sseExecute } from "./lib/cpu/sse/sse_execute.ts";
export { fxrstor, fxsave, ldmxcsr, stmxcsr } from "./lib/cpu/sse/fxsave.ts";
export {
  Machine,
  type MachineOptions,
  type RunResult,
  type StopReason,
} from "./lib/hypervisor/machine.ts";
export { type ConsoleSink as HypervisorConsoleSink, Host } from "./lib/hypervisor/host.ts";
export { Domain } from "./lib/hypervisor/domain.ts";
export { Vcpu } from "./lib/hypervisor/vcpu.ts";
export {
  buildDomain,
  type BuildOptions,
  type BuiltDomain,
} from "./lib/hypervisor/builder/build_domain.ts";
export { computeLayout, type DomainLayout } from "./lib/hypervisor/builder/layout.ts";
export { loadKernelImage } from "./lib/hypervisor/builder/from_elf.ts";
export type { KernelImage, LoadSegment } from "./lib/hypervisor/builder/kernel_image.ts";
export { readStartInfo, type StartInfo } from "./lib/hypervisor/builder/start_info.ts";
export { HYPERCALL_TABLE } from "./lib/hypervisor/hypercalls/table.ts";
export { pvHypercall } from "./lib/hypervisor/hypercalls/dispatch.ts";
export { GuestAccess } from "./lib/hypervisor/guest_access.ts";
export { GuestClock } from "./lib/hypervisor/time.ts";
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
} from "./lib/replay/recording_format.ts";
export {
  fileRecordingSink,
  MemoryRecordingSink,
  RecordingHost,
  type RecordingSink,
  RingRecorder,
  wrapForRecording,
} from "./lib/replay/recording_host.ts";
export { ReplayHost } from "./lib/replay/recording_replay_host.ts";
export {
  type Divergence,
  type LateWrite,
  type ReplayHostOptions,
  type Violation,
} from "./lib/replay/recording_replay_types.ts";
export {
  openRingRecording,
  type RecordableImage,
  type RecordedVbd,
  RingRecording,
} from "./lib/replay/recording_boot.ts";
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
export {
  DEFAULT_GUEST_IMAGE,
  defaultGuestCmdline,
  readDefaultGuest,
} from "./lib/toolstack/default_guest.ts";
export { type ArchiveFile, buildArchive } from "./tools/mkarchive.ts";
