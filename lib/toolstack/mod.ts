/**
 * The public face of lib/toolstack: what other packages use. Inside lib/toolstack, import files
 * directly.
 * @module
 */
export { boot } from "./boot.ts";
export { DEFAULT_GUEST_IMAGE, defaultGuestCmdline, readDefaultGuest } from "./default_guest.ts";
export {
  collectDiskSpec,
  type DiskSpec,
  DiskSpecError,
  parseDiskSpec,
  parseDiskSpecs,
} from "./disk_spec.ts";
export {
  type GuestKind,
  INSPECT_SCHEMA_VERSION,
  inspectImage,
  type InspectReport,
} from "./image_summary.ts";
export { renderText } from "./image_summary_text.ts";
export type { BootOptions } from "./options.ts";
export { readInput } from "./read_input.ts";
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
} from "./vbd_attach.ts";
export { defaultMac, parseVifSpec, type VifSpec } from "./vif_spec.ts";
export { parseOnEof } from "./end_of_input.ts";
export {
  attachConsole,
  type AttachedConsole,
  CONSOLE_CLI_OPTIONS,
  type ConsoleAttachOptions,
} from "./console_attach.ts";
export { openDiskImage, type OpenDiskOptions } from "./disk_file.ts";
export { fileRecordingSink, openRingRecording } from "./recording_file.ts";
export { type ReplayOptions, replayRecording, type ReplayReport } from "./replay.ts";
export {
  type ConsoleOptions,
  enterRawMode,
  openConsole,
  StdioConsole,
  type TerminalInput,
} from "./terminal.ts";
export { serveXenstoreSocket, type SocketServerOptions } from "./xenstore_socket.ts";
export { checkOutputPath, createOutputFile, readBounded, sizeText } from "./host_files.ts";
