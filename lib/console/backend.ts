/**
 * The console backend (xenconsoled's part): moves guest output from the out ring to the
 * {@link ConsoleSink} and host input into the in ring, notified both ways on the
 * console event channel. Output pauses while the sink is over its high-water mark, so a
 * fast guest waits on a full ring instead of growing a buffer, and nothing is lost.
 * @module
 */
import type { DeviceHost, EventPort } from "../hypervisor/mod.ts";
import { InputError } from "../errors.ts";
import {
  XENCONS_IN_PROD,
  XENCONS_IN_SIZE,
  XENCONS_OUT_CONS,
  XENCONS_OUT_PROD,
  XenconsRing,
} from "./protocol.ts";
import type { ConsoleSink } from "./sinks.ts";
import { NULL_TRACER, type Tracer } from "../hypervisor/mod.ts";
import { RING_CONSOLE, TRC_PVX_RING_NOTIFY } from "../abi/mod.ts";

/** Counters of a console backend. */
export interface ConsoleStats {
  /** Bytes moved from the guest to the sink. */
  outBytes: number;
  /** Bytes moved from the sink's input into the guest. */
  inBytes: number;
  /** Times the guest's indices were inconsistent (the ring was resynchronised). */
  badIndices: number;
  /** Times output paused for back-pressure. */
  pauses: number;
}

/** The backend of one domain's PV console ring. */
export class ConsoleBackend {
  /** The guest's domain. */
  readonly domid: number;
  /** Counters. */
  readonly stats: ConsoleStats = { outBytes: 0, inBytes: 0, badIndices: 0, pauses: 0 };
  readonly #host: DeviceHost;
  readonly #ring: XenconsRing;
  readonly #port: EventPort;
  readonly #sink: ConsoleSink;
  readonly #tracer: Tracer;
  #scheduled = false;
  #paused = false;
  #closed = false;

  /**
   * Maps the console frame and binds its event channel.
   * @param host the device host (dom0's view)
   * @param domid the guest
   * @param mfn the ring's machine frame (start_info.console.domU.mfn)
   * @param remotePort the guest's unbound port (start_info.console.domU.evtchn)
   * @param sink where output goes and input comes from
   * @param opts `tracer`: TRC_PVX_RING_NOTIFY records (RING_CONSOLE) both ways
   * @throws InputError when the frame cannot be mapped or the port bound
   * @example
   * ```ts
   * const sink = await openConsole({ logFile: "boot.log" });
   * const con = new ConsoleBackend(host, 1, consoleMfn, consolePort, sink);
   * ```
   */
  constructor(
    host: DeviceHost,
    domid: number,
    mfn: number,
    remotePort: number,
    sink: ConsoleSink,
    opts: { tracer?: Tracer } = {},
  ) {
    this.#host = host;
    this.#tracer = opts.tracer ?? NULL_TRACER;
    this.domid = domid;
    this.#sink = sink;
    const page = host.mapForeignFrame(domid, mfn);
    if (typeof page === "number") {
      throw new InputError(`Cannot map the console ring of domain ${domid} (mfn ${mfn}): ${page}`);
    }
    this.#ring = new XenconsRing(page);
    const port = host.bindInterdomain(domid, remotePort, () => {
      if (this.#tracer.on) {
        this.#tracer.rec(
          TRC_PVX_RING_NOTIFY,
          4,
          RING_CONSOLE,
          domid,
          0,
          this.#ring.idx(XENCONS_OUT_PROD),
          0,
          0,
        );
      }
      this.#schedule();
    });
    if (typeof port === "number") {
      throw new InputError(
        `Cannot bind the console event channel of domain ${domid} (port ${remotePort}): ${port}`,
      );
    }
    this.#port = port;
    sink.onInput(() => this.#schedule());
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    this.#host.defer(() => {
      this.#scheduled = false;
      this.process();
    });
  }

  /**
   * Unbinds the event channel; the sink stays open (the caller owns it). Input still in
   * the ring (the guest never read it) goes back to the sink for the next boot.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const r = this.#ring;
    if (this.#sink.unread && r.inSpace() >= 0) this.#sink.unread(r.guestRead());
    this.#host.close(this.#port);
  }

  /** Whether the guest has read everything put in its input ring. */
  get inputConsumed(): boolean {
    return this.#ring.inSpace() === XENCONS_IN_SIZE;
  }

  /** Moves output and input once; notifies the guest when either ring moved. */
  process(): void {
    if (this.#closed) return;
    const moved = this.#output() + this.#input();
    if (moved > 0) {
      if (this.#tracer.on) {
        const prod = this.#ring.idx(XENCONS_IN_PROD);
        this.#tracer.rec(TRC_PVX_RING_NOTIFY, 4, RING_CONSOLE, this.domid, 1, prod, 0, 0);
      }
      this.#port.notify();
    }
  }

  #output(): number {
    if (this.#paused) return 0;
    const r = this.#ring;
    if (r.outAvailable() < 0) {
      // inconsistent indices from the guest: resynchronise rather than read garbage
      this.stats.badIndices++;
      r.setIdx(XENCONS_OUT_CONS, r.idx(XENCONS_OUT_PROD));
      return 1;
    }
    let moved = 0;
    for (;;) {
      const bytes = r.takeOutput(Infinity);
      if (bytes.length === 0) break;
      moved += bytes.length;
      this.stats.outBytes += bytes.length;
      if (!this.#sink.write(bytes)) {
        this.#paused = true;
        this.stats.pauses++;
        this.#sink.drained().then(() => {
          this.#paused = false;
          this.#schedule();
        });
        break;
      }
    }
    return moved;
  }

  #input(): number {
    const r = this.#ring;
    const space = r.inSpace();
    if (space < 0) {
      this.stats.badIndices++;
      return 0;
    }
    if (space === 0) return 0;
    // line-paced input: the next line once the guest has read the last one
    if (this.#sink.linePaced && space < XENCONS_IN_SIZE) return 0;
    const bytes = this.#sink.takeInput(space);
    const n = r.putInput(bytes);
    this.stats.inBytes += n;
    return n;
  }

  /**
   * Moves everything the guest has written to the sink, waiting out back-pressure (at
   * shutdown, so the guest's last words are not lost).
   */
  async drainOutput(): Promise<void> {
    for (let i = 0; i < 10_000 && !this.#closed; i++) {
      if (this.#ring.outAvailable() <= 0) return;
      if (this.#paused) await this.#sink.drained();
      this.process();
    }
  }

  /** The in ring's producer index (for tests). */
  get inProd(): number {
    return this.#ring.idx(XENCONS_IN_PROD);
  }
}
