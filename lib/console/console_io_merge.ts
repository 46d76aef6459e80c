/**
 * One console from two paths: a guest may write the same text with the console_io
 * hypercall (Xen's console) and to its PV console ring (XTF writes every line to both;
 * other guests use console_io only until their ring is up). The merge shows each byte
 * once: console_io output waits until the end of the slice's deferred work, and ring
 * output that repeats it replaces it; whatever the ring did not repeat is shown then, in
 * order.
 * @module
 */
import type { ConsoleSink } from "./sinks.ts";

/** console_io output held at most (bytes) before it is shown regardless. */
const MAX_PENDING = 16 * 1024;

/** The console_io side (the hypervisor's console sink). */
export interface ConsoleIoSink {
  /** console_io output. */
  write(bytes: Uint8Array): void;
  /** CONSOLEIO_read input. */
  read(max: number): Uint8Array;
}

/** Merges console_io and ring output onto one sink. */
export class ConsoleIoMerge {
  /** Give this to the hypervisor (host.console). */
  readonly consoleIo: ConsoleIoSink;
  /** Give this to the ring backend. */
  readonly ring: ConsoleSink;
  readonly #sink: ConsoleSink;
  readonly #defer: (fn: () => void) => void;
  #pending: Uint8Array = new Uint8Array(0);
  #scheduled = false;

  /**
   * @param sink the real console
   * @param defer runs a callback with the slice's deferred work (DeviceHost.defer)
   */
  constructor(sink: ConsoleSink, defer: (fn: () => void) => void) {
    this.#sink = sink;
    this.#defer = defer;
    this.consoleIo = {
      write: (bytes) => this.#consoleIo(bytes),
      read: (max) => sink.takeInput(max),
    };
    const write = (bytes: Uint8Array) => this.#ringWrite(bytes);
    this.ring = {
      write,
      get backlog() {
        return sink.backlog;
      },
      drained: () => sink.drained(),
      takeInput: (max) => sink.takeInput(max),
      read: (max) => sink.takeInput(max),
      onInput: (cb) => sink.onInput(cb),
      unread: (bytes) => sink.unread?.(bytes),
      get inputEnded() {
        return sink.inputEnded;
      },
      get linePaced() {
        return sink.linePaced;
      },
      get inputFromOutside() {
        return sink.inputFromOutside;
      },
      detached: sink.detached,
      close: () => sink.close(),
    };
  }

  /** Shows console_io output still held. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const p = this.#pending;
    this.#pending = new Uint8Array(0);
    this.#sink.write(p);
  }

  #consoleIo(bytes: Uint8Array): void {
    const next = new Uint8Array(this.#pending.length + bytes.length);
    next.set(this.#pending);
    next.set(bytes, this.#pending.length);
    this.#pending = next;
    if (this.#pending.length > MAX_PENDING) this.flush();
    if (this.#scheduled) return;
    this.#scheduled = true;
    // twice deferred: after the ring backend's turn in the same round of deferred work
    this.#defer(() =>
      this.#defer(() => {
        this.#scheduled = false;
        this.flush();
      })
    );
  }

  #ringWrite(bytes: Uint8Array): boolean {
    const p = this.#pending;
    if (p.length > 0) {
      const n = Math.min(p.length, bytes.length);
      let k = 0;
      while (k < n && p[k] === bytes[k]) k++;
      if (k === n) this.#pending = p.subarray(k); // the ring repeats it: show it once
      else this.flush();
    }
    return this.#sink.write(bytes);
  }
}
