/**
 * The blkif wire protocol of Xen's public `io/blkif.h`: request/response codecs for the
 * x86_32 and x86_64 guest layouts (they differ in the alignment of the u64 fields).
 * Pure data: no I/O, no hypervisor.
 * @module
 */

/** BLKIF_OP_READ: read sectors into the granted pages. */
export const BLKIF_OP_READ = 0;
/** BLKIF_OP_WRITE: write sectors from the granted pages. */
export const BLKIF_OP_WRITE = 1;
/** BLKIF_OP_WRITE_BARRIER: a write (possibly empty) ordered after and durable before all others. */
export const BLKIF_OP_WRITE_BARRIER = 2;
/** BLKIF_OP_FLUSH_DISKCACHE: flush the disk cache (possibly with a write). */
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
/** BLKIF_OP_RESERVED_1: unused by Xen; answered with BLKIF_RSP_EOPNOTSUPP. */
export const BLKIF_OP_RESERVED_1 = 4;
/** BLKIF_OP_DISCARD: discard a sector range (blkif_request_discard). */
export const BLKIF_OP_DISCARD = 5;
/** BLKIF_OP_INDIRECT: a read or write whose segments live in granted indirect pages. */
export const BLKIF_OP_INDIRECT = 6;

/** Segments in a direct request. */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
/** Indirect pages in one indirect request. */
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
/** blkif_discard flag: secure erase requested. */
export const BLKIF_DISCARD_SECURE = 1;

/** Status: success. */
export const BLKIF_RSP_OKAY = 0;
/** Status: the operation failed (-EIO). */
export const BLKIF_RSP_ERROR = -1;
/** Status: operation not supported. */
export const BLKIF_RSP_EOPNOTSUPP = -2;

/** VDISK_* info bits (the backend's "info" node). */
export const VDISK_CDROM = 0x1;
/** The device is removable. */
export const VDISK_REMOVABLE = 0x2;
/** The device is read-only. */
export const VDISK_READONLY = 0x4;

/** Bytes per sector of the blkif protocol (sector_number, first_sect, last_sect units). */
export const SECTOR_SIZE = 512;
/** Sectors per 4 KiB page: last_sect must be below this. */
export const SECTORS_PER_PAGE = 8;
/** sizeof(struct blkif_request_segment), the same in both ABIs. */
export const BLKIF_SEGMENT_BYTES = 8;
/** Segments held by one indirect page (PAGE_SIZE / sizeof(blkif_request_segment)). */
export const SEGS_PER_INDIRECT_FRAME = 4096 / BLKIF_SEGMENT_BYTES;

/** XEN_IO_PROTO_ABI_X86_32. */
export const XEN_IO_PROTO_ABI_X86_32 = "x86_32-abi";
/** XEN_IO_PROTO_ABI_X86_64. */
export const XEN_IO_PROTO_ABI_X86_64 = "x86_64-abi";

/** Field offsets of one guest ABI's blkif structures (checked against gcc in the tests). */
export interface BlkifAbi {
  /** The "protocol" xenstore value naming this ABI. */
  readonly name: string;
  /** sizeof(union blkif_sring_entry): the ring slot size. */
  readonly entryBytes: number;
  /** sizeof(struct blkif_request). */
  readonly requestBytes: number;
  /** sizeof(struct blkif_response). */
  readonly responseBytes: number;
  /** offsetof(id) in every request form. */
  readonly idOff: number;
  /** offsetof(sector_number) in every request form. */
  readonly sectorOff: number;
  /** offsetof(blkif_request, seg). */
  readonly segOff: number;
  /** offsetof(blkif_request_discard, nr_sectors). */
  readonly nrSectorsOff: number;
  /** offsetof(blkif_request_indirect, handle). */
  readonly indirectHandleOff: number;
  /** offsetof(blkif_request_indirect, indirect_grefs). */
  readonly indirectGrefsOff: number;
}

