/**
 * The page's implementation of the console host I/O: a {@link ConsoleSink} on a terminal
 * widget (xterm.js in the page, a double in tests). Output goes through the CLI's
 * {@link OutputQueue} (back-pressure, nothing dropped), input through the CLI's
 * {@link InputPump} in raw mode, so keys reach the guest exactly as from `pvx boot` on a
 * terminal (Enter is "\r", Backspace 0x7f, arrows as escape sequences) and Ctrl-]
 * detaches.
 * @module
 */
import { type ConsoleSink, ESCAPE_BYTE, InputPump, OutputQueue } from "../../lib/console/sinks.ts";

/** What the page console needs of a terminal widget (xterm.js's Terminal has it). */
export interface TerminalWidget {
  /** Shows bytes; `done` runs once they are parsed. */
  write(data: Uint8Array, done: () => void): void;
  /** Calls `cb` with what each key press sends. */
  onData(cb: (data: string) => void): { dispose(): void };
}

/** A console sink on a terminal widget; `transcript()` keeps a copy of all output. */
export class PageConsole implements ConsoleSink {
  readonly #out: OutputQueue;
  readonly #in: InputPump;
  readonly #feed: ReadableStreamDefaultController<Uint8Array>;
  readonly #sub: { dispose(): void };
  readonly detached: Promise<void>;
  #closed = false;

  /**
   * @param term the widget
   * @param onOutput optional copy of every output chunk (the page's transcript)
   */
  constructor(term: TerminalWidget, onOutput?: (b: Uint8Array) => void) {
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => (ctl = c) });
    this.#feed = ctl;
    this.#in = new InputPump(stream, { escapeByte: ESCAPE_BYTE });
    this.detached = this.#in.detached;
    const enc = new TextEncoder();
    this.#sub = term.onData((s) => {
      if (!this.#closed) this.#feed.enqueue(enc.encode(s));
    });
    this.#out = new OutputQueue([{
      write: (b: Uint8Array) =>
        new Promise<number>((resolve) => {
          onOutput?.(b);
          term.write(b, () => resolve(b.length));
        }),
    }]);
  }

  write(bytes: Uint8Array): boolean {
    return this.#out.write(bytes);
  }

  get backlog(): number {
    return this.#out.backlog;
  }

  drained(): Promise<void> {
    return this.#out.drained();
  }

  /** Keys can come at any time (the machine paces idle time to the host clock). */
  readonly inputFromOutside = true;

  unread(bytes: Uint8Array): void {
    this.#in.unread(bytes);
  }

  takeInput(max: number): Uint8Array {
    return this.#in.take(max);
  }

  read(max: number): Uint8Array {
    return this.takeInput(max);
  }

  onInput(cb: () => void): void {
    this.#in.onInput(cb);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sub.dispose();
    try {
      await this.#out.flush();
    } finally {
      await this.#in.stop();
    }
  }
}
