/**
 * A pcap (libpcap classic format, LINKTYPE_ETHERNET) writer for every frame crossing the
 * virtual switch. Timestamps come from the caller's clock (virtual time by default), so
 * captures are deterministic; tshark and Wireshark open them.
 * @module
 */

/** Receives the bytes of the capture. */
export type PcapSink = (bytes: Uint8Array) => void;

/** Classic pcap writer: global header at creation, one record per frame. */
export class PcapWriter {
  readonly #sink: PcapSink;
  readonly #clockNs: () => number;
  readonly #snaplen: number;
  /** Frames written. */
  frames = 0;

  /**
   * @param sink where bytes go
   * @param clockNs the time now in nanoseconds
   * @param snaplen bytes kept per frame
   */
  constructor(sink: PcapSink, clockNs: () => number, snaplen = 65535) {
    this.#sink = sink;
    this.#clockNs = clockNs;
    this.#snaplen = snaplen;
    const h = new Uint8Array(24);
    const dv = new DataView(h.buffer);
    dv.setUint32(0, 0xa1b2c3d4, true); // microsecond timestamps
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setInt32(8, 0, true);
    dv.setUint32(12, 0, true);
    dv.setUint32(16, snaplen, true);
    dv.setUint32(20, 1, true); // LINKTYPE_ETHERNET
    sink(h);
  }

  /** Appends one frame. */
  write(frame: Uint8Array): void {
    const ns = this.#clockNs();
    const incl = Math.min(frame.length, this.#snaplen);
    const rec = new Uint8Array(16 + incl);
    const dv = new DataView(rec.buffer);
    const us = Math.floor(ns / 1000);
    dv.setUint32(0, Math.floor(us / 1e6) >>> 0, true);
    dv.setUint32(4, us % 1e6, true);
    dv.setUint32(8, incl, true);
    dv.setUint32(12, frame.length, true);
    rec.set(frame.subarray(0, incl), 16);
    this.#sink(rec);
    this.frames++;
  }
}

/** Decodes a classic pcap file into its frames (tests and `pvx replay` exports). */
export function readPcap(bytes: Uint8Array): { tsUs: number; frame: Uint8Array }[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24 || dv.getUint32(0, true) !== 0xa1b2c3d4) {
    throw new Error("not a little-endian microsecond pcap file");
  }
  const out: { tsUs: number; frame: Uint8Array }[] = [];
  let p = 24;
  while (p + 16 <= bytes.length) {
    const incl = dv.getUint32(p + 8, true);
    if (p + 16 + incl > bytes.length) throw new Error(`truncated pcap record at offset ${p}`);
    out.push({
      tsUs: dv.getUint32(p, true) * 1e6 + dv.getUint32(p + 4, true),
      frame: bytes.slice(p + 16, p + 16 + incl),
    });
    p += 16 + incl;
  }
  return out;
}
