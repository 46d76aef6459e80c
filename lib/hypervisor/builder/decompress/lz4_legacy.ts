/**
 * LZ4 "legacy" frames as `lz4 -l` writes them and Linux's unlz4 reads them: magic
 * 0x184C2102, then independent LZ4 blocks, each prefixed by its le32 compressed size.
 * @module
 */
import { type BoundedOutput, DecompressError } from "./output.ts";

/** The legacy frame magic (little-endian on disk). */
export const LZ4_LEGACY_MAGIC = 0x184c2102;
/** Most bytes one legacy block decompresses to (8 MiB). */
export const LZ4_LEGACY_BLOCK_MAX = 8 << 20;

function le32(b: Uint8Array, o: number): number {
  return (b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24) >>> 0;
}

/**
 * Decodes one LZ4 block (the raw block format) onto the end of `out`.
 * @param src the block bytes
 * @param out the output; matches may only reach back into this block's own output
 * @param blockMax most bytes the block may produce
 * @throws {DecompressError} on a malformed block
 */
export function decodeLz4Block(src: Uint8Array, out: BoundedOutput, blockMax: number): void {
  const base = out.length;
  let ip = 0;
  const end = src.length;
  const bad = (why: string): never => {
    throw new DecompressError(`corrupt lz4 block: ${why}`);
  };
  while (ip < end) {
    const token = src[ip++];
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) bad("literal length runs past the block");
        b = src[ip++];
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > end) bad("literals run past the block");
    if (out.length - base + lit > blockMax) bad("block output too large");
    out.push(src.subarray(ip, ip + lit));
    ip += lit;
    if (ip === end) break; // the last sequence carries literals only
    if (ip + 2 > end) bad("truncated match offset");
    const offset = src[ip] | src[ip + 1] << 8;
    ip += 2;
    if (offset === 0 || offset > out.length - base) bad(`match offset ${offset} out of range`);
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= end) bad("match length runs past the block");
        b = src[ip++];
        len += b;
      } while (b === 255);
    }
    if (out.length - base + len > blockMax) bad("block output too large");
    out.reserve(len);
    const buf = out.buf;
    let op = out.length;
    let from = op - offset;
    for (let i = 0; i < len; i++) buf[op++] = buf[from++];
    out.length = op;
  }
}

/**
 * Decodes an LZ4 legacy stream (possibly several concatenated).
 * @param data the stream, starting with the magic
 * @param out where the bytes go
 * @throws {DecompressError} on bad magic, truncation or a corrupt block
 */
export function decodeLz4Legacy(data: Uint8Array, out: BoundedOutput): void {
  if (data.length < 4 || le32(data, 0) !== LZ4_LEGACY_MAGIC) {
    throw new DecompressError("not an lz4 legacy stream");
  }
  let p = 4;
  while (p < data.length) {
    if (p + 4 > data.length) throw new DecompressError("truncated lz4 block header");
    const size = le32(data, p);
    p += 4;
    if (size === LZ4_LEGACY_MAGIC) continue; // a concatenated stream starts
    if (size === 0 || p + size > data.length) {
      throw new DecompressError(`lz4 block of ${size} bytes runs past the data`);
    }
    decodeLz4Block(data.subarray(p, p + size), out, LZ4_LEGACY_BLOCK_MAX);
    p += size;
  }
}
