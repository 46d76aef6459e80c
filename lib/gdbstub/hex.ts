/**
 * Hex and little-endian helpers of the GDB remote protocol: register and memory bytes as
 * lowercase hex pairs, addresses and lengths as hex numbers (BigInt, so 64-bit addresses
 * stay exact), strings as hex for qRcmd / qThreadExtraInfo.
 * @module
 */

const HEX = "0123456789abcdef";

/** Encodes bytes as lowercase hex pairs. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

/** The value of one hex digit's char code, or -1. */
function digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Decodes hex pairs.
 * @returns the bytes, or null when the text is not an even run of hex digits
 */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = digit(text.charCodeAt(2 * i)), lo = digit(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return null;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * Parses a hex number (no sign, no prefix, at most 16 digits).
 * @returns the value, or null when malformed
 */
export function parseHexNumber(text: string): bigint | null {
  if (text.length === 0 || text.length > 16) return null;
  for (let i = 0; i < text.length; i++) if (digit(text.charCodeAt(i)) < 0) return null;
  return BigInt("0x" + text);
}

/**
 * Parses a hex number that must fit a JS integer of at most `max`.
 * @returns the value, or -1 when malformed or above `max`
 */
export function parseHexInt(text: string, max: number): number {
  const v = parseHexNumber(text);
  if (v === null || v > BigInt(max)) return -1;
  return Number(v);
}

/** Encodes a string (UTF-8) as hex. */
export function stringToHex(s: string): string {
  return toHex(new TextEncoder().encode(s));
}

/**
 * Decodes hex to a string.
 * @returns the string, or null when malformed
 */
export function hexToString(h: string): string | null {
  const b = fromHex(h);
  return b === null ? null : new TextDecoder().decode(b);
}

/** `value` as `size` little-endian bytes (truncated to the size). */
export function leBytes(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The unsigned little-endian value of `bytes`. */
export function leValue(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}