/** The x86_32 layout: u64 fields 4-byte aligned. */
export const BLKIF_ABI_X86_32: BlkifAbi = Object.freeze({
  name: XEN_IO_PROTO_ABI_X86_32,
  entryBytes: 108,
  requestBytes: 108,
  responseBytes: 12,
  idOff: 4,
  sectorOff: 12,
  segOff: 20,
  nrSectorsOff: 20,
  indirectHandleOff: 20,
  indirectGrefsOff: 24,
});

/** The x86_64 layout: u64 fields 8-byte aligned. */
export const BLKIF_ABI_X86_64: BlkifAbi = Object.freeze({
  name: XEN_IO_PROTO_ABI_X86_64,
  entryBytes: 112,
  requestBytes: 112,
  responseBytes: 16,
  idOff: 8,
  sectorOff: 16,
  segOff: 24,
  nrSectorsOff: 24,
  indirectHandleOff: 24,
  indirectGrefsOff: 28,
});

/** Offsets shared by both ABIs. */
const OP_OFF = 0;
const NSEG_OFF = 1; // u8 nr_segments, discard flag, or indirect_op
const HANDLE_OFF = 2; // u16 handle (direct/discard) or nr_segments (indirect)
const RSP_OP_OFF = 8;
const RSP_STATUS_OFF = 10;

/**
 * The ABI named by a frontend's "protocol" node.
 * @param name the node's value (undefined when absent)
 * @param fallback the ABI to use when the node is absent
 * @returns the ABI, or undefined for an unknown name
 */
export function blkifAbiByName(name: string | undefined, fallback: BlkifAbi): BlkifAbi | undefined {
  if (name === undefined || name === "") return fallback;
  if (name === XEN_IO_PROTO_ABI_X86_32) return BLKIF_ABI_X86_32;
  if (name === XEN_IO_PROTO_ABI_X86_64) return BLKIF_ABI_X86_64;
  return undefined;
}

/** Reads a little-endian u64 as a double (exact below 2^53; larger values stay larger). */
function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off + 4, true) * 0x1_0000_0000 + dv.getUint32(off, true);
}

/** Writes a non-negative integer below 2^64 as a little-endian u64 (RangeError otherwise). */
function setU64(dv: DataView, off: number, v: number): void {
  if (!(v >= 0 && v < 2 ** 64)) throw new RangeError(`${v} does not fit in a u64`);
  const hi = Math.floor(v / 0x1_0000_0000);
  dv.setUint32(off, v - hi * 0x1_0000_0000, true);
  dv.setUint32(off + 4, hi >>> 0, true);
}

/**
 * One decoded request of any form (read/write, discard, indirect), reusable so the
 * backend's hot path does not allocate per request. The 64-bit id is kept as two
 * halves and echoed verbatim.
 */
