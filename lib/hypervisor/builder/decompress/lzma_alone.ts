/**
 * The `.lzma` (lzma_alone) container: properties byte, le32 dictionary size, le64
 * uncompressed size (all ones: unknown, the stream ends with an end marker), LZMA data.
 * @module
 */
import { LzmaDecoder } from "./lzma.ts";
import { type BoundedOutput, DecompressError } from "./output.ts";

/**
 * Decodes an lzma_alone stream.
 * @param data the stream, starting with its 13-byte header
 * @param out where the bytes go (its limit bounds streams of unknown size)
 * @throws {DecompressError} on a bad header, corrupt or truncated data
 */
export function decodeLzmaAlone(data: Uint8Array, out: BoundedOutput): void {
  if (data.length < 13) throw new DecompressError("truncated lzma header");
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const lo = dv.getUint32(5, true), hi = dv.getUint32(9, true);
  const unknown = lo === 0xffffffff && hi === 0xffffffff;
  if (!unknown && hi !== 0) {
    throw new DecompressError(`lzma header declares ${hi * 2 ** 32 + lo} bytes (limit reached)`);
  }
  const dec = new LzmaDecoder();
  dec.setProps(data[0], false);
  dec.initRangeCoder(data, 13, data.length);
  const start = out.length;
  const marker = dec.decode(out, start, unknown ? Infinity : start + lo, true);
  if (unknown && !marker) throw new DecompressError("lzma stream has no end marker");
}
