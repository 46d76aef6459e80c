/**
 * The host side of the console: the {@link ConsoleSink} seam the console backend and the
 * console_io hypercall write to, with bounded output queueing (back-pressure, no loss),
 * an optional log-file copy, and host input (keyboard, pipe or file) pulled by the
 * backend as the guest makes room. Terminal modes live in terminal.ts.
 * @module
 */
import { ByteQueue } from "./byte_queue.ts";

/** Where guest console output goes and host input comes from. */
export interface ConsoleSink {
  /**
   * Queues guest output (never drops it).
   * @returns false when the backlog is above the high-water mark: callers that can wait
   *   (the ring backend) stop consuming until {@link drained} resolves
   */
  write(bytes: Uint8Array): boolean;
  /** Output bytes queued and not yet written to the host. */
  readonly backlog: number;
  /** Resolves once the backlog is at or below the low-water mark. */
  drained(): Promise<void>;
  /** Takes up to `max` bytes of pending host input; empty when none (never blocks). */
  takeInput(max: number): Uint8Array;
  /** The same as {@link takeInput}: lets the sink serve as the hypervisor's console_io sink. */
  read(max: number): Uint8Array;
  /** Registers the callback run whenever new host input is pending. */
  onInput(cb: () => void): void;
  /**
   * Gives back input a guest never read (it was still in the ring when the domain shut
   * down): the next boot reads it first, so input survives reboots.
   */
  unread?(bytes: Uint8Array): void;
  /** Whether the input has ended (end of file) and every byte of it was taken. */
  readonly inputEnded?: boolean;
  /**
   * Whether input goes to the guest a line at a time, each once the guest has read the
   * last (non-terminal input: a line a reboot interrupts is not lost).
   */
  readonly linePaced?: boolean;
  /**
   * Whether input can still arrive from outside at a time the run does not control (a
   * terminal or a pipe before its end): the machine then paces idle time to the host.
   */
  readonly inputFromOutside?: boolean;
  /** Resolves when the user detaches (Ctrl-] on a raw terminal); never for other inputs. */
  readonly detached: Promise<void>;
  /** Flushes the output, stops reading input and restores the terminal. */
  close(): Promise<void>;
}

/** Something output can be written to (Deno.stdout, a file, a test buffer). */
export interface ByteWriter {
  /** Writes some of `b`. @returns how many bytes were written */
  write(b: Uint8Array): Promise<number>;
}

/** Output queue limits. */
export const HIGH_WATER = 64 * 1024;
/** The backlog at which waiting writers resume. */
export const LOW_WATER = 16 * 1024;

/**
 * An ordered output queue drained to one or more writers (the terminal and the log file),
 * one chunk at a time, so output reaches every writer in the order written.
 */
export class OutputQueue {
  readonly #writers: ByteWriter[];
  #chunks: Uint8Array[] = [];
  #backlog = 0;
  #running: Promise<void> | undefined;
  #waiters: (() => void)[] = [];
  #error: unknown;
  readonly #high: number;
  readonly #low: number;

  /**
   * An empty queue.
   * @param writers every destination
   * @param high high water
   * @param low low water
   */
  constructor(writers: ByteWriter[], high = HIGH_WATER, low = LOW_WATER) {
    this.#writers = writers;
    this.#high = high;
    this.#low = low;
  }

  /** Bytes queued. */
  get backlog(): number {
    return this.#backlog;
  }

  /** The first write error, if a writer failed (later output is discarded then). */
  get error(): unknown {
    return this.#error;
  }

  /** Queues a copy of `bytes`. @returns whether the backlog is at or below high water */
  write(bytes: Uint8Array): boolean {
    if (bytes.length > 0 && this.#error === undefined) {
      this.#chunks.push(bytes.slice());
      this.#backlog += bytes.length;
      this.#running ??= this.#run();
    }
    return this.#backlog <= this.#high;
  }