export class BlkifRequest {
  /** operation (BLKIF_OP_*). */
  operation = 0;
  /** Segment count: u8 of a direct request or u16 of an indirect one. */
  nrSegments = 0;
  /** handle (the vdev). */
  handle = 0;
  /** Low 32 bits of id. */
  idLo = 0;
  /** High 32 bits of id. */
  idHi = 0;
  /** sector_number (exact below 2^53, which exceeds any disk). */
  sectorNumber = 0;
  /** Discard: flag (BLKIF_DISCARD_SECURE). */
  flag = 0;
  /** Discard: nr_sectors. */
  nrSectors = 0;
  /** Indirect: indirect_op. */
  indirectOp = 0;
  /** Indirect: indirect_grefs. */
  readonly indirectGrefs: Uint32Array = new Uint32Array(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
  /** Segment grant references (direct: up to 11; indirect: filled by the backend). */
  grefs: Uint32Array;
  /** Segment first_sect values. */
  firstSect: Uint8Array;
  /** Segment last_sect values. */
  lastSect: Uint8Array;

  /** @param maxSegments capacity of the segment arrays (at least 11) */
  constructor(maxSegments = BLKIF_MAX_SEGMENTS_PER_REQUEST) {
    const n = Math.max(maxSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST);
    this.grefs = new Uint32Array(n);
    this.firstSect = new Uint8Array(n);
    this.lastSect = new Uint8Array(n);
  }

  /** The operation a response must echo: indirect_op for an indirect request. */
  responseOperation(): number {
    return this.operation === BLKIF_OP_INDIRECT ? this.indirectOp : this.operation;
  }
}

/**
 * Decodes one ring slot (the backend's private copy) into `out`. Never throws: every
 * byte pattern decodes; validation is the backend's job. For a direct read/write, up to
 * min(nr_segments, 11) segments are decoded.
 * @param abi the frontend's ABI
 * @param slot the slot bytes (at least abi.entryBytes)
 * @param out the request to fill
 * @returns out
 */
export function decodeRequest(abi: BlkifAbi, slot: Uint8Array, out: BlkifRequest): BlkifRequest {
  const dv = new DataView(slot.buffer, slot.byteOffset, abi.entryBytes);
  const op = slot[OP_OFF];
  out.operation = op;
  out.idLo = dv.getUint32(abi.idOff, true);
  out.idHi = dv.getUint32(abi.idOff + 4, true);
  out.sectorNumber = getU64(dv, abi.sectorOff);
  out.flag = 0;
  out.nrSectors = 0;
  out.indirectOp = 0;
  if (op === BLKIF_OP_DISCARD) {
    out.flag = slot[NSEG_OFF];
    out.nrSegments = 0;
    out.handle = dv.getUint16(HANDLE_OFF, true);
    out.nrSectors = getU64(dv, abi.nrSectorsOff);
  } else if (op === BLKIF_OP_INDIRECT) {
    out.indirectOp = slot[NSEG_OFF];
    out.nrSegments = dv.getUint16(HANDLE_OFF, true);
    out.handle = dv.getUint16(abi.indirectHandleOff, true);
    for (let i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++) {
      out.indirectGrefs[i] = dv.getUint32(abi.indirectGrefsOff + 4 * i, true);
    }
  } else {
    const n = slot[NSEG_OFF];
    out.nrSegments = n;
    out.handle = dv.getUint16(HANDLE_OFF, true);
    const m = n < BLKIF_MAX_SEGMENTS_PER_REQUEST ? n : BLKIF_MAX_SEGMENTS_PER_REQUEST;
    decodeSegments(slot, abi.segOff, m, out, 0);
  }
  return out;
}

/**
 * Decodes `count` blkif_request_segment entries (gref u32, first_sect u8, last_sect u8,
 * 2 bytes padding) from `src` at byte `offset` into `out`'s arrays from index `at`.
 * Used for the ring slot and for indirect pages (a private copy of each).
 */
export function decodeSegments(
  src: Uint8Array,
  offset: number,
  count: number,
  out: BlkifRequest,
  at: number,
): void {
  for (let i = 0; i < count; i++) {
    const o = offset + i * BLKIF_SEGMENT_BYTES;
    out.grefs[at + i] = (src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24)) >>>
      0;
    out.firstSect[at + i] = src[o + 4];
    out.lastSect[at + i] = src[o + 5];
  }
}

/**
 * Encodes one segment at byte `offset` of `dst` (a slot or an indirect page).
 */
export function encodeSegment(
  dst: Uint8Array,
  offset: number,
  gref: number,
  firstSect: number,
  lastSect: number,
): void {
  dst[offset] = gref & 0xff;
  dst[offset + 1] = (gref >>> 8) & 0xff;
  dst[offset + 2] = (gref >>> 16) & 0xff;
  dst[offset + 3] = (gref >>> 24) & 0xff;
  dst[offset + 4] = firstSect;
  dst[offset + 5] = lastSect;
  dst[offset + 6] = 0;
  dst[offset + 7] = 0;
}

