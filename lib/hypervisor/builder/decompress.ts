/**
 * Decompression of kernel payloads (gzip, bzip2, lzma, xz, lz4 legacy, zstd), detected by
 * magic, each with a hard output limit. gzip/bzip2/zstd use pinned npm libraries; lzma, xz
 * (with the x86 BCJ filter Linux uses) and lz4 are our own decoders in ./decompress/.
 * @module
 */
// Full npm: specifiers (pinned as in deno.json): a script outside this repository that
// imports mod.ts has no import map, and must still resolve these.
// deno-lint-ignore no-import-prefix
import { Gunzip } from "npm:fflate@0.8.3";
// deno-lint-ignore no-import-prefix
import { Decompress as ZstdDecompress } from "npm:fzstd@0.1.1";
// deno-lint-ignore no-import-prefix
import Bunzip from "npm:seek-bzip@2.0.0";
import { BoundedOutput, DecompressError } from "./decompress/output.ts";
import { decodeLzmaAlone } from "./decompress/lzma_alone.ts";
import { decodeXz } from "./decompress/xz.ts";
import { decodeLz4Legacy } from "./decompress/lz4_legacy.ts";

export { DecompressError };

/** Compression formats pvx recognises (lzo is recognised but not decoded). */
export type CompressionFormat = "gzip" | "bzip2" | "lzma" | "xz" | "lz4" | "zstd" | "lzo";

/** Default output limit: 256 MiB, well above any bzImage's kernel (Linux 6.1: 66 MB). */
export const DEFAULT_MAX_OUTPUT = 256 << 20;

/** Options of {@link decompress}. */
export interface DecompressOptions {
  /** most bytes the output may have (default {@link DEFAULT_MAX_OUTPUT}) */
  maxOutput?: number;
  /** expected output size when known (first allocation; also checked where the format allows) */
  expectedSize?: number;
}

/**
 * Identifies a compressed stream by its magic bytes.
 * @param b the data
 * @returns the format, or null when none matches
 */
export function detectCompression(b: Uint8Array): CompressionFormat | null {
  if (b.length >= 2 && b[0] === 0x1f && (b[1] === 0x8b || b[1] === 0x9e)) return "gzip";
  if (b.length >= 3 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return "bzip2";
  if (
    b.length >= 6 && b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 &&
    b[4] === 0x5a && b[5] === 0x00
  ) return "xz";
  if (b.length >= 4 && b[0] === 0x02 && b[1] === 0x21 && b[2] === 0x4c && b[3] === 0x18) {
    return "lz4";
  }
  if (b.length >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) {
    return "zstd";
  }
  if (b.length >= 4 && b[0] === 0x89 && b[1] === 0x4c && b[2] === 0x5a && b[3] === 0x4f) {
    return "lzo";
  }
  // lzma_alone: properties byte (lc+lp*9+pb*45 < 225), then a power-of-two-ish dict size;
  // Linux checks 0x5d 0x00 0x00 as its kernel tools always write those.
  if (b.length >= 13 && b[0] === 0x5d && b[1] === 0x00 && b[2] === 0x00) return "lzma";
  return null;
}

/**
 * Decompresses a whole stream.
 * @param data the compressed bytes
 * @param format the format (see {@link detectCompression})
 * @param opts output limit and size hint
 * @returns the decompressed bytes
 * @throws {DecompressError} on corrupt, truncated, unsupported or over-limit data
 * @example
 * ```ts
 * const elf = decompress(gz, "gzip", { maxOutput: 256 << 20 });
 * ```
 */
export function decompress(
  data: Uint8Array,
  format: CompressionFormat,
  opts: DecompressOptions = {},
): Uint8Array {
  const limit = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  // First allocation: the expected size, but never more than a plausible ratio of the input
  // (a hostile header must not make us allocate its claim up front).
  const hint = Math.min(opts.expectedSize ?? data.length * 4, data.length * 64 + (1 << 20));
  const out = new BoundedOutput(limit, format, hint);
  try {
    switch (format) {
      case "gzip":
        gunzip(data, out);
        break;
      case "zstd":
        unzstd(data, out);
        break;
      case "bzip2":
        bunzip2(data, out);
        break;
      case "xz":
        decodeXz(data, out);
        break;
      case "lzma":
        decodeLzmaAlone(data, out);
        break;
      case "lz4":
        decodeLz4Legacy(data, out);
        break;
      case "lzo":
        throw new DecompressError("lzo compression is not supported");
    }
  } catch (err) {
    if (err instanceof DecompressError) throw err;
    // Library errors (and RangeErrors from corrupt input) become one clear input error.
    const msg = err instanceof Error ? err.message : String(err);
    throw new DecompressError(`corrupt ${format} data: ${msg}`);
  }
  return out.result();
}

/** Input is fed in slices so that the output limit is checked often (deflate expands <= 1032x). */
const SLICE = 16 << 10;
/** zstd RLE blocks expand 4 bytes to 128 KiB: smaller slices bound each push to ~32 MiB. */
const ZSTD_SLICE = 1 << 10;

function gunzip(data: Uint8Array, out: BoundedOutput): void {
  let done = false;
  const g = new Gunzip((chunk, final) => {
    out.push(chunk);
    if (final) done = true;
  });
  for (let o = 0; o < data.length && !done; o += SLICE) {
    const end = Math.min(data.length, o + SLICE);
    g.push(data.subarray(o, end), end === data.length);
  }
  if (!done) throw new DecompressError("truncated gzip data");
  // ISIZE: the input size modulo 2^32, the last 4 bytes of a single-member file.
  if (data.length >= 18) {
    const t = data.length - 4;
    const isize = (data[t] | data[t + 1] << 8 | data[t + 2] << 16 | data[t + 3] << 24) >>> 0;
    if (isize !== out.length % 2 ** 32) {
      throw new DecompressError(`gzip size mismatch (trailer says ${isize}, got ${out.length})`);
    }
  }
}

function unzstd(data: Uint8Array, out: BoundedOutput): void {
  let done = false;
  const z = new ZstdDecompress((chunk, final) => {
    out.push(chunk);
    if (final) done = true;
  });
  for (let o = 0; o < data.length; o += ZSTD_SLICE) {
    const end = Math.min(data.length, o + ZSTD_SLICE);
    z.push(data.subarray(o, end), end === data.length);
  }
  if (!done && out.length === 0) throw new DecompressError("truncated zstd data");
}

interface BzOutput {
  writeByte(b: number): void;
}
interface BzInput {
  readByte(): number;
  read(buf: Uint8Array, off: number, len: number): number;
  seek(pos: number): void;
  eof(): boolean;
}
interface BunzipApi {
  decode(input: BzInput, output: BzOutput, multistream?: boolean): void;
}

function bunzip2(data: Uint8Array, out: BoundedOutput): void {
  let pos = 0;
  const input: BzInput = {
    readByte(): number {
      // seek-bzip does not check for the end itself: stop it here, it must never spin.
      if (pos >= data.length) throw new DecompressError("truncated bzip2 data");
      return data[pos++];
    },
    read(buf: Uint8Array, off: number, len: number): number {
      if (pos >= data.length) throw new DecompressError("truncated bzip2 data");
      const n = Math.min(len, data.length - pos);
      buf.set(data.subarray(pos, pos + n), off);
      pos += n;
      return n;
    },
    seek(p: number): void {
      pos = p;
    },
    eof(): boolean {
      return pos >= data.length;
    },
  };
  (Bunzip as unknown as BunzipApi).decode(input, { writeByte: (b) => out.byte(b) }, false);
}
