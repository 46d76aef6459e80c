/**
 * The ring-recording file format (`pvx boot --record-rings`, `pvx replay`): a header, then
 * a flat sequence of checksummed blocks, one per backend <-> host interaction. Version 1.
 *
 * Layout (all integers little-endian):
 * - header: magic "PVXRING\0" (8 bytes), u16 format version (1), u16 0, u32 n, n bytes of
 *   UTF-8 JSON ({@link RecordingHeader}: pvx version, free-form info), u32 CRC32 of the JSON.
 * - block: u8 type ({@link BlockType}), u8 depth, u16 stream id, u32 payload length,
 *   u32 CRC32 (of the first 4 bytes, then of the payload), payload. For an input, depth 0 is a callback at a slice
 *   boundary and n > 0 one nested inside the backend's n-th host call on the stack; for an
 *   output, 1 means made inside one of the stream's callbacks, 0 outside (async work).
 * - payload: u8 argument count k, k x i32 arguments, then raw bytes (page runs, copied data
 *   or UTF-8 store paths/values joined by NUL). Per type, see {@link BlockType}.
 *
 * A STREAM block (JSON {@link StreamConfig}) opens each device stream (console, xenstore,
 * vbd, vif); a DISK block carries the initial image of a vbd stream (DEFLATE, arguments
 * [1, size]; or raw without arguments) when it is at most {@link DISK_INLINE_LIMIT} bytes
 * (otherwise the STREAM config holds only its size and replay cannot serve it). Ids of maps, ports, watches and deferred callbacks are
 * ordinals per stream (1, 2, ...), so a deterministic backend gets the same ones on replay.
 * @module
 */
import { InputError } from "../errors.ts";
import { crc32 } from "../hypervisor/mod.ts";
// Full npm: specifiers (pinned as in deno.json): a script outside this repository that
// imports mod.ts has no import map, and must still resolve these.
// deno-lint-ignore no-import-prefix
import { deflateSync, inflateSync } from "npm:fflate@0.8.3";

/** The file magic. */
export const RECORDING_MAGIC = "PVXRING\0";
/** The format version written and read. */
export const RECORDING_VERSION = 1;
/** Largest disk image embedded in a recording (64 MiB). */
export const DISK_INLINE_LIMIT = 64 * 1024 * 1024;

/** Block types. Outputs are backend -> host calls, inputs host -> backend callbacks. */
export const BlockType = {
  /** JSON {@link StreamConfig}. */
  STREAM: 1,
  /** Initial disk bytes of the stream: raw (no arguments) or [1, size] DEFLATE-compressed. */
  DISK: 2,
  /** Output mapGrant: [domid, gref, readonly, result (map id or GNTST)], bytes = page. */
  MAP: 16,
  /** Output unmapGrant: [map id, status]. */
  UNMAP: 17,
  /** Output copyFromGrant: [domid, gref, offset, length, status], bytes = data read. */
  COPY_FROM: 18,
  /** Output copyToGrant: [domid, gref, offset, status], bytes = data written. */
  COPY_TO: 19,
  /** Output bindInterdomain: [domid, remote port, result (port id or errno)]. */
  BIND: 20,
  /** Output close: [port id]. */
  CLOSE: 21,
  /** Output notify: [port id]. */
  NOTIFY: 22,
  /** Output mapForeignFrame: [domid, mfn, result (map id or errno)], bytes = page. */
  FOREIGN: 23,
  /** Output store.read: [exists], bytes = path NUL value. */
  ST_READ: 24,
  /** Output store.write: bytes = path NUL value. */
  ST_WRITE: 25,
  /** Output store.rm: bytes = path. */
  ST_RM: 26,
  /** Output store.directory: [exists], bytes = path (NUL child)*. */
  ST_DIR: 27,
  /** Output store.watch: [watch id], bytes = path. */
  WATCH: 28,
  /** Output unwatch: [watch id]. */
  UNWATCH: 29,
  /** Output defer: [defer id]. */
  DEFER: 30,
  /** Input: the guest notified port [port id]. */
  EVENT: 40,
  /** Input: watch [watch id] fired, bytes = changed path. */
  WATCH_FIRE: 41,
  /** Input: deferred callback [defer id] runs. */
  DEFER_RUN: 42,
  /** Input: the guest changed mapped page [map id]; bytes = runs (u16 off, u16 len, data). */
  GUEST_WRITE: 43,
  /** Expected output: the backend changed mapped page [map id]; bytes = runs. */
  BACKEND_WRITE: 44,
} as const;