  /** Resolves once the backlog is at or below low water. */
  drained(): Promise<void> {
    if (this.#backlog <= this.#low) return Promise.resolve();
    return new Promise((r) => this.#waiters.push(r));
  }

  /** Resolves once everything queued has been written (or a writer failed). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #run(): Promise<void> {
    try {
      while (this.#chunks.length > 0) {
        const c = this.#chunks[0];
        for (const w of this.#writers) {
          for (let off = 0; off < c.length;) off += await w.write(c.subarray(off));
        }
        this.#chunks.shift();
        this.#backlog -= c.length;
        if (this.#backlog <= this.#low) this.#wake();
      }
    } catch (e) {
      this.#error = e;
      this.#chunks = [];
      this.#backlog = 0;
      this.#wake();
    } finally {
      this.#running = undefined;
    }
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/** Ctrl-]: the escape key of `xl console`. */
export const ESCAPE_BYTE = 0x1d;

/** Options of an {@link InputPump}. */
export interface InputPumpOptions {
  /** Detach on this byte (raw terminals); -1 for none. */
  escapeByte?: number;
  /** Turn "\n" into "\r" (what a terminal's Enter key sends). */
  lfToCr?: boolean;
  /** Most bytes held before reading pauses. */
  maxBuffered?: number;
}

/**
 * Reads host input in chunks into a bounded buffer, reading the next chunk only when the
 * consumer has taken the last one, so that a guest that reads slowly slows the reader
 * instead of growing a buffer.
 */
export class InputPump {
  readonly #buf = new ByteQueue();
  #cb: () => void = () => {};
  #room: (() => void) | undefined;
  #stopped = false;
  #eof = false;
  #detach!: () => void;
  /** Resolves on the escape byte. */
  readonly detached: Promise<void>;
  /** Resolves when the input ends or stops. */
  readonly done: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #opts: Required<InputPumpOptions>;

  /**
   * Starts reading `input`.
   * @param input the byte stream to read
   * @param opts escape and translation
   */
  constructor(input: ReadableStream<Uint8Array>, opts: InputPumpOptions = {}) {
    this.#opts = { escapeByte: -1, lfToCr: false, maxBuffered: 4096, ...opts };
    this.detached = new Promise((r) => (this.#detach = r));
    this.#reader = input.getReader();
    this.done = this.#loop();
  }

  /** Registers the new-input callback. */
  onInput(cb: () => void): void {
    this.#cb = cb;
    if (this.#buf.length > 0) cb();
  }

  /** Takes up to `max` buffered bytes. */
  take(max: number): Uint8Array {
    const out = this.#buf.take(max);
    if (this.#buf.length < this.#opts.maxBuffered && this.#room) {
      const r = this.#room;
      this.#room = undefined;
      r();
    }
    return out;
  }

  /** Bytes waiting for the guest. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Whether the input reached its end and everything was taken. */
  get ended(): boolean {
    return this.#eof && this.#buf.length === 0;
  }

  /** Whether more input may still be read (not ended, not stopped). */
  get open(): boolean {
    return !this.#eof && !this.#stopped;
  }

  /** Puts `bytes` back in front of the buffered input. */
  unread(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#buf.prepend(bytes);
    this.#cb();
  }

  /** Stops reading (the pending read is cancelled). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#room?.();
    await this.#reader.cancel().catch(() => {});
    await this.done;
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#stopped) {
        if (this.#buf.length >= this.#opts.maxBuffered) {
          await new Promise<void>((r) => (this.#room = r));
          continue;
        }
        const { value, done } = await this.#reader.read();
        if (done) this.#eof = true;
        if (done || this.#stopped) break;
        this.#accept(value);
      }
    } catch {
      // a closed or failing input ends like EOF
      this.#eof = true;
    } finally {
      if (this.#eof) this.#cb();
      try {
        this.#reader.releaseLock();
      } catch {
        // a pending read still holds it
      }
    }
  }

  #accept(chunk: Uint8Array): void {
    let bytes = chunk;
    const esc = this.#opts.escapeByte;
    if (esc >= 0) {
      const i = bytes.indexOf(esc);
      if (i >= 0) {
        bytes = bytes.subarray(0, i);
        this.#stopped = true;
        this.#detach();
      }
    }
    if (this.#opts.lfToCr) bytes = bytes.map((b) => (b === 0x0a ? 0x0d : b));
    if (bytes.length === 0) return;
    this.#buf.append(bytes);
    this.#cb();
  }
}

/** A source of console input: an {@link InputPump} (streams) or a `FileInput` (files). */
export interface ConsoleInput {
  /** Takes up to `max` pending bytes (never blocks). */
  take(max: number): Uint8Array;
  /** Puts bytes back in front. */
  unread(bytes: Uint8Array): void;
  /** Whether the input ended and everything was taken. */
  readonly ended: boolean;
  /** Whether more may still arrive. */
  readonly open: boolean;
  /** Registers the new-input callback (also run once at the end of input). */
  onInput(cb: () => void): void;
  /** Resolves on the escape byte (raw terminals). */
  readonly detached: Promise<void>;
  /** Stops reading and releases the source. */
  stop(): Promise<void>;
}
