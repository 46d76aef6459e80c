/**
 * A domain's gdb stub in a multi-domain boot (xl config key `gdb = "PORT"` or
 * `"unix:PATH"`, `gdb_wait = 1`): each such domain has its own stub and port. The
 * scheduler asks it whether the domain may run, stops a turn when the debugger must take
 * over, and turns a debug stop into a plain yield so the other domains run on while gdb
 * holds this one.
 * @module
 */
import type { Machine, RunResult } from "../hypervisor/mod.ts";
import type { XenStore } from "../hypervisor/mod.ts";
import type { Tracer } from "../hypervisor/mod.ts";
import { GdbStub, runGated } from "../gdbstub/mod.ts";
import { listenSocket } from "./listen_socket.ts";

/** See the module doc. */
export class DomainGdb {
  readonly #stub: GdbStub;

  /**
   * Listens for gdb.
   * @throws InputError for an endpoint that cannot be bound
   */
  constructor(endpoint: string, wait: boolean, log: (line: string) => void) {
    this.#stub = GdbStub.start({ endpoint, listen: listenSocket, wait, log });
  }

  /** The tracer a machine of this domain gets (the stub's ring, passing on to `inner`). */
  tracer(inner: Tracer | undefined): Tracer {
    return this.#stub.tracer(inner);
  }

  /** Puts a new machine of the domain under the debugger. */
  attach(m: Machine, store: XenStore): void {
    this.#stub.attach(m, store);
  }

  /** Whether gdb holds the domain paused (it is not scheduled then). */
  get paused(): boolean {
    return !this.#stub.debugger.runnable;
  }

  /** Resolves when gdb lets the domain run. */
  whenRunnable(): Promise<void> {
    return this.#stub.debugger.whenRunnable();
  }

  /** Whether gdb killed the domain. */
  get killed(): boolean {
    return this.#stub.debugger.killed;
  }

  /** The debugger's part of a turn's stop condition. */
  readonly until = (): boolean => this.#stub.debugger.until();

  /**
   * One scheduled turn: runs the machine until `until` (which includes {@link until});
   * a debug stop is a yield ("until"), a kill is "stopped", a crash is held for gdb.
   */
  async runTurn(m: Machine, until: () => boolean): Promise<RunResult> {
    const dbg = this.#stub.debugger;
    if (dbg.killed) return { reason: "stopped", shutdownCode: -1, instructions: m.instructions };
    const r = await m.run(until);
    if (dbg.afterRun(r)) return { reason: "until", shutdownCode: -1, instructions: r.instructions };
    if (dbg.killed) return { reason: "stopped", shutdownCode: -1, instructions: r.instructions };
    if (r.reason !== "until" && r.reason !== "stopped") await dbg.holdEnd(r);
    return r;
  }

  /** Runs the machine on its own (real time) until it shuts down or gdb kills it. */
  async runFree(m: Machine): Promise<RunResult> {
    const r = await runGated(this.#stub.debugger, m, this.#stub.debugger.until);
    return r === "killed"
      ? { reason: "stopped", shutdownCode: -1, instructions: m.instructions }
      : r;
  }

  /** The domain is over: gdb gets W or X, the socket closes. */
  close(): Promise<void> {
    return this.#stub.close();
  }
}
