/**
 * One call for `pvx boot`: opens the console sink from the console flags and starts the
 * console ring backend; the same sink takes the console_io hypercall's output. Also the
 * flag table, so every front door spells the options the same way.
 * @module
 */
import type { DeviceHost } from "../hypervisor/mod.ts";
import type { Tracer } from "../hypervisor/mod.ts";
import { ConsoleBackend } from "../console/mod.ts";
import { type ConsoleOptions, openConsole, type StdioConsole } from "./terminal.ts";

/** The console and XenStore flags of `pvx boot` (commander-style flags and help). */
export const CONSOLE_CLI_OPTIONS: readonly { flags: string; description: string }[] = [
  {
    flags: "--console-log <file>",
    description: "keep a byte-exact copy of the guest console output in FILE",
  },
  {
    flags: "--console-input <file>",
    description: "read the guest's console input from FILE instead of stdin",
  },
  {
    flags: "--xenstore-socket <path>",
    description: "serve XenStore on a unix socket (XENSTORED_PATH=PATH xenstore-ls ...)",
  },
];

/** Options of {@link attachConsole}. */
export interface ConsoleAttachOptions extends ConsoleOptions {
  /** Ring-notification trace records. */
  tracer?: Tracer;
}

/** What {@link attachConsole} set up. */
export interface AttachedConsole {
  /** The sink (pass it as the hypervisor's console_io sink too). */
  readonly sink: StdioConsole;
  /** The ring backend. */
  readonly backend: ConsoleBackend;
  /** Resolves when the user pressed Ctrl-] on a raw terminal. */
  readonly detached: Promise<void>;
  /** Unbinds the ring, flushes output and restores the terminal. */
  detach(): Promise<void>;
}

/**
 * Opens the console and attaches it to the domain's console ring.
 * @param domid the guest
 * @param mfn start_info.console.domU.mfn
 * @param port start_info.console.domU.evtchn
 * @param opts the console flags (`logFile`, `inputFile`), mode and tracer
 * @throws InputError for an unusable log or input file, or an unmappable ring
 * @example
 * ```ts
 * const con = await attachConsole(host, 1, consoleMfn, consolePort, {
 *   logFile: opts.consoleLog, inputFile: opts.consoleInput,
 * });
 * const exit = await Promise.race([runGuest(), con.detached.then(() => 0)]);
 * await con.detach();
 * ```
 */
export async function attachConsole(
  host: DeviceHost,
  domid: number,
  mfn: number,
  port: number,
  opts: ConsoleAttachOptions = {},
): Promise<AttachedConsole> {
  const sink = await openConsole(opts);
  let backend: ConsoleBackend;
  try {
    backend = new ConsoleBackend(host, domid, mfn, port, sink, { tracer: opts.tracer });
  } catch (e) {
    await sink.close();
    throw e;
  }
  return {
    sink,
    backend,
    detached: sink.detached,
    async detach() {
      // move whatever the guest wrote last before the sink flushes
      await backend.drainOutput();
      backend.close();
      await sink.close();
    },
  };
}
