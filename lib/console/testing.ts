/**
 * Test builders for the console: an in-memory {@link ConsoleSink} with scriptable input
 * and a slow-reader mode, and a guest-side console ring driver on the fake device host.
 * @module
 */
import { FakeDeviceHost, type FakeGuest } from "../hypervisor/mod.ts";
import { ConsoleBackend } from "./backend.ts";
import { XenconsRing } from "./protocol.ts";
import { type ConsoleSink, OutputQueue } from "./sinks.ts";

/** A sink that records output in memory; `hold()` makes it a reader that stops reading. */
export class MemorySink implements ConsoleSink {
  /** Everything written and already "read" by the host. */
  readonly chunks: Uint8Array[] = [];
  #input = new Uint8Array(0);
  #cb: () => void = () => {};
  #held = false;
  #release: (() => void) | undefined;
  readonly #q: OutputQueue;
  readonly detached: Promise<void> = new Promise(() => {});

  /**
   * An empty sink.
   * @param high high water
   * @param low low water
   */
  constructor(high = 8192, low = 2048) {
    this.#q = new OutputQueue(
      [{
        write: async (b) => {
          if (this.#held) await new Promise<void>((r) => (this.#release = r));
          this.chunks.push(b.slice());
          return b.length;
        },
      }],
      high,
      low,
    );
  }

  /** All output so far, as one string. */
  text(): string {
    const n = this.chunks.reduce((a, c) => a + c.length, 0);
    const all = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.length;
    }
    return new TextDecoder().decode(all);
  }

  /** Stops the host side reading output (a stalled terminal). */
  hold(): void {
    this.#held = true;
  }

  /** Resumes reading. */
  release(): void {
    this.#held = false;
    this.#release?.();
    this.#release = undefined;
  }

  /** Queues host input (as if typed). */
  type(s: string | Uint8Array): void {
    const b = typeof s === "string" ? new TextEncoder().encode(s) : s;
    const next = new Uint8Array(this.#input.length + b.length);
    next.set(this.#input);
    next.set(b, this.#input.length);
    this.#input = next;
    this.#cb();
  }

  /** Input not yet taken by the backend. */
  get pendingInput(): number {
    return this.#input.length;
  }

  write(bytes: Uint8Array): boolean {
    return this.#q.write(bytes);
  }
  get backlog(): number {
    return this.#q.backlog;
  }
  drained(): Promise<void> {
    return this.#q.drained();
  }
  takeInput(max: number): Uint8Array {
    const n = Math.min(max, this.#input.length);
    const out = this.#input.slice(0, n);
    this.#input = this.#input.subarray(n);
    return out;
  }
  read(max: number): Uint8Array {
    return this.takeInput(max);
  }
  onInput(cb: () => void): void {
    this.#cb = cb;
  }
  async close(): Promise<void> {
    this.release();
    await this.#q.flush();
  }
}

/** A fake host, one guest, its console ring and the backend, wired up. */
export interface ConsoleRig {
  /** The fake host. */
  host: FakeDeviceHost;
  /** The guest domain. */
  guest: FakeGuest;
  /** The sink. */
  sink: MemorySink;
  /** The backend under test. */
  backend: ConsoleBackend;
  /** The guest's view of the ring. */
  ring: XenconsRing;
  /** The guest's port. */
  port: number;
  /** Events the guest received. */
  guestEvents: () => number;
}

/** Builds a {@link ConsoleRig}. */
export function makeConsoleRig(sink = new MemorySink(), domid = 1): ConsoleRig {
  const host = new FakeDeviceHost(64);
  const guest = host.addGuest(domid);
  const mfn = guest.allocFrame();
  let events = 0;
  const port = guest.allocUnbound(() => events++);
  const backend = new ConsoleBackend(host, domid, mfn, port, sink);
  return {
    host,
    guest,
    sink,
    backend,
    ring: new XenconsRing(guest.frame(mfn)),
    port,
    guestEvents: () => events,
  };
}