/** A block type number. */
export type BlockTypeId = typeof BlockType[keyof typeof BlockType];

const TYPE_NAMES = new Map<number, string>(Object.entries(BlockType).map(([k, v]) => [v, k]));

/** The name of a block type (for messages). */
export function blockTypeName(t: number): string {
  return TYPE_NAMES.get(t) ?? `type ${t}`;
}

/** Whether `t` is an input (a callback into the backend). */
export function isInput(t: number): boolean {
  return t === BlockType.EVENT || t === BlockType.WATCH_FIRE || t === BlockType.DEFER_RUN;
}

/** The device kinds a stream may be. */
export type StreamKind = "console" | "xenstore" | "vbd" | "vif";

/** A stream's device configuration (JSON in its STREAM block). */
export interface StreamConfig {
  /** The stream's name, as `--ring` selects it: "console", "xenstore", "vbd-51712", "vif-0". */
  name: string;
  /** The kind of backend. */
  kind: StreamKind;
  /** The guest's domain. */
  domid: number;
  /** vbd/vif device id. */
  devid?: number;
  /** vbd: the vdev name. */
  vdev?: string;
  /** vbd: served read-only. */
  readonly?: boolean;
  /** vbd: image size in bytes. */
  diskBytes?: number;
  /** vbd: SHA-256 (hex) of the initial image. */
  diskSha256?: string;
  /** vbd: the image is in a DISK block of this stream. */
  diskInline?: boolean;
  /** vif: a host responder (ARP, ping, UDP echo) was on the switch. */
  responder?: boolean;
  /** console/xenstore: the ring frame and the guest's port. */
  mfn?: number;
  /** console/xenstore: the guest's port. */
  port?: number;
  /** Anything else the recorder wants to keep. */
  extra?: Record<string, unknown>;
}

/** The file header's JSON. */
export interface RecordingHeader {
  /** pvx version that wrote the file. */
  pvxVersion: string;
  /** Set on fuzz reproducers: replay checks invariants instead of comparing outputs. */
  check?: "compare" | "invariants";
  /** Free-form information (command line, guest image). */
  info?: Record<string, unknown>;
}

/** One decoded block. */
export interface Block {
  /** The block type. */
  type: number;
  /** Inputs: 0 at top level, > 0 nested in a host call. Outputs: 1 inside a callback. */
  depth: number;
  /** The stream id. */
  stream: number;
  /** The i32 arguments. */
  args: Int32Array;
  /** The raw bytes after the arguments. */
  data: Uint8Array;
}

/** A corrupt or truncated recording (exit code 2). */
export class RecordingFormatError extends InputError {
  override name = "RecordingFormatError";
  /** The byte offset of the problem. */
  readonly offset: number;
  /** @param msg what is wrong @param offset where */
  constructor(msg: string, offset: number) {
    super(`${msg} at byte offset ${offset}`);
    this.offset = offset;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: false });

/** Encodes a block's payload: argument count, i32 arguments, bytes. */
export function encodePayload(args: ArrayLike<number>, data?: Uint8Array): Uint8Array {
  const n = args.length;
  const out = new Uint8Array(1 + 4 * n + (data?.length ?? 0));
  out[0] = n;
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) dv.setInt32(1 + 4 * i, args[i], true);
  if (data) out.set(data, 1 + 4 * n);
  return out;
}

/** Encodes a whole block (header and payload). */
export function encodeBlock(
  type: number,
  depth: number,
  stream: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const dv = new DataView(out.buffer);
  out[0] = type;
  out[1] = Math.min(depth, 255);
  dv.setUint16(2, stream, true);
  dv.setUint32(4, payload.length, true);
  dv.setUint32(8, blockCrc(out.subarray(0, 4), payload), true);
  out.set(payload, 12);
  return out;
}