/**
 * Encodes `req` into a ring slot in the layout its operation selects (discard,
 * indirect, or read/write with min(nrSegments, 11) segments). The slot is cleared first.
 * @param abi the ABI to encode for
 * @param req the request
 * @param dst the slot (at least abi.entryBytes)
 * @returns dst
 */
export function encodeRequest(abi: BlkifAbi, req: BlkifRequest, dst: Uint8Array): Uint8Array {
  dst.fill(0, 0, abi.entryBytes);
  const dv = new DataView(dst.buffer, dst.byteOffset, abi.entryBytes);
  dst[OP_OFF] = req.operation;
  dv.setUint32(abi.idOff, req.idLo >>> 0, true);
  dv.setUint32(abi.idOff + 4, req.idHi >>> 0, true);
  setU64(dv, abi.sectorOff, req.sectorNumber);
  if (req.operation === BLKIF_OP_DISCARD) {
    dst[NSEG_OFF] = req.flag;
    dv.setUint16(HANDLE_OFF, req.handle, true);
    setU64(dv, abi.nrSectorsOff, req.nrSectors);
  } else if (req.operation === BLKIF_OP_INDIRECT) {
    dst[NSEG_OFF] = req.indirectOp;
    dv.setUint16(HANDLE_OFF, req.nrSegments & 0xffff, true);
    dv.setUint16(abi.indirectHandleOff, req.handle, true);
    for (let i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++) {
      dv.setUint32(abi.indirectGrefsOff + 4 * i, req.indirectGrefs[i], true);
    }
  } else {
    dst[NSEG_OFF] = req.nrSegments & 0xff;
    dv.setUint16(HANDLE_OFF, req.handle, true);
    const m = Math.min(req.nrSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST);
    for (let i = 0; i < m; i++) {
      encodeSegment(
        dst,
        abi.segOff + i * BLKIF_SEGMENT_BYTES,
        req.grefs[i],
        req.firstSect[i],
        req.lastSect[i],
      );
    }
  }
  return dst;
}

/** One decoded blkif_response. */
export interface BlkifResponse {
  /** Low 32 bits of id. */
  idLo: number;
  /** High 32 bits of id. */
  idHi: number;
  /** operation (echoed). */
  operation: number;
  /** status (BLKIF_RSP_*), signed. */
  status: number;
}

/**
 * Encodes a response into `dst` (a slot-sized scratch buffer; the rest is cleared).
 * @returns dst
 */
export function encodeResponse(
  abi: BlkifAbi,
  dst: Uint8Array,
  idLo: number,
  idHi: number,
  operation: number,
  status: number,
): Uint8Array {
  dst.fill(0, 0, abi.responseBytes);
  const dv = new DataView(dst.buffer, dst.byteOffset, abi.responseBytes);
  dv.setUint32(0, idLo >>> 0, true);
  dv.setUint32(4, idHi >>> 0, true);
  dst[RSP_OP_OFF] = operation & 0xff;
  dv.setInt16(RSP_STATUS_OFF, status, true);
  return dst;
}

/**
 * Decodes a response slot into `out` (or a new object).
 * @returns the response
 */
export function decodeResponse(
  abi: BlkifAbi,
  src: Uint8Array,
  out: BlkifResponse = { idLo: 0, idHi: 0, operation: 0, status: 0 },
): BlkifResponse {
  const dv = new DataView(src.buffer, src.byteOffset, abi.responseBytes);
  out.idLo = dv.getUint32(0, true);
  out.idHi = dv.getUint32(4, true);
  out.operation = src[RSP_OP_OFF];
  out.status = dv.getInt16(RSP_STATUS_OFF, true);
  return out;
}

/** Number of indirect pages needed for `nrSegments` segments (ceil(n / 512)). */
export function indirectPagesFor(nrSegments: number): number {
  return Math.ceil(nrSegments / SEGS_PER_INDIRECT_FRAME);
}
