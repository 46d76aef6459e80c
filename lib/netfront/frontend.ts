/**
 * A TypeScript netfront: the guest side of a vif, driving netback through the xenbus
 * handshake and the TX/RX rings, for tests, benchmarks and the replayer. It works on any
 * {@link GuestSide} (the in-memory fake host's guests implement it).
 * @module
 */
import type { StoreOps } from "../hypervisor/mod.ts";
import { FrontRing } from "../abi/mod.ts";
import { readXenbusState, XenbusStateConnected } from "../abi/mod.ts";
import {
  decodeRxResponse,
  decodeTxResponse,
  encodeRxRequest,
  encodeTxRequest,
  NETRXF_more_data,
  NETTXF_csum_blank,
  NETTXF_more_data,
  RX_SLOT_BYTES,
  TX_SLOT_BYTES,
} from "./protocol.ts";
import { vifPaths } from "./xenbus.ts";

const PAGE = 4096;

/** What a frontend needs from its guest: frames, grants, event channels. */
export interface GuestSide {
  readonly domid: number;
  allocFrame(): number;
  frame(mfn: number): Uint8Array;
  grant(mfn: number, readonly?: boolean, toDom?: number): number;
  allocUnbound(onEvent?: () => void, remoteDom?: number): number;
  notify(port: number): void;
}

/** A TX completion. */
export interface TxResult {
  id: number;
  status: number;
}

/** The guest side of one vif. */
export class Netfront {
  readonly tx: FrontRing;
  readonly rx: FrontRing;
  readonly port: number;
  readonly #g: GuestSide;
  readonly #store: StoreOps;
  readonly #devid: number;
  readonly #txRef: number;
  readonly #rxRef: number;
  /** TX buffer pages: one frame and grant per ring slot (id = slot index). */
  readonly #txBuf: { mfn: number; gref: number }[] = [];
  readonly #rxBuf: { mfn: number; gref: number }[] = [];
  #freeTx: number[] = [];
  #txBusy: Uint8Array;
  #rxPartial: Uint8Array[] = [];
  /** Frames received, in order. */
  readonly received: Uint8Array[] = [];
  /** TX completions, in order. */
  readonly completions: TxResult[] = [];
  /** Notifications the backend sent us. */
  events = 0;

  /**
   * Allocates and grants the rings and buffers and opens the event channel.
   * @param sg advertise feature-sg (multi-slot packets)
   */
  constructor(g: GuestSide, store: StoreOps, devid = 0, readonly sg = true) {
    this.#g = g;
    this.#store = store;
    this.#devid = devid;
    const txMfn = g.allocFrame();
    const rxMfn = g.allocFrame();
    this.tx = new FrontRing(g.frame(txMfn), TX_SLOT_BYTES);
    this.rx = new FrontRing(g.frame(rxMfn), RX_SLOT_BYTES);
    this.#txRef = g.grant(txMfn);
    this.#rxRef = g.grant(rxMfn);
    this.#txBusy = new Uint8Array(this.tx.size);
    for (let i = 0; i < this.tx.size; i++) {
      const mfn = g.allocFrame();
      this.#txBuf.push({ mfn, gref: g.grant(mfn, true) });
      this.#freeTx.push(i);
    }
    for (let i = 0; i < this.rx.size; i++) {
      const mfn = g.allocFrame();
      this.#rxBuf.push({ mfn, gref: g.grant(mfn) });
    }
    this.port = g.allocUnbound(() => {
      this.events++;
      this.poll();
    });
  }

