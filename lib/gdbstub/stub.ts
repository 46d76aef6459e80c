/**
 * `pvx boot --gdb`: the gdb stub of one domain as the boot loop uses it. It listens
 * before the first machine is built, attaches every machine of the boot (reboots
 * included) to one {@link DomainDebugger}, and either waits for gdb to continue
 * (`--gdb-wait`) or lets the domain run until gdb connects and stops it.
 * @module
 */
import type { Machine, RunResult } from "../hypervisor/mod.ts";
import type { XenStore } from "../hypervisor/mod.ts";
import type { Tracer } from "../hypervisor/mod.ts";
import type { Listen } from "../host_io.ts";
import { type AttachEnd, DomainDebugger } from "./domain_debugger.ts";
import { GdbSession } from "./session.ts";
import { GdbListener, parseGdbEndpoint } from "./transport.ts";
import { TraceRing } from "./trace_ring.ts";

/** Options of {@link GdbStub.start}. */
export interface GdbStubOptions {
  /** `--gdb` value: PORT or unix:PATH. */
  endpoint: string;
  /** The host's sockets (Deno: `listenSocket` of lib/toolstack/listen_socket.ts). */
  listen: Listen;
  /** `--gdb-wait`: stop before the first guest instruction until gdb continues. */
  wait?: boolean;
  /** Where the stub's messages go. */
  log?: (line: string) => void;
}

/** See the module doc. */
export class GdbStub {
  /** The target gdb sees. */
  readonly debugger: DomainDebugger;
  /** The protocol session. */
  readonly session: GdbSession;
  /** The listening socket. */
  readonly listener: GdbListener;
  /** The last hypervisor trace records (monitor trace). */
  readonly trace: TraceRing = new TraceRing();
  readonly #wait: boolean;
  #started = false;

  private constructor(o: GdbStubOptions) {
    const log = o.log ?? ((s: string) => console.error(s));
    this.debugger = new DomainDebugger();
    this.session = new GdbSession(this.debugger, log);
    this.listener = new GdbListener(parseGdbEndpoint(o.endpoint), o.listen, this.session, log);
    this.debugger.hasClient = () => this.listener.connected;
    this.#wait = o.wait ?? false;
    log(
      `pvx: gdb stub on ${this.listener.address}` +
        (this.#wait ? "; the guest waits for gdb to continue" : ""),
    );
  }

  /**
   * Listens for gdb.
   * @throws InputError for a bad endpoint or one that cannot be bound
   */
  static start(o: GdbStubOptions): GdbStub {
    return new GdbStub(o);
  }

  /** The tracer a machine gets (the trace ring, passing records on to `inner`). */
  tracer(inner: Tracer | undefined): Tracer {
    if (inner) this.trace.inner = inner;
    return this.trace;
  }

  /**
   * Puts a machine under the debugger (for a run loop that drives it through
   * {@link DomainDebugger}'s gate); the first one also starts the session's run state.
   */
  attach(m: Machine, store?: XenStore): void {
    this.trace.clock = () => m.host.clock.tsc();
    this.trace.setContext(m.domain.domid, 0);
    this.debugger.attach(m, { store, trace: this.trace });
    if (!this.#started) {
      this.#started = true;
      if (!this.#wait) this.session.resumeFree();
    }
  }

  /**
   * Runs a machine under the debugger until it shuts down (a single-domain boot loop) or
   * `until` (the caller's own condition, checked at slice boundaries) holds.
   * @returns its result ("until" for the caller's condition), or "killed" when gdb killed it
   */
  async run(m: Machine, store?: XenStore, until?: () => boolean): Promise<AttachEnd> {
    this.attach(m, store);
    const dbg = this.debugger;
    return await runGated(dbg, m, until ? () => dbg.until() || until() : dbg.until);
  }

  /** The boot is over: gdb gets its last reply (W or X), the socket closes. */
  async close(): Promise<void> {
    this.debugger.finish();
    if (!this.session.ended) this.session.markEnded();
    await this.listener.close();
  }
}

/**
 * Runs a machine through a debugger's gate until it shuts down or `until` (which must
 * include the gate's own {@link DomainDebugger.until}) ends a run the debugger did not take.
 * While gdb holds the domain paused this only awaits gdb (no CPU).
 * @returns the run's result ("until" when the caller's condition ended it), or "killed"
 */
export async function runGated(
  dbg: DomainDebugger,
  m: Machine,
  until: () => boolean,
): Promise<AttachEnd> {
  for (;;) {
    if (!dbg.runnable) await dbg.whenRunnable();
    if (dbg.killed) return "killed";
    const r: RunResult = await m.run(until);
    if (dbg.afterRun(r)) continue;
    if (dbg.killed) return "killed";
    if (r.reason === "until" || r.reason === "stopped") {
      if (m.domain.isShutdown) continue;
      return r; // the caller's own condition
    }
    await dbg.holdEnd(r);
    return dbg.killed ? "killed" : r;
  }
}
