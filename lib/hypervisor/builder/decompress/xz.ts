/**
 * The `.xz` container (stream header, blocks, index, footer) with LZMA2 and the x86 BCJ
 * filter, as Linux compresses its kernels (`xz --check=crc32 --x86 --lzma2`). CRC32 and
 * CRC64 checks are verified; SHA-256 checks are skipped.
 * @module
 */
import { bcjX86Decode } from "./bcj_x86.ts";
import { crc32, crc64 } from "./crc.ts";
import { LzmaDecoder } from "./lzma.ts";
import { type BoundedOutput, DecompressError } from "./output.ts";

const FILTER_BCJ_X86 = 0x04;
const FILTER_LZMA2 = 0x21;
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

function bad(why: string): never {
  throw new DecompressError(`corrupt xz data: ${why}`);
}

/** Cursor over the input with bounds-checked reads. */
class In {
  constructor(readonly b: Uint8Array, public p = 0) {}
  need(n: number): void {
    if (this.p + n > this.b.length) bad("truncated");
  }
  u8(): number {
    this.need(1);
    return this.b[this.p++];
  }
  le32(): number {
    this.need(4);
    const b = this.b, p = this.p;
    this.p += 4;
    return (b[p] | b[p + 1] << 8 | b[p + 2] << 16 | b[p + 3] << 24) >>> 0;
  }
  /** xz variable-length integer (7 bits per byte, at most 9 bytes). */
  vli(): number {
    let v = 0;
    for (let i = 0; i < 9; i++) {
      const byte = this.u8();
      v += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) bad("non-minimal integer");
        if (v > Number.MAX_SAFE_INTEGER) bad("integer too large");
        return v;
      }
    }
    return bad("integer too long");
  }
}

/**
 * Decodes an xz file (one or more concatenated streams, with stream padding).
 * @param data the file
 * @param out where the bytes go
 * @throws {DecompressError} on corrupt, truncated or unsupported data
 */
export function decodeXz(data: Uint8Array, out: BoundedOutput): void {
  const r = new In(data);
  let streams = 0;
  while (r.p < data.length) {
    if (streams > 0 && data[r.p] === 0) {
      // stream padding: zero bytes in multiples of four
      while (r.p < data.length && data[r.p] === 0) r.p++;
      continue;
    }
    decodeStream(r, out);
    streams++;
  }
  if (streams === 0) bad("empty input");
}

function decodeStream(r: In, out: BoundedOutput): void {
  const b = r.b;
  r.need(12);
  const magic = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
  for (let i = 0; i < 6; i++) if (b[r.p + i] !== magic[i]) bad("bad stream header magic");
  const flags = b.subarray(r.p + 6, r.p + 8);
  r.p += 8;
  if (r.le32() !== crc32(flags)) bad("stream header CRC mismatch");
  if (flags[0] !== 0 || flags[1] > 15) bad("unsupported stream flags");
  const check = flags[1];
  const records: { unpadded: number; size: number }[] = [];
  for (;;) {
    const blockStart = r.p;
    const hdr = r.u8();
    if (hdr === 0) break; // index indicator
    const unpadded = decodeBlock(r, blockStart, (hdr + 1) * 4, check, out);
    records.push(unpadded);
  }
  // Index: count, then (unpadded size, uncompressed size) per block, padding, CRC32.
  const indexStart = r.p - 1;
  const count = r.vli();
  if (count !== records.length) bad("index does not match the blocks");
  for (const rec of records) {
    if (r.vli() !== rec.unpadded || r.vli() !== rec.size) bad("index does not match a block");
  }
  while ((r.p - indexStart) % 4 !== 0) if (r.u8() !== 0) bad("non-zero index padding");
  const indexEnd = r.p;
  if (r.le32() !== crc32(b.subarray(indexStart, indexEnd))) bad("index CRC mismatch");
  // Footer: CRC32, backward size, flags, "YZ".
  r.need(12);
  const footCrc = r.le32();
  const backward = r.le32();
  if (footCrc !== crc32(b.subarray(r.p - 4, r.p + 2))) bad("stream footer CRC mismatch");
  if ((backward + 1) * 4 !== indexEnd + 4 - indexStart) bad("footer backward size mismatch");
  if (b[r.p] !== flags[0] || b[r.p + 1] !== flags[1]) bad("footer flags differ from header");
  if (b[r.p + 2] !== 0x59 || b[r.p + 3] !== 0x5a) bad("bad stream footer magic");
  r.p += 4;
}

