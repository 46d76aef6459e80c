/**
 * A growable output buffer with a hard size limit, shared by the decompressors so that a
 * hostile stream ("zip bomb") ends with a clear error instead of exhausting memory.
 * @module
 */
import { InputError } from "../../../errors.ts";

/** A compressed payload that cannot be decoded (corrupt, truncated, too large, unsupported). */
export class DecompressError extends InputError {
  override name = "DecompressError";
}

/** Bytes appended one at a time or in runs, never past `limit`. */
export class BoundedOutput {
  /** the storage; valid bytes are [0, length) */
  buf: Uint8Array;
  /** bytes written so far */
  length = 0;

  /**
   * @param limit the most bytes the output may hold
   * @param what the format name for error messages ("xz", "gzip", ...)
   * @param sizeHint expected size, used for the first allocation (capped at limit)
   */
  constructor(readonly limit: number, readonly what: string, sizeHint = 1 << 16) {
    this.buf = new Uint8Array(Math.max(16, Math.min(limit, sizeHint)));
  }

  /**
   * Makes room for `n` more bytes.
   * @param n bytes about to be written
   * @throws {DecompressError} when the output would exceed the limit
   */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    if (need > this.limit) {
      throw new DecompressError(
        `${this.what} data decompresses to more than ${this.limit} bytes (limit reached)`,
      );
    }
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.limit));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** Appends one byte. */
  byte(b: number): void {
    if (this.length >= this.buf.length) this.reserve(1);
    this.buf[this.length++] = b;
  }

  /** Appends a chunk. */
  push(chunk: Uint8Array): void {
    this.reserve(chunk.length);
    this.buf.set(chunk, this.length);
    this.length += chunk.length;
  }

  /** The bytes written (a view, not a copy). */
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
