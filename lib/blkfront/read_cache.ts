/**
 * A small read cache for raw image files: 128 KiB chunks kept in LRU order, filled by
 * reads and read-ahead, patched by writes. It lets blkback answer sequential reads
 * (a bootloader loading a kernel, say) without waiting for the host's event loop.
 * @module
 */

/** Bytes per cached chunk. */
export const CACHE_CHUNK = 128 * 1024;

/** Chunks of one image, by index (offset / CACHE_CHUNK), least recently used first. */
export class ChunkCache {
  readonly #chunks = new Map<number, Uint8Array>();
  readonly #max: number;

  /** @param maxChunks how many chunks to keep (default 64: 8 MiB) */
  constructor(maxChunks = 64) {
    this.#max = maxChunks;
  }

  /** Whether chunk `c` is cached. */
  has(c: number): boolean {
    return this.#chunks.has(c);
  }

  /** Number of chunks held. */
  get size(): number {
    return this.#chunks.size;
  }

  /** Stores chunk `c` (its bytes; the last chunk of an image may be short). */
  put(c: number, bytes: Uint8Array): void {
    this.#chunks.delete(c);
    this.#chunks.set(c, bytes);
    if (this.#chunks.size > this.#max) {
      const oldest = this.#chunks.keys().next().value;
      if (oldest !== undefined) this.#chunks.delete(oldest);
    }
  }

  /**
   * Copies [offset, offset + dst.length) out of the cache.
   * @returns false (and copies nothing) unless every byte is cached
   */
  read(offset: number, dst: Uint8Array): boolean {
    const end = offset + dst.length;
    const first = Math.floor(offset / CACHE_CHUNK);
    const last = Math.floor((end - 1) / CACHE_CHUNK);
    for (let c = first; c <= last; c++) {
      const chunk = this.#chunks.get(c);
      if (!chunk || c * CACHE_CHUNK + chunk.length < Math.min(end, (c + 1) * CACHE_CHUNK)) {
        return false;
      }
    }
    for (let c = first; c <= last; c++) {
      const chunk = this.#chunks.get(c)!;
      const lo = Math.max(offset, c * CACHE_CHUNK);
      const hi = Math.min(end, (c + 1) * CACHE_CHUNK);
      dst.set(chunk.subarray(lo - c * CACHE_CHUNK, hi - c * CACHE_CHUNK), lo - offset);
      this.#chunks.delete(c); // most recently used goes last
      this.#chunks.set(c, chunk);
    }
    return true;
  }

  /** Applies a write of `src` at `offset` to the cached chunks it overlaps. */
  write(offset: number, src: Uint8Array): void {
    if (this.#chunks.size === 0) return;
    const end = offset + src.length;
    for (let c = Math.floor(offset / CACHE_CHUNK); c * CACHE_CHUNK < end; c++) {
      const chunk = this.#chunks.get(c);
      if (!chunk) continue;
      const lo = Math.max(offset, c * CACHE_CHUNK);
      const hi = Math.min(end, c * CACHE_CHUNK + chunk.length);
      if (hi > lo) chunk.set(src.subarray(lo - offset, hi - offset), lo - c * CACHE_CHUNK);
    }
  }

  /** Drops everything (after an I/O error, when the file's state is unknown). */
  clear(): void {
    this.#chunks.clear();
  }
}