/** Decodes one block; returns its unpadded size and uncompressed size for the index. */
function decodeBlock(
  r: In,
  blockStart: number,
  headerSize: number,
  check: number,
  out: BoundedOutput,
): { unpadded: number; size: number } {
  const b = r.b;
  r.need(headerSize - 1);
  const hdrEnd = blockStart + headerSize;
  if (
    crc32(b.subarray(blockStart, hdrEnd - 4)) !== (b[hdrEnd - 4] | b[hdrEnd - 3] << 8 |
          b[hdrEnd - 2] << 16 | b[hdrEnd - 1] << 24) >>> 0
  ) {
    bad("block header CRC mismatch");
  }
  const h = new In(b.subarray(0, hdrEnd - 4), r.p);
  const bflags = h.u8();
  if (bflags & 0x3c) bad("reserved block flags set");
  const compressedSize = bflags & 0x40 ? h.vli() : -1;
  const uncompressedSize = bflags & 0x80 ? h.vli() : -1;
  const nFilters = (bflags & 3) + 1;
  let bcj = false, bcjStart = 0, lzma2 = false, dictProp = 0;
  for (let i = 0; i < nFilters; i++) {
    const id = h.vli();
    const propSize = h.vli();
    h.need(propSize);
    const props = b.subarray(h.p, h.p + propSize);
    h.p += propSize;
    if (id === FILTER_BCJ_X86 && i < nFilters - 1 && !bcj) {
      if (propSize === 4) {
        bcjStart = (props[0] | props[1] << 8 | props[2] << 16 | props[3] << 24) >>> 0;
      } else if (propSize !== 0) bad("bad BCJ properties");
      bcj = true;
    } else if (id === FILTER_LZMA2 && i === nFilters - 1) {
      if (propSize !== 1 || props[0] > 40) bad("bad LZMA2 properties");
      dictProp = props[0];
      lzma2 = true;
    } else {
      throw new DecompressError(`unsupported xz filter 0x${id.toString(16)}`);
    }
  }
  if (!lzma2) bad("block has no LZMA2 filter");
  void dictProp; // the whole output is the dictionary; its declared size needs no buffer
  while (h.p < hdrEnd - 4) if (b[h.p++] !== 0) bad("non-zero block header padding");
  r.p = hdrEnd;

  const dataStart = r.p;
  const outStart = out.length;
  r.p = decodeLzma2(b, dataStart, compressedSize < 0 ? b.length : dataStart + compressedSize, out);
  const compressed = r.p - dataStart;
  if (compressedSize >= 0 && compressed !== compressedSize) bad("block compressed size mismatch");
  const size = out.length - outStart;
  if (uncompressedSize >= 0 && size !== uncompressedSize) bad("block uncompressed size mismatch");
  if (bcj) bcjX86Decode(out.buf.subarray(outStart, out.length), bcjStart);
  while ((r.p - blockStart) % 4 !== 0) if (r.u8() !== 0) bad("non-zero block padding");
  const unpadded = headerSize + compressed + CHECK_SIZES[check];
  const checkSize = CHECK_SIZES[check];
  r.need(checkSize);
  const produced = out.buf.subarray(outStart, out.length);
  if (check === 1) {
    const want = (b[r.p] | b[r.p + 1] << 8 | b[r.p + 2] << 16 | b[r.p + 3] << 24) >>> 0;
    if (crc32(produced) !== want) bad("CRC32 mismatch");
  } else if (check === 4) {
    const dv = new DataView(b.buffer, b.byteOffset + r.p, 8);
    if (crc64(produced) !== dv.getBigUint64(0, true)) bad("CRC64 mismatch");
  }
  r.p += checkSize;
  return { unpadded, size };
}

/** Decodes an LZMA2 chunk sequence in input[start, end); returns the position after it. */
function decodeLzma2(input: Uint8Array, start: number, end: number, out: BoundedOutput): number {
  const dec = new LzmaDecoder();
  let p = start;
  let dictStart = out.length;
  let needDictReset = true, needProps = true;
  for (;;) {
    if (p >= end) bad("truncated LZMA2 data");
    const control = input[p++];
    if (control === 0) return p;
    if (control === 1 || control === 2) {
      if (p + 2 > end) bad("truncated LZMA2 chunk header");
      const size = ((input[p] << 8) | input[p + 1]) + 1;
      p += 2;
      if (control === 1) {
        dictStart = out.length;
        needDictReset = false;
      } else if (needDictReset) bad("LZMA2 stream does not start with a dictionary reset");
      if (p + size > end) bad("truncated LZMA2 uncompressed chunk");
      out.push(input.subarray(p, p + size));
      p += size;
      continue;
    }
    if (control < 0x80) bad(`bad LZMA2 control byte 0x${control.toString(16)}`);
    if (p + 4 > end) bad("truncated LZMA2 chunk header");
    const unpacked = ((control & 0x1f) * 65536 + (input[p] << 8 | input[p + 1])) + 1;
    const packed = ((input[p + 2] << 8) | input[p + 3]) + 1;
    p += 4;
    const reset = (control >>> 5) & 3;
    if (reset === 3) {
      dictStart = out.length;
      needDictReset = false;
    } else if (needDictReset) bad("LZMA2 stream does not start with a dictionary reset");
    if (reset >= 2) {
      if (p >= end) bad("truncated LZMA2 properties");
      dec.setProps(input[p++], true);
      needProps = false;
    } else if (needProps) {
      bad("LZMA2 chunk without properties");
    } else if (reset === 1) {
      dec.resetState();
    }
    if (p + packed > end) bad("truncated LZMA2 chunk");
    dec.initRangeCoder(input, p, p + packed);
    dec.decode(out, dictStart, out.length + unpacked, false);
    if (dec.ip !== p + packed || !dec.finishedOk()) bad("LZMA2 chunk size mismatch");
    p += packed;
  }
}
