/**
 * GDB remote serial protocol framing, pure and incremental: `$payload#cs` packets, `+`/`-`
 * acknowledgements, the 0x03 interrupt byte, `}` escapes in binary data. The decoder
 * takes bytes as they arrive (any split), never throws, and bounds what it buffers: a
 * packet longer than its limit is reported as `overflow` once its end is seen.
 * @module
 */

/** Largest packet payload pvx accepts and advertises (qSupported PacketSize). */
export const MAX_PACKET = 0x4000;

/** What the decoder saw on the wire. */
export type WireEvent =
  /** A complete packet; `ok` is false when its checksum did not match. */
  | { kind: "packet"; payload: Uint8Array; ok: boolean }
  /** `+` */
  | { kind: "ack" }
  /** `-` (retransmit the last packet) */
  | { kind: "nack" }
  /** 0x03 outside a packet (Ctrl-C). */
  | { kind: "interrupt" }
  /** A packet whose payload exceeded the limit (its bytes were dropped). */
  | { kind: "overflow" };

const S_IDLE = 0, S_DATA = 1, S_CS1 = 2, S_CS2 = 3;

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Incremental decoder of the byte stream a gdb client sends. */
export class PacketDecoder {
  readonly #limit: number;
  #state = S_IDLE;
  #buf: Uint8Array;
  #len = 0;
  #sum = 0;
  #cs = 0;
  #overflow = false;

  /** @param limit the largest payload kept (default {@link MAX_PACKET}) */
  constructor(limit: number = MAX_PACKET) {
    this.#limit = limit;
    this.#buf = new Uint8Array(Math.min(limit, 4096));
  }

  /** Whether the decoder is inside a packet (a disconnect now cuts one short). */
  get midPacket(): boolean {
    return this.#state !== S_IDLE;
  }

  /**
   * Feeds received bytes.
   * @returns the events they complete, in order
   */
  push(bytes: Uint8Array): WireEvent[] {
    const out: WireEvent[] = [];
    for (const c of bytes) {
      switch (this.#state) {
        case S_IDLE:
          if (c === 0x24) { // '$'
            this.#state = S_DATA;
            this.#len = 0;
            this.#sum = 0;
            this.#overflow = false;
          } else if (c === 0x2b) out.push({ kind: "ack" });
          else if (c === 0x2d) out.push({ kind: "nack" });
          else if (c === 0x03) out.push({ kind: "interrupt" });
          // anything else between packets is noise: ignored
          break;
        case S_DATA:
          if (c === 0x23) { // '#'
            this.#state = S_CS1;
          } else if (c === 0x24) {
            // a new '$' inside a packet: the previous one was cut short; start again
            this.#len = 0;
            this.#sum = 0;
            this.#overflow = false;
          } else {
            this.#sum = (this.#sum + c) & 0xff;
            if (this.#len >= this.#limit) this.#overflow = true;
            else this.#append(c);
          }
          break;
        case S_CS1: {
          const d = hexDigit(c);
          this.#cs = d < 0 ? -256 : d << 4;
          this.#state = S_CS2;
          break;
        }
        case S_CS2: {
          const d = hexDigit(c);
          const cs = d < 0 ? -1 : this.#cs + d;
          this.#state = S_IDLE;
          if (this.#overflow) out.push({ kind: "overflow" });
          else {
            const payload = this.#buf.slice(0, this.#len);
            out.push({ kind: "packet", payload, ok: cs === this.#sum });
          }
          break;
        }
      }
    }
    return out;
  }

  #append(c: number): void {
    if (this.#len === this.#buf.length) {
      const n = new Uint8Array(Math.min(this.#limit, this.#buf.length * 2));
      n.set(this.#buf);
      this.#buf = n;
    }
    this.#buf[this.#len++] = c;
  }
}

/**
 * Frames a payload as `$payload#cs`. Bytes `$ # } *` in the payload are escaped (`}`
 * then the byte XOR 0x20), so binary replies (qXfer, x) and text both frame safely.
 */
export function encodePacket(payload: Uint8Array | string): Uint8Array {
  const src = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const esc = escapeBinary(src);
  const out = new Uint8Array(esc.length + 4);
  out[0] = 0x24;
  let sum = 0;
  for (let i = 0; i < esc.length; i++) {
    out[i + 1] = esc[i];
    sum = (sum + esc[i]) & 0xff;
  }
  const h = "0123456789abcdef";
  out[esc.length + 1] = 0x23;
  out[esc.length + 2] = h.charCodeAt(sum >> 4);
  out[esc.length + 3] = h.charCodeAt(sum & 15);
  return out;
}

/** Escapes `$ # } *` for binary data. */
export function escapeBinary(src: Uint8Array): Uint8Array {
  let n = 0;
  for (const c of src) if (c === 0x24 || c === 0x23 || c === 0x7d || c === 0x2a) n++;
  if (n === 0) return src;
  const out = new Uint8Array(src.length + n);
  let j = 0;
  for (const c of src) {
    if (c === 0x24 || c === 0x23 || c === 0x7d || c === 0x2a) {
      out[j++] = 0x7d;
      out[j++] = c ^ 0x20;
    } else out[j++] = c;
  }
  return out;
}

/**
 * Undoes `}` escapes (X packets' data).
 * @returns the bytes, or null when the data ends in a lone `}`
 */
export function unescapeBinary(src: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(src.length);
  let j = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === 0x7d) {
      if (i + 1 >= src.length) return null;
      out[j++] = src[++i] ^ 0x20;
    } else out[j++] = c;
  }
  return out.slice(0, j);
}
