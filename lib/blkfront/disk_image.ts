/**
 * Disk images behind blkback: a raw file (read-write or read-only), a copy-on-write
 * overlay over a raw file (`--snapshot`: writes stay in memory, the file is untouched),
 * and an in-memory image. All I/O is asynchronous and runs in submission order per image.
 * The raw file is the host's {@link RandomAccessFile}: the toolstack opens it
 * (lib/toolstack/disk_file.ts `openDiskImage` on Deno); this module never calls a runtime API.
 * @module
 */
import { InputError } from "../errors.ts";
import type { RandomAccessFile } from "../host_io.ts";
import { SECTOR_SIZE } from "./protocol.ts";
import { CACHE_CHUNK, ChunkCache } from "./read_cache.ts";

/** A disk image cannot be opened or used as asked. Exit code 2. */
export class DiskImageError extends InputError {
  override name = "DiskImageError";
}

/** Host storage for one virtual block device, addressed in 512-byte sectors. */
export interface DiskImage {
  /** What backs it (the path, or "memory"), for messages and the "params" node. */
  readonly description: string;
  /** Size in 512-byte sectors (a trailing partial sector of a file is not addressable). */
  readonly sectors: number;
  /** Writes and discards are refused. */
  readonly readonly: boolean;
  /**
   * Reads `dst.length` bytes (a multiple of 512) starting at `sector`.
   * Rejects with a DiskImageError when the range leaves the image.
   */
  read(sector: number, dst: Uint8Array): Promise<void>;
  /** Writes `src` (a multiple of 512 bytes) at `sector`. Rejects when read-only or out of range. */
  write(sector: number, src: Uint8Array): Promise<void>;
  /** Makes every completed write durable (fdatasync for a file; a no-op in memory). */
  flush(): Promise<void>;
  /** Discards `count` sectors from `sector`; they read back as zeros afterwards. */
  discard(sector: number, count: number): Promise<void>;
  /** Releases the host resources; further calls reject. */
  close(): Promise<void>;
  /**
   * Fills `dst` from `sector` at once when the data is in memory and no queued write or
   * discard precedes the read (so the answer is the one {@link read} would give).
   * @returns whether it did (false: use {@link read})
   */
  readNow?(sector: number, dst: Uint8Array): boolean;
}

/** Runs async jobs one at a time, in submission order (the per-image I/O queue). */
class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(job);
    this.#tail = p.catch(() => {});
    return p;
  }
}

/** Common checks and the serial queue. */
abstract class BaseImage implements DiskImage {
  readonly description: string;
  readonly sectors: number;
  readonly readonly: boolean;
  protected readonly queue = new SerialQueue();
  protected closed = false;
  /** Writes and discards queued or running (a synchronous read must not pass them). */
  #pendingWrites = 0;

  constructor(description: string, sectors: number, readonly: boolean) {
    this.description = description;
    this.sectors = sectors;
    this.readonly = readonly;
  }

  /** Rejects ranges outside the image, partial sectors and use after close. */
  protected check(sector: number, bytes: number, write: boolean): void {
    if (this.closed) throw new DiskImageError(`Disk image "${this.description}" is closed`);
    if (write && this.readonly) {
      throw new DiskImageError(`Cannot write to disk image "${this.description}": read-only`);
    }
    if (bytes % SECTOR_SIZE !== 0) {
      throw new DiskImageError(`Disk I/O of ${bytes} bytes is not a whole number of sectors`);
    }
    const count = bytes / SECTOR_SIZE;
    if (
      !Number.isSafeInteger(sector) || sector < 0 || count > this.sectors ||
      sector > this.sectors - count
    ) {
      throw new DiskImageError(
        `Sectors ${sector}+${count} are outside disk image "${this.description}" (${this.sectors} sectors)`,
      );
    }
  }

