/**
 * The standard console of `pvx boot`: stdout (plus an optional `--console-log` copy) for
 * output, and stdin or `--console-input FILE` for input. On a terminal, raw mode with
 * Ctrl-] to detach, and the terminal restored on every way out (close, exit, uncaught
 * error, SIGTERM/SIGHUP/SIGQUIT/SIGINT); on a pipe, bytes pass through in order (line mode).
 * @module
 */
import { checkOutputPath } from "./host_files.ts";
import { InputError } from "../errors.ts";
import {
  type ByteWriter,
  type ConsoleInput,
  type ConsoleSink,
  ESCAPE_BYTE,
  FileInput,
  InputPump,
  OutputQueue,
} from "../console/mod.ts";

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
  readonly #in: ConsoleInput | undefined;
  readonly #restore: () => void;
  readonly #closers: (() => void)[];
  readonly #outside: boolean;
  /** Whether the terminal is in raw mode. */
  readonly raw: boolean;
  /** Whether input goes to the guest a line at a time (input that is not a terminal). */
  readonly linePaced: boolean;
  /** What the input is: "terminal", "file" (a regular file), "stream" (a pipe...), "none". */
  readonly inputKind: InputKind;
  readonly detached: Promise<void>;
  #closed = false;

  /** Use {@link openConsole}. */
  constructor(
    out: OutputQueue,
    input: ConsoleInput | undefined,
    kind: InputKind,
    raw: boolean,
    restore: () => void,
    closers: (() => void)[],
  ) {
    this.#out = out;
    this.#in = input;
    this.inputKind = kind;
    this.raw = raw;
    this.linePaced = input !== undefined && !raw;
    this.#outside = kind === "terminal" || kind === "stream";
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
    if (!this.#in) return new Uint8Array(0);
    const got = this.#in.take(max);
    if (!this.linePaced) return got;
    // one line at a time: the rest waits until the guest has read this one
    const nl = got.findIndex((b) => b === 0x0a || b === 0x0d);
    if (nl < 0 || nl === got.length - 1) return got;
    this.#in.unread(got.subarray(nl + 1));
    return got.slice(0, nl + 1);
  }

  read(max: number): Uint8Array {
    return this.takeInput(max);
  }

  onInput(cb: () => void): void {
    this.#in?.onInput(cb);
  }

  unread(bytes: Uint8Array): void {
    this.#in?.unread(bytes);
  }

  get inputEnded(): boolean {
    return this.#in === undefined || this.#in.ended;
  }

  get inputFromOutside(): boolean {
    return this.#outside && this.#in !== undefined && this.#in.open;
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

/** Where console input comes from. */
export type InputKind = "terminal" | "file" | "stream" | "none";

/**
 * Opens the console for a run (once: it outlives reboots).
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
      checkOutputPath(opts.logFile, "console log");
      const f = await Deno.open(opts.logFile, { write: true, create: true, truncate: true });
      writers.push(f);
      closers.push(() => f.close());
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`Cannot write console log "${opts.logFile}": ${errText(e)}`);
    }
  }
  let input: ConsoleInput | undefined;
  let kind: InputKind = "none";
  let raw = false;
  const lfToCr = opts.lfToCr ?? false;
  if (opts.inputFile !== undefined) {
    try {
      [input, kind] = await openInputFile(opts.inputFile, lfToCr);
    } catch (e) {
      for (const c of closers) c();
      throw e;
    }
  } else if (!opts.noInput) {
    const mode = opts.mode ?? "auto";
    const terminal = stdin.isTerminal();
    raw = mode === "raw" || (mode === "auto" && terminal);
    const stdinFile = opts.stdin === undefined && !terminal && stdinIsRegularFile();
    if (stdinFile && !lfToCr) {
      input = new FileInput(Deno.stdin);
      kind = "file";
    } else {
      input = new InputPump(stdin.readable, {
        escapeByte: raw ? ESCAPE_BYTE : -1,
        lfToCr: !raw && lfToCr,
      });
      kind = terminal ? "terminal" : "stream";
    }
  }
  const restore = raw ? enterRawMode(stdin) : () => {};
  const out = new OutputQueue(writers, opts.highWater, opts.lowWater);
  return new StdioConsole(out, input, kind, raw, restore, closers);
}

/**
 * Opens `--console-input PATH`: a regular file is read synchronously (deterministic
 * runs), a FIFO or device as a stream; a directory or a missing path is an InputError.
 */
async function openInputFile(path: string, lfToCr: boolean): Promise<[ConsoleInput, InputKind]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw new InputError(`Cannot read console input "${path}": ${errText(e)}`);
  }
  if (info.isDirectory) {
    throw new InputError(`Cannot read console input "${path}": it is a directory`);
  }
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    throw new InputError(`Cannot read console input "${path}": ${errText(e)}`);
  }
  if (info.isFile && !lfToCr) return [new FileInput(f, () => f.close()), "file"];
  return [new InputPump(f.readable, { lfToCr }), "stream"];
}

/** Whether stdin is redirected from a regular file (Linux: /proc/self/fd/0). */
function stdinIsRegularFile(): boolean {
  try {
    return Deno.statSync("/proc/self/fd/0").isFile;
  } catch {
    return false;
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
