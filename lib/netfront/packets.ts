/**
 * Ethernet, ARP, IPv4, ICMP and UDP building and parsing, with the Internet checksum:
 * what the host responder answers and what checksum offload (NETTXF_csum_blank)
 * completes. Pure functions over byte arrays.
 * @module
 */

/** EtherType IPv4. */
export const ETH_P_IP = 0x0800;
/** EtherType ARP. */
export const ETH_P_ARP = 0x0806;
/** IP protocol numbers. */
export const IPPROTO_ICMP = 1, IPPROTO_TCP = 6, IPPROTO_UDP = 17;

/** The one's-complement sum of `b[off, off+len)` added to `sum` (not folded). */
export function csumPartial(b: Uint8Array, off: number, len: number, sum = 0): number {
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  return sum;
}

/** Folds a partial sum to 16 bits and complements it. */
export function csumFold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/** Parses an IPv4 address "a.b.c.d" into a u32; undefined when malformed. */
export function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Formats a u32 IPv4 address. */
export function formatIp(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(".");
}

function be16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function be32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
}

/** A parsed IPv4 packet inside an Ethernet frame (offsets into the frame). */
export interface Ipv4View {
  ihl: number; // header bytes
  proto: number;
  src: number;
  dst: number;
  l3: number; // offset of the IP header
  l4: number; // offset of the payload
  l4len: number; // payload bytes
}

/** Parses the IPv4 header of an Ethernet frame; undefined when it is not sane IPv4. */
export function parseIpv4(f: Uint8Array): Ipv4View | undefined {
  if (f.length < 34 || be16(f, 12) !== ETH_P_IP) return undefined;
  const l3 = 14;
  if (f[l3] >> 4 !== 4) return undefined;
  const ihl = (f[l3] & 15) * 4;
  const total = be16(f, l3 + 2);
  if (ihl < 20 || total < ihl || l3 + total > f.length) return undefined;
  return {
    ihl,
    proto: f[l3 + 9],
    src: be32(f, l3 + 12),
    dst: be32(f, l3 + 16),
    l3,
    l4: l3 + ihl,
    l4len: total - ihl,
  };
}

/**
 * Fills in the TCP or UDP checksum of an IPv4 frame whose sender left it blank
 * (NETTXF_csum_blank): what a NIC does for checksum offload. Other frames are untouched.
 */
export function completeChecksum(f: Uint8Array): void {
  const ip = parseIpv4(f);
  if (!ip) return;
  const off = ip.proto === IPPROTO_TCP ? 16 : ip.proto === IPPROTO_UDP ? 6 : -1;
  if (off < 0 || ip.l4len < off + 2) return;
  put16(f, ip.l4 + off, 0);
  let sum = csumPartial(f, ip.l3 + 12, 8); // src + dst
  sum += ip.proto + ip.l4len;
  sum = csumPartial(f, ip.l4, ip.l4len, sum);
  let c = csumFold(sum);
  if (c === 0 && ip.proto === IPPROTO_UDP) c = 0xffff;
  put16(f, ip.l4 + off, c);
}

/** Builds an Ethernet header into `f`. */
function eth(f: Uint8Array, dst: Uint8Array, src: Uint8Array, type: number): void {
  f.set(dst.subarray(0, 6), 0);
  f.set(src.subarray(0, 6), 6);
  put16(f, 12, type);
}

/** Builds an ARP request or reply frame. */
export function buildArp(
  op: 1 | 2,
  srcMac: Uint8Array,
  srcIp: number,
  dstMac: Uint8Array,
  dstIp: number,
): Uint8Array {
  const f = new Uint8Array(42);
  eth(f, op === 1 ? new Uint8Array(6).fill(255) : dstMac, srcMac, ETH_P_ARP);
  put16(f, 14, 1); // Ethernet
  put16(f, 16, ETH_P_IP);
  f[18] = 6;
  f[19] = 4;
  put16(f, 20, op);
  f.set(srcMac.subarray(0, 6), 22);
  put32(f, 28, srcIp);
  f.set(op === 1 ? new Uint8Array(6) : dstMac.subarray(0, 6), 32);
  put32(f, 38, dstIp);
  return f;
}

/** A parsed ARP packet. */
export interface Arp {
  op: number;
  senderMac: Uint8Array;
  senderIp: number;
  targetIp: number;
}

/** Parses an ARP frame (Ethernet/IPv4); undefined otherwise. */
export function parseArp(f: Uint8Array): Arp | undefined {
  if (f.length < 42 || be16(f, 12) !== ETH_P_ARP) return undefined;
  if (be16(f, 14) !== 1 || be16(f, 16) !== ETH_P_IP || f[18] !== 6 || f[19] !== 4) return undefined;
  return {
    op: be16(f, 20),
    senderMac: f.slice(22, 28),
    senderIp: be32(f, 28),
    targetIp: be32(f, 38),
  };
}

/** Builds an IPv4 frame around an L4 payload (header checksum filled in). */
export function buildIpv4(
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  src: number,
  dst: number,
  proto: number,
  payload: Uint8Array,
  id = 0,
): Uint8Array {
  const f = new Uint8Array(34 + payload.length);
  eth(f, dstMac, srcMac, ETH_P_IP);
  f[14] = 0x45;
  put16(f, 16, 20 + payload.length);
  put16(f, 18, id);
  f[22] = 64;
  f[23] = proto;
  put32(f, 26, src);
  put32(f, 30, dst);
  put16(f, 24, csumFold(csumPartial(f, 14, 20)));
  f.set(payload, 34);
  return f;
}

/** Builds an ICMP echo request or reply payload (checksum filled in). */
export function buildIcmpEcho(
  type: 0 | 8,
  ident: number,
  seq: number,
  data: Uint8Array,
): Uint8Array {
  const p = new Uint8Array(8 + data.length);
  p[0] = type;
  put16(p, 4, ident);
  put16(p, 6, seq);
  p.set(data, 8);
  put16(p, 2, csumFold(csumPartial(p, 0, p.length)));
  return p;
}

/** Builds a UDP payload (checksum filled in with the pseudo-header). */
export function buildUdp(
  src: number,
  dst: number,
  sport: number,
  dport: number,
  data: Uint8Array,
): Uint8Array {
  const p = new Uint8Array(8 + data.length);
  put16(p, 0, sport);
  put16(p, 2, dport);
  put16(p, 4, p.length);
  p.set(data, 8);
  let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + IPPROTO_UDP + p.length;
  sum = csumPartial(p, 0, p.length, sum);
  put16(p, 6, csumFold(sum) || 0xffff);
  return p;
}

/** Whether an IPv4 frame's header checksum and (for ICMP/UDP/TCP) L4 checksum verify. */
export function checksumsValid(f: Uint8Array): boolean {
  const ip = parseIpv4(f);
  if (!ip) return false;
  if (csumFold(csumPartial(f, ip.l3, ip.ihl)) !== 0) return false;
  if (ip.proto === IPPROTO_ICMP) return csumFold(csumPartial(f, ip.l4, ip.l4len)) === 0;
  if (ip.proto === IPPROTO_UDP || ip.proto === IPPROTO_TCP) {
    if (ip.proto === IPPROTO_UDP && be16(f, ip.l4 + 6) === 0) return true;
    let sum = csumPartial(f, ip.l3 + 12, 8) + ip.proto + ip.l4len;
    sum = csumPartial(f, ip.l4, ip.l4len, sum);
    return csumFold(sum) === 0;
  }
  return true;
}

export { be16, be32 };
