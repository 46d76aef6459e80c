/**
 * The XenStore wire protocol of Xen's public `io/xs_wire.h`: message types, the
 * `xsd_errors` table (errors travel as their names), the 16-byte `xsd_sockmsg` header,
 * payload field splitting, and a stream framer for byte streams (socket and ring).
 * @module
 */

/** enum xsd_sockmsg_type. */
export const XS_CONTROL = 0;
/** Deprecated alias of XS_CONTROL. */
export const XS_DEBUG = 0;
/** List children. */
export const XS_DIRECTORY = 1;
/** Read a value. */
export const XS_READ = 2;
/** Read a node's permissions. */
export const XS_GET_PERMS = 3;
/** Register a watch. */
export const XS_WATCH = 4;
/** Remove a watch. */
export const XS_UNWATCH = 5;
/** Start a transaction. */
export const XS_TRANSACTION_START = 6;
/** Commit or abort a transaction. */
export const XS_TRANSACTION_END = 7;
/** Introduce a domain's ring (dom0 only). */
export const XS_INTRODUCE = 8;
/** Forget a domain (dom0 only). */
export const XS_RELEASE = 9;
/** /local/domain/<domid>. */
export const XS_GET_DOMAIN_PATH = 10;
/** Write a value. */
export const XS_WRITE = 11;
/** Create a node. */
export const XS_MKDIR = 12;
/** Remove a subtree. */
export const XS_RM = 13;
/** Set a node's permissions. */
export const XS_SET_PERMS = 14;
/** Unsolicited watch event (server to client only). */
export const XS_WATCH_EVENT = 15;
/** Error reply (server to client only). */
export const XS_ERROR = 16;
/** Whether a domain is introduced. */
export const XS_IS_DOMAIN_INTRODUCED = 17;
/** Re-arm @releaseDomain for a domain. */
export const XS_RESUME = 18;
/** Make a domain act for another (device models). */
export const XS_SET_TARGET = 19;
/** Drop all watches and transactions of the caller (XS_RESTRICT, 20, is gone). */
export const XS_RESET_WATCHES = 21;
/** Children list from a byte offset, for long lists. */
export const XS_DIRECTORY_PART = 22;
/** Number of valid types. */
export const XS_TYPE_COUNT = 23;
/** Guaranteed invalid type. */
export const XS_INVALID = 0xffff;

/** Names of the message types, indexed by type (undefined for 20, removed XS_RESTRICT). */
export const XS_TYPE_NAMES: readonly (string | undefined)[] = [
  "CONTROL",
  "DIRECTORY",
  "READ",
  "GET_PERMS",
  "WATCH",
  "UNWATCH",
  "TRANSACTION_START",
  "TRANSACTION_END",
  "INTRODUCE",
  "RELEASE",
  "GET_DOMAIN_PATH",
  "WRITE",
  "MKDIR",
  "RM",
  "SET_PERMS",
  "WATCH_EVENT",
  "ERROR",
  "IS_DOMAIN_INTRODUCED",
  "RESUME",
  "SET_TARGET",
  undefined,
  "RESET_WATCHES",
  "DIRECTORY_PART",
];

/**
 * The `xsd_errors` table, in xs_wire.h's order: the only error names a reply carries.
 * Any other errno is reported as EINVAL, as xenstored does for unknown values.
 */
export const XSD_ERRORS = [
  "EINVAL",
  "EACCES",
  "EEXIST",
  "EISDIR",
  "ENOENT",
  "ENOMEM",
  "ENOSPC",
  "EIO",
  "ENOTEMPTY",
  "ENOSYS",
  "EROFS",
  "EBUSY",
  "EAGAIN",
  "EISCONN",
  "E2BIG",
  "EPERM",
] as const;

/** One of the error names of {@link XSD_ERRORS}. */
export type XsdError = typeof XSD_ERRORS[number];

/** An operation's failure, carrying the error name sent in an XS_ERROR reply. */
export class XsError extends Error {
  /** The error class name. */
  override name = "XsError";
  /** The xsd_errors name. */
  readonly code: XsdError;
  /**
   * An error to reply with.
   * @param code the xsd_errors name
   * @param why a diagnostic (never sent on the wire)
   */
  constructor(code: XsdError, why = "") {
    super(why ? `${code}: ${why}` : code);
    this.code = code;
  }
}

/** Bytes in the xsd_sockmsg header. */
export const XS_HEADER_BYTES = 16;
/** XENSTORE_PAYLOAD_MAX: longest payload in either direction. */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** XENSTORE_ABS_PATH_MAX. */
export const XENSTORE_ABS_PATH_MAX = 3072;
/** XENSTORE_REL_PATH_MAX. */
export const XENSTORE_REL_PATH_MAX = 2048;

