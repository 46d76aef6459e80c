/**
 * The public face of lib/blkfront: what other packages use. Inside lib/blkfront, import files
 * directly.
 * @module
 */
export * as blkif from "./protocol.ts";
export { Blkback, type BlkbackOptions } from "./backend.ts";
export {
  type DiskImage,
  DiskImageError,
  MemoryDiskImage,
  RawFileDiskImage,
  SnapshotDiskImage,
} from "./disk_image.ts";
export { Blkfront, type BlkfrontGuest, BlkIoError } from "./frontend.ts";
export {
  BLKIF_ABI_X86_32,
  BLKIF_OP_DISCARD,
  BLKIF_OP_INDIRECT,
  type BlkifAbi,
  blkifAbiByName,
  BlkifRequest,
  decodeRequest,
  decodeResponse,
} from "./protocol.ts";
export { writeVbdLayout } from "./xenbus.ts";
