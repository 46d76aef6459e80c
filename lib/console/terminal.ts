/**
 * The standard console of `pvx boot`: stdout (plus an optional `--console-log` copy) for
 * output, and stdin or `--console-input FILE` for input. On a terminal, raw mode with
 * Ctrl-] to detach, and the terminal restored on every way out (close, exit, uncaught
 * error, SIGTERM/SIGHUP/SIGQUIT/SIGINT); on a pipe, bytes pass through in order (line mode).
 * @module
 */
import { InputError } from "../errors.ts";
import { type ByteWriter, type ConsoleSink, ESCAPE_BYTE, InputPump, OutputQueue } from "./sinks.ts";

/** The stdin-like object the console reads (Deno.stdin, or a test double). */
export interface TerminalInput {
  /** The input bytes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Whether it is a terminal. */
  isTerminal(): boolean;
  /** Enters (true) or leaves (false) raw mode. */
  setRaw(mode: boolean): void;
}

/** Options of {@link openConsole}; the boot flags map onto them one to one. */
export interface ConsoleOptions {
  /** `--console-log FILE`: a copy of all output (truncated first). */
  logFile?: string;
  /** `--console-input FILE`: read input from a file instead of stdin. */
  inputFile?: string;
  /** "auto" (default): raw when input is a terminal; "line" never touches the mode. */
  mode?: "auto" | "raw" | "line";
  /** No input at all. */
  noInput?: boolean;
  /** Translate "\n" to "\r" in line-mode input, as a terminal's Enter key sends. */
  lfToCr?: boolean;
  /** Test seam: stdin (default Deno.stdin). */
  stdin?: TerminalInput;
  /** Test seam: stdout (default Deno.stdout). */
  stdout?: ByteWriter;
  /** Test seam: high/low water of the output queue. */
  highWater?: number;
  /** See highWater. */
  lowWater?: number;
}

// SIGINT only arrives from outside (kill -INT): in raw mode Ctrl-C is a byte for the guest
const RESTORE_SIGNALS: Deno.Signal[] = ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGINT"];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

/**
 * Puts a terminal in raw mode and arranges that it is restored on close, on exit, on an
 * uncaught error or rejection, and on a terminating signal (then exits 128+signal).
 * @returns the restore function (idempotent)
 */
export function enterRawMode(stdin: TerminalInput): () => void {
  stdin.setRaw(true);
  let restored = false;
  const handlers = new Map<Deno.Signal, () => void>();
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdin.setRaw(false);
    } catch {
      // the terminal is gone
    }
    globalThis.removeEventListener("unload", restore);
    globalThis.removeEventListener("error", restore);
    globalThis.removeEventListener("unhandledrejection", restore);
    for (const [sig, h] of handlers) {
      try {
        Deno.removeSignalListener(sig, h);
      } catch {
        // not registered
      }
    }
  };
  globalThis.addEventListener("unload", restore);
  globalThis.addEventListener("error", restore);
  globalThis.addEventListener("unhandledrejection", restore);
  for (const sig of RESTORE_SIGNALS) {
    const h = () => {
      restore();
      Deno.exit(128 + (SIGNAL_NUMBERS[sig] ?? 0));
    };
    try {
      Deno.addSignalListener(sig, h);
      handlers.set(sig, h);
    } catch {
      // signals unsupported on this platform
    }
  }
  return restore;
}

/** The console of `pvx boot`: a {@link ConsoleSink} on stdio, files and the terminal. */
export class StdioConsole implements ConsoleSink {
  readonly #out: OutputQueue;
  readonly #in: InputPump | undefined;
  readonly #restore: () => void;
  readonly #closers: (() => void)[];
  /** Whether the terminal is in raw mode. */
  readonly raw: boolean;
  readonly detached: Promise<void>;
  #closed = false;

  /** Use {@link openConsole}. */
  constructor(
    out: OutputQueue,
    input: InputPump | undefined,
    raw: boolean,
    restore: () => void,
    closers: (() => void)[],
  ) {
    this.#out = out;
    this.#in = input;
    this.raw = raw;
    this.#restore = restore;
    this.#closers = closers;
    this.detached = input ? input.detached : new Promise(() => {});
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

  takeInput(max: number): Uint8Array {
    return this.#in ? this.#in.take(max) : new Uint8Array(0);
  }

  read(max: number): Uint8Array {
    return this.takeInput(max);
  }

  onInput(cb: () => void): void {
    this.#in?.onInput(cb);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#out.flush();
      await this.#in?.stop();
    } finally {
      this.#restore();
      for (const c of this.#closers) {
        try {
          c();
        } catch {
          // already closed
        }
      }
    }
  }
}

/**
 * Opens the console for a run.
 * @throws InputError when the log file cannot be created or the input file opened
 * @example
 * ```ts
 * const sink = await openConsole({ logFile: "boot.log" });
 * // ... new ConsoleBackend(host, domid, mfn, port, sink); run the guest ...
 * await sink.close();
 * ```
 */
export async function openConsole(opts: ConsoleOptions = {}): Promise<StdioConsole> {
  const stdin = opts.stdin ?? Deno.stdin;
  const stdout = opts.stdout ?? Deno.stdout;
  const writers: ByteWriter[] = [stdout];
  const closers: (() => void)[] = [];
  if (opts.logFile !== undefined) {
    try {
      const f = await Deno.open(opts.logFile, { write: true, create: true, truncate: true });
      writers.push(f);
      closers.push(() => f.close());
    } catch (e) {
      throw new InputError(`Cannot write console log "${opts.logFile}": ${errText(e)}`);
    }
  }
  let source: ReadableStream<Uint8Array> | undefined;
  let raw = false;
  if (opts.inputFile !== undefined) {
    try {
      source = (await Deno.open(opts.inputFile, { read: true })).readable;
    } catch (e) {
      for (const c of closers) c();
      throw new InputError(`Cannot read console input "${opts.inputFile}": ${errText(e)}`);
    }
  } else if (!opts.noInput) {
    source = stdin.readable;
    const mode = opts.mode ?? "auto";
    raw = mode === "raw" || (mode === "auto" && stdin.isTerminal());
  }
  const restore = raw ? enterRawMode(stdin) : () => {};
  const input = source
    ? new InputPump(source, {
      escapeByte: raw ? ESCAPE_BYTE : -1,
      lfToCr: !raw && (opts.lfToCr ?? false),
    })
    : undefined;
  const out = new OutputQueue(writers, opts.highWater, opts.lowWater);
  return new StdioConsole(out, input, raw, restore, closers);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