  /** The vif's frontend path. */
  get path(): string {
    return vifPaths(this.#g.domid, this.#devid).frontend;
  }

  /** Publishes ring refs, event channel and features, posts RX buffers, goes Connected. */
  connect(): void {
    const p = this.path;
    const s = this.#store;
    s.write(`${p}/tx-ring-ref`, String(this.#txRef));
    s.write(`${p}/rx-ring-ref`, String(this.#rxRef));
    s.write(`${p}/event-channel`, String(this.port));
    s.write(`${p}/request-rx-copy`, "1");
    s.write(`${p}/feature-rx-notify`, "1");
    s.write(`${p}/feature-sg`, this.sg ? "1" : "0");
    this.postRx(this.rx.size);
    s.write(`${p}/state`, String(XenbusStateConnected));
  }

  /** Whether the backend reports Connected. */
  backendConnected(): boolean {
    const b = this.#store.read(`${this.path}/backend`);
    return b !== undefined &&
      readXenbusState(this.#store, b) === XenbusStateConnected;
  }

  /** Posts up to `n` RX buffers (never more than the ring has free). */
  postRx(n: number): void {
    n = Math.min(n, this.rx.freeRequests());
    for (let i = 0; i < n; i++) {
      const id = this.rx.reqProdPvt & (this.rx.size - 1);
      this.rx.putRequest(encodeRxRequest({ id, gref: this.#rxBuf[id].gref }));
    }
    if (this.rx.pushRequests()) this.#g.notify(this.port);
  }

  /** Free TX slots. */
  get txFree(): number {
    return this.#freeTx.length;
  }

  /**
   * Queues one frame (split over pages when larger than one and sg is on).
   * @returns false when the ring has no room
   */
  send(frame: Uint8Array, opts: { csumBlank?: boolean; notify?: boolean } = {}): boolean {
    const n = Math.max(1, Math.ceil(frame.length / PAGE));
    if (n > this.#freeTx.length || (n > 1 && !this.sg)) return false;
    for (let i = 0; i < n; i++) {
      const id = this.#freeTx.pop()!;
      this.#txBusy[id] = 1;
      const buf = this.#txBuf[id];
      const chunk = frame.subarray(i * PAGE, Math.min(frame.length, (i + 1) * PAGE));
      this.#g.frame(buf.mfn).set(chunk);
      let flags = i < n - 1 ? NETTXF_more_data : 0;
      if (i === 0 && opts.csumBlank) flags |= NETTXF_csum_blank;
      this.tx.putRequest(encodeTxRequest({
        gref: buf.gref,
        offset: 0,
        flags,
        id,
        size: i === 0 ? frame.length : chunk.length,
      }));
    }
    if (opts.notify !== false) this.flush();
    return true;
  }

  /** Pushes queued requests and notifies when the backend asked for it. */
  flush(): void {
    if (this.tx.pushRequests()) this.#g.notify(this.port);
  }

  /** Collects TX completions and received frames; reposts RX buffers. */
  poll(): void {
    do {
      while (this.tx.unconsumedResponses() > 0) {
        const r = decodeTxResponse(this.tx.takeResponse());
        this.completions.push(r);
        if (r.id < this.#txBusy.length && this.#txBusy[r.id]) {
          this.#txBusy[r.id] = 0;
          this.#freeTx.push(r.id);
        }
      }
    } while (this.tx.finalCheckForResponses());
    let got = 0;
    do {
      while (this.rx.unconsumedResponses() > 0) {
        const r = decodeRxResponse(this.rx.takeResponse());
        got++;
        if (r.status < 0 || r.id >= this.#rxBuf.length) {
          this.#rxPartial = [];
          continue;
        }
        const page = this.#g.frame(this.#rxBuf[r.id].mfn);
        this.#rxPartial.push(page.slice(r.offset, r.offset + r.status));
        if (!(r.flags & NETRXF_more_data)) {
          const total = this.#rxPartial.reduce((a, c) => a + c.length, 0);
          const f = new Uint8Array(total);
          let o = 0;
          for (const c of this.#rxPartial) {
            f.set(c, o);
            o += c.length;
          }
          this.received.push(f);
          this.#rxPartial = [];
        }
      }
    } while (this.rx.finalCheckForResponses());
    if (got > 0) this.postRx(got);
  }
}
