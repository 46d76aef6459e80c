/**
 * Console input from a regular file (`--console-input FILE`, or stdin redirected from a
 * file), read synchronously as the guest makes room: what the guest receives, and when,
 * depends only on the guest, so runs fed from files are deterministic. Reads are bounded
 * (at most what the guest asked for plus one 4 KiB chunk is held).
 * @module
 */
import type { ConsoleInput } from "./sinks.ts";
import { ByteQueue } from "./byte_queue.ts";

/** What {@link FileInput} reads from (Deno.FsFile, Deno.stdin, a test double). */
export interface SyncReader {
  /** Reads into `p`. @returns the bytes read, or null at the end */
  readSync(p: Uint8Array): number | null;
}

const CHUNK = 4096;

/** Synchronous, pull-driven console input. */
export class FileInput implements ConsoleInput {
  readonly #file: SyncReader;
  readonly #close: () => void;
  readonly #buf = new ByteQueue();
  #eof = false;
  #cb: () => void = () => {};
  /** Never resolves: a file has no escape key. */
  readonly detached: Promise<void> = new Promise(() => {});

  /**
   * @param file the reader
   * @param close releases it (default: nothing)
   */
  constructor(file: SyncReader, close: () => void = () => {}) {
    this.#file = file;
    this.#close = close;
  }

  onInput(cb: () => void): void {
    this.#cb = cb;
    cb();
  }

  take(max: number): Uint8Array {
    this.#fill(max);
    return this.#buf.take(max);
  }

  unread(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#buf.prepend(bytes);
    this.#cb();
  }

  get ended(): boolean {
    this.#fill(1);
    return this.#eof && this.#buf.length === 0;
  }

  get open(): boolean {
    return !this.#eof;
  }

  stop(): Promise<void> {
    if (!this.#eof) {
      this.#eof = true;
      try {
        this.#close();
      } catch {
        // already closed
      }
    }
    return Promise.resolve();
  }

  #fill(want: number): void {
    while (!this.#eof && this.#buf.length < want) {
      const chunk = new Uint8Array(Math.min(CHUNK, Math.max(1, want - this.#buf.length)));
      let n: number | null;
      try {
        n = this.#file.readSync(chunk);
      } catch {
        n = null; // an unreadable file ends like EOF
      }
      if (n === null) {
        this.#eof = true;
        try {
          this.#close();
        } catch {
          // already closed
        }
        break;
      }
      this.#buf.append(chunk.subarray(0, n));
    }
  }
}