  read(sector: number, dst: Uint8Array): Promise<void> {
    try {
      this.check(sector, dst.length, false);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.queue.run(() => this.doRead(sector * SECTOR_SIZE, dst));
  }

  write(sector: number, src: Uint8Array): Promise<void> {
    try {
      this.check(sector, src.length, true);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#queueWrite(() => this.doWrite(sector * SECTOR_SIZE, src));
  }

  /** Queues a job that changes data, counted until it settles. */
  #queueWrite(job: () => Promise<void>): Promise<void> {
    this.#pendingWrites++;
    const p = this.queue.run(job);
    const done = () => void this.#pendingWrites--;
    p.then(done, done);
    return p;
  }

  readNow(sector: number, dst: Uint8Array): boolean {
    if (this.#pendingWrites > 0 || this.closed) return false;
    try {
      this.check(sector, dst.length, false);
    } catch {
      return false;
    }
    return this.tryReadNow(sector * SECTOR_SIZE, dst);
  }

  /** The image's synchronous read of in-memory data (false when not available). */
  protected tryReadNow(_offset: number, _dst: Uint8Array): boolean {
    return false;
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.reject(new DiskImageError("Disk image is closed"));
    return this.queue.run(() => this.doFlush());
  }

  discard(sector: number, count: number): Promise<void> {
    try {
      this.check(sector, count * SECTOR_SIZE, true);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#queueWrite(() => this.doDiscard(sector * SECTOR_SIZE, count * SECTOR_SIZE));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.queue.run(() => this.doClose());
  }

  protected abstract doRead(offset: number, dst: Uint8Array): Promise<void>;
  protected abstract doWrite(offset: number, src: Uint8Array): Promise<void>;
  protected abstract doFlush(): Promise<void>;
  protected abstract doDiscard(offset: number, length: number): Promise<void>;
  protected abstract doClose(): Promise<void>;
}

/** An image held in memory (tests, benches, scratch disks). */
export class MemoryDiskImage extends BaseImage {
  /** The bytes (sectors * 512). */
  readonly bytes: Uint8Array;

  /**
   * @param bytesOrSectors the contents (used in place, length a multiple of 512) or a size
   *   in sectors (zero-filled)
   * @param readonly refuse writes
   */
  constructor(bytesOrSectors: Uint8Array | number, readonly = false) {
    const bytes = typeof bytesOrSectors === "number"
      ? new Uint8Array(bytesOrSectors * SECTOR_SIZE)
      : bytesOrSectors;
    super("memory", Math.floor(bytes.length / SECTOR_SIZE), readonly);
    this.bytes = bytes;
  }

  protected doRead(offset: number, dst: Uint8Array): Promise<void> {
    dst.set(this.bytes.subarray(offset, offset + dst.length));
    return Promise.resolve();
  }
  protected override tryReadNow(offset: number, dst: Uint8Array): boolean {
    dst.set(this.bytes.subarray(offset, offset + dst.length));
    return true;
  }
  protected doWrite(offset: number, src: Uint8Array): Promise<void> {
    this.bytes.set(src, offset);
    return Promise.resolve();
  }
  protected doFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected doDiscard(offset: number, length: number): Promise<void> {
    this.bytes.fill(0, offset, offset + length);
    return Promise.resolve();
  }
  protected doClose(): Promise<void> {
    return Promise.resolve();
  }
}

/** Chunks read ahead of a sequential reader. */
const READ_AHEAD_CHUNKS = 2;

/** Bytes of zeros written per step when discarding a range of a raw file. */
const DISCARD_STEP = 1 << 20;

/** Whether every byte is zero (8 bytes at a time where aligned). */
function isZero(b: Uint8Array): boolean {
  const words = b.byteOffset % 8 === 0 ? b.length >>> 3 : 0;
  const w = new BigUint64Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (w[i] !== 0n) return false;
  for (let i = words * 8; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** A raw image file, read-write or read-only (async file I/O, fdatasync on flush). */
export class RawFileDiskImage extends BaseImage {
  readonly #file: RandomAccessFile;
  #pos = -1; // the file position when known (saves a seek on sequential I/O)
  readonly #cache = new ChunkCache();
  /** Chunks being read ahead. */
  readonly #fetching = new Set<number>();
  /** End of the previous read (sequential reads are cached and read ahead). */
  #lastEnd = -1;

  /**
   * An image over an open file (the toolstack's `openDiskImage` opens and sizes it).
   * @param path the file's name, for messages
   * @param file the open file
   * @param sectors its size in whole sectors
   * @param readonly refuse writes
   */
  constructor(path: string, file: RandomAccessFile, sectors: number, readonly: boolean) {
    super(path, sectors, readonly);
    this.#file = file;
  }

  async #seek(offset: number): Promise<void> {
    if (this.#pos === offset) return;
    this.#pos = -1;
    await this.#file.seek(offset, 0);
    this.#pos = offset;
  }

  /** Reads from the file itself. */
  async #readRaw(offset: number, dst: Uint8Array): Promise<void> {
    await this.#seek(offset);
    let done = 0;
    try {
      while (done < dst.length) {
        const n = await this.#file.read(dst.subarray(done));
        if (n === null) { // the file shrank under us: what is gone reads as zeros
          dst.fill(0, done);
          this.#pos = -1;
          return;
        }
        done += n;
      }
    } catch (e) {
      this.#pos = -1;
      throw e;
    }
    this.#pos = offset + dst.length;
  }

  /** Bytes of chunk `c` (the last one may be short). */
  #chunkBytes(c: number): number {
    return Math.min(CACHE_CHUNK, this.sectors * SECTOR_SIZE - c * CACHE_CHUNK);
  }

  /** Reads chunk `c` into the cache unless it is there. */
  async #fill(c: number): Promise<void> {
    if (this.#cache.has(c)) return;
    const buf = new Uint8Array(this.#chunkBytes(c));
    await this.#readRaw(c * CACHE_CHUNK, buf);
    this.#cache.put(c, buf);
  }

  /** Queues read-ahead of the chunks after `c` (in queue order, so writes stay ordered). */
  #readAhead(c: number): void {
    for (let k = c + 1; k <= c + READ_AHEAD_CHUNKS; k++) {
      if (k * CACHE_CHUNK >= this.sectors * SECTOR_SIZE) return;
      if (this.#cache.has(k) || this.#fetching.has(k)) continue;
      this.#fetching.add(k);
      const done = () => void this.#fetching.delete(k);
      this.queue.run(() => this.closed ? Promise.resolve() : this.#fill(k)).then(done, done);
    }
  }

  protected async doRead(offset: number, dst: Uint8Array): Promise<void> {
    const sequential = offset === this.#lastEnd;
    this.#lastEnd = offset + dst.length;
    if (!sequential || dst.length > 2 * CACHE_CHUNK) return this.#readRaw(offset, dst);
    const last = Math.floor((offset + dst.length - 1) / CACHE_CHUNK);
    for (let c = Math.floor(offset / CACHE_CHUNK); c <= last; c++) await this.#fill(c);
    if (!this.#cache.read(offset, dst)) await this.#readRaw(offset, dst);
    this.#readAhead(last);
  }

  protected override tryReadNow(offset: number, dst: Uint8Array): boolean {
    if (!this.#cache.read(offset, dst)) return false;
    this.#lastEnd = offset + dst.length;
    this.#readAhead(Math.floor((offset + dst.length - 1) / CACHE_CHUNK));
    return true;
  }

  protected async doWrite(offset: number, src: Uint8Array): Promise<void> {
    await this.#seek(offset);
    let done = 0;
    try {
      while (done < src.length) done += await this.#file.write(src.subarray(done));
    } catch (e) {
      this.#pos = -1;
      this.#cache.clear(); // what reached the file is unknown
      throw e;
    }
    this.#pos = offset + src.length;
    this.#cache.write(offset, src);
  }

  protected doFlush(): Promise<void> {
    return this.readonly ? Promise.resolve() : this.#file.syncData();
  }

  protected async doDiscard(offset: number, length: number): Promise<void> {
    // The file interface has no hole punching: discarded sectors are overwritten with zeros, which
    // keeps the "reads back as zeros" promise. Pieces that already read as zeros (holes
    // of a sparse image, say) are left alone, so a guest discarding its whole disk does
    // not fill a sparse file.
    const step = Math.min(length, DISCARD_STEP);
    const zeros = new Uint8Array(step);
    const cur = new Uint8Array(step);
    for (let done = 0; done < length; done += step) {
      const n = Math.min(step, length - done);
      await this.#readRaw(offset + done, cur.subarray(0, n));
      // Zero only the 4 KiB pieces holding data, one write per run of them.
      let run = -1;
      for (let p = 0; p < n + 4096; p += 4096) {
        const end = Math.min(p, n);
        const dirty = p < n && !isZero(cur.subarray(p, Math.min(p + 4096, n)));
        if (dirty && run < 0) run = p;
        if (!dirty && run >= 0) {
          await this.doWrite(offset + done + run, zeros.subarray(0, end - run));
          run = -1;
        }
      }
    }
  }

  protected doClose(): Promise<void> {
    this.#file.close();
    return Promise.resolve();
  }
}

/** Overlay granularity: one 4 KiB chunk (8 sectors). */
const CHUNK = 4096;

/**
 * A copy-on-write overlay over a read-only base image (`--snapshot`): writes land in
 * memory chunks, reads merge them over the base, the base is never written.
 */
export class SnapshotDiskImage extends BaseImage {
  readonly #base: DiskImage;
  /** Overlay chunks by index (offset / 4096). */
  readonly #chunks = new Map<number, Uint8Array>();

  /**
   * @param base the image read underneath (not written; closed with this one)
   * @param readonly refuse writes to the overlay too
   */
  constructor(base: DiskImage, readonly = false) {
    super(`${base.description} (snapshot)`, base.sectors, readonly);
    this.#base = base;
  }

  /** Number of 4 KiB chunks held in the overlay. */
  get overlayChunks(): number {
    return this.#chunks.size;
  }

  protected async doRead(offset: number, dst: Uint8Array): Promise<void> {
    await this.#base.read(offset / SECTOR_SIZE, dst);
    this.#patch(offset, dst);
  }

  protected override tryReadNow(offset: number, dst: Uint8Array): boolean {
    if (!this.#base.readNow?.(offset / SECTOR_SIZE, dst)) return false;
    this.#patch(offset, dst);
    return true;
  }

  /** Lays the overlay's chunks over base data read into `dst`. */
  #patch(offset: number, dst: Uint8Array): void {
    const end = offset + dst.length;
    if (this.#chunks.size === 0) return;
    for (let c = Math.floor(offset / CHUNK); c * CHUNK < end; c++) {
      const chunk = this.#chunks.get(c);
      if (!chunk) continue;
      const lo = Math.max(offset, c * CHUNK);
      const hi = Math.min(end, (c + 1) * CHUNK);
      dst.set(chunk.subarray(lo - c * CHUNK, hi - c * CHUNK), lo - offset);
    }
  }

  /** The overlay chunk `c`, created from the base when absent. */
  async #chunk(c: number): Promise<Uint8Array> {
    let chunk = this.#chunks.get(c);
    if (chunk) return chunk;
    chunk = new Uint8Array(CHUNK);
    const start = c * CHUNK;
    const avail = Math.min(CHUNK, this.sectors * SECTOR_SIZE - start);
    await this.#base.read(start / SECTOR_SIZE, chunk.subarray(0, avail));
    this.#chunks.set(c, chunk);
    return chunk;
  }

  /** Applies `fill` (src bytes or zeros) to [offset, offset+length) in the overlay. */
  async #apply(offset: number, length: number, src: Uint8Array | null): Promise<void> {
    const end = offset + length;
    for (let c = Math.floor(offset / CHUNK); c * CHUNK < end; c++) {
      const lo = Math.max(offset, c * CHUNK);
      const hi = Math.min(end, (c + 1) * CHUNK);
      const whole = lo === c * CHUNK && hi === (c + 1) * CHUNK;
      let chunk = this.#chunks.get(c);
      if (!chunk) {
        // A chunk written whole needs nothing from the base.
        chunk = whole ? new Uint8Array(CHUNK) : await this.#chunk(c);
        this.#chunks.set(c, chunk);
      }
      if (src) chunk.set(src.subarray(lo - offset, hi - offset), lo - c * CHUNK);
      else chunk.fill(0, lo - c * CHUNK, hi - c * CHUNK);
    }
  }

  protected doWrite(offset: number, src: Uint8Array): Promise<void> {
    return this.#apply(offset, src.length, src);
  }
  protected doFlush(): Promise<void> {
    return Promise.resolve(); // the overlay is volatile by definition
  }
  protected doDiscard(offset: number, length: number): Promise<void> {
    return this.#apply(offset, length, null);
  }
  protected doClose(): Promise<void> {
    this.#chunks.clear();
    return this.#base.close();
  }
}
