/**
 * The public face of lib/hypervisor: what other packages use. Inside lib/hypervisor, import files
 * directly.
 * @module
 */
export * as evtchn from "./evtchn/mod.ts";
export * as gnttab from "./gnttab/mod.ts";
export type {
  DeviceHost,
  DomId,
  EventPort,
  GrantMapping,
  StoreOps,
} from "./backend/backend_api.ts";
export { buildDomain, type BuildOptions, type BuiltDomain } from "./builder/build_domain.ts";
export { type CompressionFormat, decompress, detectCompression } from "./builder/decompress.ts";
export { crc32 } from "./builder/decompress/crc.ts";
export { DecompressError } from "./builder/decompress/output.ts";
export {
  ElfFormatError,
  type ElfImage,
  type ElfNote,
  type ElfProgramHeader,
  type ElfSection,
  EM_386,
  EM_X86_64,
  parseElf,
  PF_R,
  PF_W,
  PF_X,
  PT_LOAD,
  PT_NOTE,
} from "./builder/elf.ts";
export { loadKernelImage, loadPvKernel } from "./builder/from_elf.ts";
export { bootRefusal, isPvCapable } from "./builder/bootable.ts";
export type { KernelImage, LoadSegment } from "./builder/kernel_image.ts";
export { computeLayout, type DomainLayout } from "./builder/layout.ts";
export {
  type LegacyGuestInfo,
  parseLegacyGuestString,
  readLegacyGuest,
} from "./builder/legacy_guest.ts";
export { readStartInfo, type StartInfo } from "./builder/start_info.ts";
export {
  type BzImageHeader,
  type ImageLayer,
  readBzImageHeader,
  unwrapImage,
  type UnwrappedImage,
} from "./builder/unwrap.ts";
export {
  type PaeMode,
  parseFeatures,
  readXenNotes,
  type XenBootParams,
  XENFEAT_NAMES,
  type XenFeature,
  type XenNote,
  type XenNotes,
} from "./builder/xen_notes.ts";
export { HypervisorDeviceHost, type HypervisorDeviceHostOptions } from "./backend/device_host.ts";
export { Domain } from "./domain/domain.ts";
export { GuestAccess } from "./pv/guest_access.ts";
export { type ConsoleSink, Host } from "./machine/host.ts";
export { pvHypercall } from "./hypercalls/dispatch.ts";
export { HYPERCALL_TABLE } from "./hypercalls/table.ts";
export {
  Machine,
  type MachineOptions,
  type RunResult,
  type SliceHook,
  type StopReason,
} from "./machine/machine.ts";
export { FakeDeviceHost, FakeGuest, MemStore } from "./backend/testing_host.ts";
export { GuestClock } from "./time/clock.ts";
export { nextDeadline } from "./time/timers.ts";
export { NULL_TRACER, type Tracer } from "./trace/tracer.ts";
export { MemoryTraceSink, XentraceWriter } from "./trace/xentrace_writer.ts";
export { Vcpu } from "./domain/vcpu.ts";
export {
  type AttachedXenstore,
  attachXenstore,
  type XenstoreAttachOptions,
  type XenstoreAttachSpec,
} from "./xenstore/attach.ts";
export { XsConnection } from "./xenstore/connection.ts";
export {
  XENSTORE_CONNECTED,
  XENSTORE_RECONNECT,
  XenstoreRingBackend,
} from "./xenstore/ring_backend.ts";
export { serveXenstoreClients, type XenstoreSocketServer } from "./xenstore/socket_server.ts";
export {
  asXsdError,
  DOM0,
  type DomainEntry,
  SPECIAL_NODES,
  XenStore,
  type XenStoreOptions,
} from "./xenstore/store.ts";
export {
  type ToolstackLayoutSpec,
  type VbdLayout,
  vdevToDevid,
  type VifLayout,
  writeToolstackLayout,
} from "./xenstore/toolstack_layout.ts";
export {
  encodeMessage,
  MessageFramer,
  XENSTORE_PAYLOAD_MAX,
  XS_TYPE_NAMES,
  XSD_ERRORS,
  XsError,
  type XsMessage,
} from "./xenstore/wire.ts";
export { writeXenbusState } from "./xenstore/xenbus.ts";