/** Encodes the file header. */
export function encodeHeader(h: RecordingHeader): Uint8Array {
  const json = enc.encode(JSON.stringify(h));
  const out = new Uint8Array(16 + json.length + 4);
  const dv = new DataView(out.buffer);
  out.set(enc.encode(RECORDING_MAGIC), 0);
  dv.setUint16(8, RECORDING_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  dv.setUint32(16 + json.length, crc32(json) >>> 0, true);
  return out;
}

/** UTF-8 text joined by NUL (store paths and values). */
export function joinText(parts: readonly string[]): Uint8Array {
  return enc.encode(parts.join("\0"));
}

/** The NUL-separated texts of a block's bytes. */
export function splitText(data: Uint8Array): string[] {
  return dec.decode(data).split("\0");
}

/** UTF-8 encoding of one string. */
export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

/** A parsed recording. */
export interface Recording {
  /** The header. */
  header: RecordingHeader;
  /** Streams by id. */
  streams: Map<number, StreamConfig>;
  /** Initial disk images by stream id (when inline). */
  disks: Map<number, Uint8Array>;
  /** Every block after the header, in order (STREAM and DISK blocks included). */
  blocks: Block[];
}

/**
 * Parses a recording; nothing is trusted.
 * @param bytes the file
 * @returns the header, streams and blocks
 * @throws RecordingFormatError (an InputError) with the byte offset of the first problem
 */
export function parseRecording(bytes: Uint8Array): Recording {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16) throw new RecordingFormatError("Truncated recording header", 0);
  if (dec.decode(bytes.subarray(0, 8)) !== RECORDING_MAGIC) {
    throw new RecordingFormatError('Not a pvx ring recording (no "PVXRING" magic)', 0);
  }
  const version = dv.getUint16(8, true);
  if (version !== RECORDING_VERSION) {
    throw new RecordingFormatError(`Unsupported recording format version ${version}`, 8);
  }
  if (dv.getUint16(10, true) !== 0) {
    throw new RecordingFormatError("Reserved header field is not zero", 10);
  }
  const jlen = dv.getUint32(12, true);
  if (16 + jlen + 4 > bytes.length) throw new RecordingFormatError("Truncated header", 12);
  const json = bytes.subarray(16, 16 + jlen);
  if ((crc32(json) >>> 0) !== dv.getUint32(16 + jlen, true)) {
    throw new RecordingFormatError("Header checksum mismatch", 16 + jlen);
  }
  let header: RecordingHeader;
  try {
    header = JSON.parse(dec.decode(json));
  } catch {
    throw new RecordingFormatError("Header is not valid JSON", 16);
  }
  if (typeof header !== "object" || header === null || typeof header.pvxVersion !== "string") {
    throw new RecordingFormatError("Header has no pvxVersion", 16);
  }
  const rec: Recording = { header, streams: new Map(), disks: new Map(), blocks: [] };
  let off = 16 + jlen + 4;
  while (off < bytes.length) {
    if (off + 12 > bytes.length) throw new RecordingFormatError("Truncated block header", off);
    const type = bytes[off];
    const depth = bytes[off + 1];
    const stream = dv.getUint16(off + 2, true);
    const len = dv.getUint32(off + 4, true);
    const crc = dv.getUint32(off + 8, true);
    if (!TYPE_NAMES.has(type)) throw new RecordingFormatError(`Unknown block type ${type}`, off);
    if (off + 12 + len > bytes.length) {
      throw new RecordingFormatError(`Truncated ${blockTypeName(type)} block`, off);
    }
    const payload = bytes.subarray(off + 12, off + 12 + len);
    if (blockCrc(bytes.subarray(off, off + 4), payload) !== crc) {
      throw new RecordingFormatError(`Checksum mismatch in ${blockTypeName(type)} block`, off);
    }
    const blk = decodePayload(type, depth, stream, payload, off);
    if (type === BlockType.STREAM) {
      rec.streams.set(stream, parseStreamConfig(blk.data, off));
    } else if (type === BlockType.DISK) {
      if (!rec.streams.has(stream)) {
        throw new RecordingFormatError(`DISK block for undeclared stream ${stream}`, off);
      }
      rec.disks.set(stream, diskBytes(blk, off));
    } else if (!rec.streams.has(stream)) {
      throw new RecordingFormatError(`Block for undeclared stream ${stream}`, off);
    }
    rec.blocks.push(blk);
    off += 12 + len;
  }
  return rec;
}

/** CRC32 over the block's type, depth and stream bytes, then its payload. */
function blockCrc(head: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(head)) >>> 0;
}

/** The bytes of a DISK block (inflated when compressed). */
function diskBytes(b: Block, off: number): Uint8Array {
  if (b.args.length === 0) return b.data;
  if (b.args[0] !== 1 || b.args.length < 2 || b.args[1] < 0) {
    throw new RecordingFormatError("Unknown DISK block encoding", off);
  }
  let out: Uint8Array;
  try {
    out = inflateSync(b.data, { out: new Uint8Array(b.args[1]) });
  } catch {
    throw new RecordingFormatError("Corrupt compressed disk image", off);
  }
  if (out.length !== b.args[1]) {
    throw new RecordingFormatError("Compressed disk image has the wrong size", off);
  }
  return out;
}