/** A decoded message: the header fields and a private copy of the payload. */
export interface XsMessage {
  /** xsd_sockmsg.type. */
  type: number;
  /** Request id, echoed in the reply. */
  reqId: number;
  /** Transaction id (0 outside transactions). */
  txId: number;
  /** The payload (len bytes). */
  payload: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a string as UTF-8 bytes. */
export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

/** Decodes UTF-8 bytes (invalid sequences become U+FFFD). */
export function fromUtf8(b: Uint8Array): string {
  return dec.decode(b);
}

/**
 * Encodes one message (header + payload).
 * @param type xsd_sockmsg.type
 * @param reqId request id
 * @param txId transaction id
 * @param payload the payload bytes (at most {@link XENSTORE_PAYLOAD_MAX})
 * @returns the bytes to send
 */
export function encodeMessage(
  type: number,
  reqId: number,
  txId: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(XS_HEADER_BYTES + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type >>> 0, true);
  dv.setUint32(4, reqId >>> 0, true);
  dv.setUint32(8, txId >>> 0, true);
  dv.setUint32(12, payload.length, true);
  out.set(payload, XS_HEADER_BYTES);
  return out;
}

/**
 * Builds a payload of nul-terminated strings (`<a>|<b>|`).
 * @param parts the strings, each followed by a nul
 */
export function nulStrings(...parts: string[]): Uint8Array {
  const bytes = parts.map(utf8);
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length + 1, 0));
  let o = 0;
  for (const b of bytes) {
    out.set(b, o);
    o += b.length + 1;
  }
  return out;
}

/**
 * Splits a payload into its nul-terminated fields. Bytes after the last nul form a final
 * unterminated field (returned in `rest`).
 * @returns the terminated fields and the unterminated remainder (possibly empty)
 */
export function splitFields(payload: Uint8Array): { fields: Uint8Array[]; rest: Uint8Array } {
  const fields: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) {
      fields.push(payload.subarray(start, i));
      start = i + 1;
    }
  }
  return { fields, rest: payload.subarray(start) };
}

/** Result of {@link MessageFramer.next}. */
export type FrameResult =
  | { kind: "message"; msg: XsMessage }
  | { kind: "need-more" }
  | { kind: "oversized"; len: number };

/**
 * Reassembles messages from a byte stream (socket reads, ring chunks). Holds at most one
 * header plus one payload (4112 bytes): the caller stops feeding when a message is ready.
 */
export class MessageFramer {
  #buf = new Uint8Array(XS_HEADER_BYTES + XENSTORE_PAYLOAD_MAX);
  #have = 0;

  /** Bytes buffered but not yet returned as a message. */
  get buffered(): number {
    return this.#have;
  }

  /**
   * How many more bytes the framer can take before it holds a complete message (so that a
   * reader never takes more than one message's worth from a ring).
   */
  wanted(): number {
    if (this.#have < XS_HEADER_BYTES) return XS_HEADER_BYTES - this.#have;
    const len = new DataView(this.#buf.buffer).getUint32(12, true);
    if (len > XENSTORE_PAYLOAD_MAX) return 0;
    return XS_HEADER_BYTES + len - this.#have;
  }

  /**
   * Takes up to {@link wanted} bytes from `src`.
   * @returns how many bytes were consumed
   */
  push(src: Uint8Array): number {
    const n = Math.min(src.length, this.wanted());
    this.#buf.set(src.subarray(0, n), this.#have);
    this.#have += n;
    return n;
  }

  /** Returns the complete message, if any (and resets), or why not. */
  next(): FrameResult {
    if (this.#have < XS_HEADER_BYTES) return { kind: "need-more" };
    const dv = new DataView(this.#buf.buffer);
    const len = dv.getUint32(12, true);
    if (len > XENSTORE_PAYLOAD_MAX) return { kind: "oversized", len };
    if (this.#have < XS_HEADER_BYTES + len) return { kind: "need-more" };
    const msg: XsMessage = {
      type: dv.getUint32(0, true),
      reqId: dv.getUint32(4, true),
      txId: dv.getUint32(8, true),
      payload: this.#buf.slice(XS_HEADER_BYTES, XS_HEADER_BYTES + len),
    };
    this.#have = 0;
    return { kind: "message", msg };
  }

  /** Drops any partial message (reconnection). */
  reset(): void {
    this.#have = 0;
  }
}

/**
 * Decodes every complete message in `bytes` (a test and tool helper).
 * @returns the messages and the number of bytes left over (a partial message)
 */
export function decodeMessages(bytes: Uint8Array): { msgs: XsMessage[]; leftover: number } {
  const msgs: XsMessage[] = [];
  let o = 0;
  while (bytes.length - o >= XS_HEADER_BYTES) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + o);
    const len = dv.getUint32(12, true);
    if (bytes.length - o - XS_HEADER_BYTES < len) break;
    msgs.push({
      type: dv.getUint32(0, true),
      reqId: dv.getUint32(4, true),
      txId: dv.getUint32(8, true),
      payload: bytes.slice(o + XS_HEADER_BYTES, o + XS_HEADER_BYTES + len),
    });
    o += XS_HEADER_BYTES + len;
  }
  return { msgs, leftover: bytes.length - o };
}
