/**
 * Codecs for the netif protocol of Xen's public `io/netif.h`: TX and RX requests and
 * responses, extra-info segments, flags and status codes. The layouts hold no pointers
 * or 64-bit fields, so the 32-bit and 64-bit guest ABIs are the same (a test checks the
 * offsets against gcc -m32 and -m64). Pure: no I/O, no hypervisor.
 * @module
 */

/** TX request flags. */
export const NETTXF_csum_blank = 1 << 0;
/** The packet's checksum was validated. */
export const NETTXF_data_validated = 1 << 1;
/** More slots of this packet follow. */
export const NETTXF_more_data = 1 << 2;
/** An extra-info slot follows. */
export const NETTXF_extra_info = 1 << 3;

/** RX response flags. */
export const NETRXF_data_validated = 1 << 0;
/** Checksum not filled in (the packet came from a local sender with offload). */
export const NETRXF_csum_blank = 1 << 1;
/** More slots of this packet follow. */
export const NETRXF_more_data = 1 << 2;
/** An extra-info slot follows. */
export const NETRXF_extra_info = 1 << 3;

/** Extra-info types. */
export const XEN_NETIF_EXTRA_TYPE_NONE = 0;
/** GSO. */
export const XEN_NETIF_EXTRA_TYPE_GSO = 1;
/** Multicast add. */
export const XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
/** Multicast delete. */
export const XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
/** Hash. */
export const XEN_NETIF_EXTRA_TYPE_HASH = 4;
/** One past the last type. */
export const XEN_NETIF_EXTRA_TYPE_MAX = 5;
/** Another extra-info slot follows. */
export const XEN_NETIF_EXTRA_FLAG_MORE = 1;
/** GSO type TCPv4. */
export const XEN_NETIF_GSO_TYPE_TCPV4 = 1;

/** Response status: dropped. */
export const NETIF_RSP_DROPPED = -2;
/** Response status: error. */
export const NETIF_RSP_ERROR = -1;
/** Response status: okay. */
export const NETIF_RSP_OKAY = 0;
/** Response status of an extra-info slot's response. */
export const NETIF_RSP_NULL = 1;

/** Largest packet a TX request may describe. */
export const XEN_NETIF_MAX_TX_SIZE = 0xffff;
/** Slots a packet may use that every backend must accept (XEN_NETIF_NR_SLOTS_MIN). */
export const XEN_NETIF_NR_SLOTS_MIN = 18;
/** Ethernet header length: the shortest acceptable frame. */
export const ETH_HLEN = 14;

/** Slot sizes (bytes) of the TX ring (union of request and response) and the RX ring. */
export const TX_SLOT_BYTES = 12;
/** RX slot bytes. */
export const RX_SLOT_BYTES = 8;

/** netif_tx_request. */
export interface TxRequest {
  gref: number;
  offset: number;
  flags: number;
  id: number;
  size: number;
}

/** netif_extra_info (decoded for the GSO case; other types keep their raw bytes). */
export interface ExtraInfo {
  type: number;
  flags: number;
  gsoSize: number;
  gsoType: number;
  gsoFeatures: number;
  raw: Uint8Array;
}

/** netif_rx_request. */
export interface RxRequest {
  id: number;
  gref: number;
}

/** Decodes a TX request from a slot copy. */
export function decodeTxRequest(b: Uint8Array): TxRequest {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    gref: dv.getUint32(0, true),
    offset: dv.getUint16(4, true),
    flags: dv.getUint16(6, true),
    id: dv.getUint16(8, true),
    size: dv.getUint16(10, true),
  };
}

/** Encodes a TX request into a slot. */
export function encodeTxRequest(r: TxRequest, out = new Uint8Array(TX_SLOT_BYTES)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(0, r.gref >>> 0, true);
  dv.setUint16(4, r.offset & 0xffff, true);
  dv.setUint16(6, r.flags & 0xffff, true);
  dv.setUint16(8, r.id & 0xffff, true);
  dv.setUint16(10, r.size & 0xffff, true);
  return out;
}

/** Decodes an extra-info slot. */
export function decodeExtraInfo(b: Uint8Array): ExtraInfo {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    type: b[0],
    flags: b[1],
    gsoSize: dv.getUint16(2, true),
    gsoType: b[4],
    gsoFeatures: dv.getUint16(6, true),
    raw: b.slice(0, 8),
  };
}

/** Encodes a GSO extra-info slot. */
export function encodeGsoExtra(
  gsoSize: number,
  gsoType: number,
  more = false,
  out = new Uint8Array(TX_SLOT_BYTES),
): Uint8Array {
  out.fill(0);
  out[0] = XEN_NETIF_EXTRA_TYPE_GSO;
  out[1] = more ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
  new DataView(out.buffer, out.byteOffset).setUint16(2, gsoSize, true);
  out[4] = gsoType;
  return out;
}

/** Encodes a TX response (id, status) into a slot. */
export function encodeTxResponse(id: number, status: number, out: Uint8Array): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint16(0, id & 0xffff, true);
  dv.setInt16(2, status, true);
  return out;
}

/** Decodes a TX response. */
export function decodeTxResponse(b: Uint8Array): { id: number; status: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { id: dv.getUint16(0, true), status: dv.getInt16(2, true) };
}

/** Decodes an RX request. */
export function decodeRxRequest(b: Uint8Array): RxRequest {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { id: dv.getUint16(0, true), gref: dv.getUint32(4, true) };
}

/** Encodes an RX request. */
export function encodeRxRequest(r: RxRequest, out = new Uint8Array(RX_SLOT_BYTES)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint16(0, r.id & 0xffff, true);
  dv.setUint16(2, 0, true);
  dv.setUint32(4, r.gref >>> 0, true);
  return out;
}

/** netif_rx_response. status: > 0 the bytes in this slot, < 0 a NETIF_RSP_* error. */
export interface RxResponse {
  id: number;
  offset: number;
  flags: number;
  status: number;
}

/** Encodes an RX response. */
export function encodeRxResponse(r: RxResponse, out = new Uint8Array(RX_SLOT_BYTES)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint16(0, r.id & 0xffff, true);
  dv.setUint16(2, r.offset & 0xffff, true);
  dv.setUint16(4, r.flags & 0xffff, true);
  dv.setInt16(6, r.status, true);
  return out;
}

/** Decodes an RX response. */
export function decodeRxResponse(b: Uint8Array): RxResponse {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    id: dv.getUint16(0, true),
    offset: dv.getUint16(2, true),
    flags: dv.getUint16(4, true),
    status: dv.getInt16(6, true),
  };
}

/** Parses a MAC address "aa:bb:cc:dd:ee:ff"; undefined when malformed. */
export function parseMac(s: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i
    .exec(s.trim());
  if (!m) return undefined;
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}

/** Formats a MAC address. */
export function formatMac(b: Uint8Array, off = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push(b[off + i].toString(16).padStart(2, "0"));
  return out.join(":");
}