/** A DISK block's payload: the image DEFLATE-compressed (level 1). */
export function encodeDisk(disk: Uint8Array): Uint8Array {
  return encodePayload([1, disk.length], deflateSync(disk, { level: 1 }));
}

function decodePayload(
  type: number,
  depth: number,
  stream: number,
  payload: Uint8Array,
  off: number,
): Block {
  if (payload.length < 1) throw new RecordingFormatError("Empty block payload", off);
  const n = payload[0];
  if (1 + 4 * n > payload.length) throw new RecordingFormatError("Truncated block arguments", off);
  const args = new Int32Array(n);
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  for (let i = 0; i < n; i++) args[i] = dv.getInt32(1 + 4 * i, true);
  const need = MIN_ARGS[type] ?? 0;
  if (n < need) {
    throw new RecordingFormatError(`${blockTypeName(type)} block needs ${need} arguments`, off);
  }
  return { type, depth, stream, args, data: payload.subarray(1 + 4 * n) };
}

const MIN_ARGS: Record<number, number> = {
  [BlockType.MAP]: 4,
  [BlockType.UNMAP]: 2,
  [BlockType.COPY_FROM]: 5,
  [BlockType.COPY_TO]: 4,
  [BlockType.BIND]: 3,
  [BlockType.CLOSE]: 1,
  [BlockType.NOTIFY]: 1,
  [BlockType.FOREIGN]: 3,
  [BlockType.ST_READ]: 1,
  [BlockType.ST_DIR]: 1,
  [BlockType.WATCH]: 1,
  [BlockType.UNWATCH]: 1,
  [BlockType.DEFER]: 1,
  [BlockType.EVENT]: 1,
  [BlockType.WATCH_FIRE]: 1,
  [BlockType.DEFER_RUN]: 1,
  [BlockType.GUEST_WRITE]: 1,
  [BlockType.BACKEND_WRITE]: 1,
};

const KINDS = new Set(["console", "xenstore", "vbd", "vif"]);

function parseStreamConfig(data: Uint8Array, off: number): StreamConfig {
  let c: StreamConfig;
  try {
    c = JSON.parse(dec.decode(data));
  } catch {
    throw new RecordingFormatError("STREAM block is not valid JSON", off);
  }
  if (
    typeof c !== "object" || c === null || typeof c.name !== "string" || !KINDS.has(c.kind) ||
    !Number.isInteger(c.domid)
  ) {
    throw new RecordingFormatError("STREAM block lacks name, kind or domid", off);
  }
  return c;
}

/**
 * Encodes the changes from `before` to `after` as runs of changed bytes (u16 offset, u16
 * length, bytes). Updates `before` to `after`.
 * @returns the runs, or null when nothing changed
 */
export function diffPage(before: Uint8Array, after: Uint8Array): Uint8Array | null {
  const n = after.length;
  let i = 0;
  const parts: [number, number][] = [];
  while (i < n) {
    if (before[i] === after[i]) {
      i++;
      continue;
    }
    // exact runs: a gap of unchanged bytes may be a field the other side owns
    const start = i;
    while (i < n && before[i] !== after[i]) i++;
    parts.push([start, i - start]);
  }
  if (parts.length === 0) return null;
  let size = 0;
  for (const [, l] of parts) size += 4 + l;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const [s, l] of parts) {
    dv.setUint16(o, s, true);
    dv.setUint16(o + 2, l, true);
    out.set(after.subarray(s, s + l), o + 4);
    o += 4 + l;
  }
  before.set(after);
  return out;
}

/**
 * Applies runs produced by {@link diffPage} to `page`; runs past the page are clipped.
 * @returns false when the runs are malformed (truncated)
 */
export function applyRuns(page: Uint8Array, runs: Uint8Array): boolean {
  const dv = new DataView(runs.buffer, runs.byteOffset, runs.byteLength);
  let o = 0;
  while (o < runs.length) {
    if (o + 4 > runs.length) return false;
    const s = dv.getUint16(o, true);
    const l = dv.getUint16(o + 2, true);
    if (o + 4 + l > runs.length) return false;
    const end = Math.min(page.length, s + l);
    if (s < end) page.set(runs.subarray(o + 4, o + 4 + (end - s)), s);
    o += 4 + l;
  }
  return true;
}
