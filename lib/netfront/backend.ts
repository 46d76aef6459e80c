/**
 * netback: serves one guest vif. TX requests are copied out of the guest's granted pages
 * (grant copy) into a frame for the virtual switch; frames for the guest are copied into
 * RX buffers the guest posted. Follows Xen's (Linux) netback rules: a malformed packet is
 * answered with NETIF_RSP_ERROR and the loop goes on; ring-index abuse, a packet that
 * crosses a page or claims more slots than exist is fatal for the vif (a clean
 * disconnect, reported once). Nothing a guest writes throws out of here.
 * @module
 */
import type { DeviceHost, EventPort, GrantMapping } from "../hypervisor/mod.ts";
import { BackRing } from "../abi/mod.ts";
import {
  readXenbusState,
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitWait,
} from "../abi/mod.ts";
import type { Tracer } from "../hypervisor/mod.ts";
import { NULL_TRACER } from "../hypervisor/mod.ts";
import { RING_VIF_RX, RING_VIF_TX, TRC_PVX_RING_NOTIFY } from "../abi/mod.ts";
import { completeChecksum } from "./packets.ts";
import {
  decodeExtraInfo,
  decodeRxRequest,
  decodeTxRequest,
  encodeRxResponse,
  encodeTxResponse,
  ETH_HLEN,
  NETIF_RSP_ERROR,
  NETIF_RSP_NULL,
  NETIF_RSP_OKAY,
  NETRXF_data_validated,
  NETRXF_more_data,
  NETTXF_csum_blank,
  NETTXF_extra_info,
  NETTXF_more_data,
  RX_SLOT_BYTES,
  TX_SLOT_BYTES,
  XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO,
  XEN_NETIF_EXTRA_TYPE_MAX,
  XEN_NETIF_EXTRA_TYPE_NONE,
  XEN_NETIF_NR_SLOTS_MIN,
} from "./protocol.ts";
import type { SwitchPort, VirtualSwitch } from "./switch.ts";
import { type VifPaths, vifPaths } from "./xenbus.ts";

const PAGE = 4096;
/** Slots beyond which a packet is fatal rather than merely dropped (Linux's fatal_skb_slots). */
const FATAL_SLOTS = 20;
/** Packets handled per notification before yielding to the CPU loop. */
const BUDGET = 256;

/** Options of {@link Netback}. */
export interface NetbackOptions {
  domid: number;
  devid: number;
  /** Frames queued for the guest before new ones are dropped (default 256). */
  rxQueueMax?: number;
  tracer?: Tracer;
  /** Called once when the vif is disconnected for a fatal frontend error. */
  onFatal?: (reason: string) => void;
}

/** Counters of a vif. */
export interface NetbackStats {
  txPackets: number;
  txBytes: number;
  txErrors: number;
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  notifies: number;
}

/** One guest vif's backend. */
export class Netback implements SwitchPort {
  readonly name: string;
  readonly paths: VifPaths;
  readonly stats: NetbackStats = {
    txPackets: 0,
    txBytes: 0,
    txErrors: 0,
    rxPackets: 0,
    rxBytes: 0,
    rxDropped: 0,
    notifies: 0,
  };
  /** Why the vif was disconnected, if it was. */
  fatal: string | null = null;
  readonly #host: DeviceHost;
  readonly #sw: VirtualSwitch;
  readonly #o: NetbackOptions;
  readonly #tracer: Tracer;
  #port = 0;
  #tx: BackRing | null = null;
  #rx: BackRing | null = null;
  #maps: GrantMapping[] = [];
  #evtTx: EventPort | null = null;
  #evtRx: EventPort | null = null;
  #sg = false;
  #rxQueue: Uint8Array[] = [];
  #scheduled = false;
  #unwatch: (() => void) | null = null;
  readonly #slot = new Uint8Array(TX_SLOT_BYTES);
  readonly #rsp = new Uint8Array(TX_SLOT_BYTES);
  readonly #rxRsp = new Uint8Array(RX_SLOT_BYTES);

  constructor(host: DeviceHost, sw: VirtualSwitch, opts: NetbackOptions) {
    this.#host = host;
    this.#sw = sw;
    this.#o = opts;
    this.#tracer = opts.tracer ?? NULL_TRACER;
    this.paths = vifPaths(opts.domid, opts.devid);
    this.name = `vif${opts.domid}.${opts.devid}`;
  }

  /** Whether the rings are connected. */
  get connected(): boolean {
    return this.#tx !== null;
  }

  /** Publishes the backend features, goes to InitWait and watches the frontend's state. */
  start(): void {
    const s = this.#host.store;
    const b = this.paths.backend;
    s.write(`${b}/feature-sg`, "1");
    s.write(`${b}/feature-gso-tcpv4`, "0");
    s.write(`${b}/feature-rx-copy`, "1");
    s.write(`${b}/feature-rx-flip`, "0");
    s.write(`${b}/feature-split-event-channels`, "1");
    s.write(`${b}/state`, String(XenbusStateInitWait));
    this.#port = this.#sw.attach(this);
    this.#unwatch = s.watch(`${this.paths.frontend}/state`, () => this.#frontendChanged());
  }

  /** Detaches from the switch and drops everything. */
  stop(): void {
    this.#unwatch?.();
    this.#unwatch = null;
    this.#disconnect();
    this.#sw.detach(this.#port);
  }

  #frontendChanged(): void {
    const st = readXenbusState(this.#host.store, this.paths.frontend);
    if ((st === XenbusStateInitialised || st === XenbusStateConnected) && !this.connected) {
      if (this.fatal) return;
      const err = this.#connect();
      if (err) this.#fail(err);
      else this.#host.store.write(`${this.paths.backend}/state`, String(XenbusStateConnected));
    } else if (st === XenbusStateClosing || st === XenbusStateClosed) {
      // As Linux's netback: Closing answers Closing (a frontend shutting down waits for
      // it before it goes Closed), Closed answers Closed.
      this.#disconnect();
      this.#host.store.write(`${this.paths.backend}/state`, String(st));
    }
  }

  #connect(): string | null {
    const s = this.#host.store;
    const f = this.paths.frontend;
    const num = (k: string) => {
      const v = s.read(`${f}/${k}`);
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    };
    const txRef = num("tx-ring-ref");
    const rxRef = num("rx-ring-ref");
    const evt = num("event-channel");
    const evtTx = num("event-channel-tx") ?? evt;
    const evtRx = num("event-channel-rx") ?? evt;
    if (txRef === undefined || rxRef === undefined) {
      return "frontend published no tx-ring-ref/rx-ring-ref";
    }
    if (evtTx === undefined || evtRx === undefined) return "frontend published no event channel";
    if (s.read(`${f}/request-rx-copy`) !== "1") return "frontend does not request rx-copy";
    this.#sg = s.read(`${f}/feature-sg`) === "1";
    const d = this.#o.domid;
    const tx = this.#host.mapGrant(d, txRef, false);
    if (typeof tx === "number") return `cannot map tx ring (grant ${txRef}: status ${tx})`;
    this.#maps.push(tx);
    const rx = this.#host.mapGrant(d, rxRef, false);
    if (typeof rx === "number") {
      this.#disconnect();
      return `cannot map rx ring (grant ${rxRef}: status ${rx})`;
    }
    this.#maps.push(rx);
    const onEvent = () => this.#kick();
    const p1 = this.#host.bindInterdomain(d, evtTx, onEvent);
    if (typeof p1 === "number") {
      this.#disconnect();
      return `cannot bind event channel ${evtTx}: ${p1}`;
    }
    this.#evtTx = p1;
    if (evtRx !== evtTx) {
      const p2 = this.#host.bindInterdomain(d, evtRx, onEvent);
      if (typeof p2 === "number") {
        this.#disconnect();
        return `cannot bind event channel ${evtRx}: ${p2}`;
      }
      this.#evtRx = p2;
    } else this.#evtRx = p1;
    this.#tx = new BackRing(tx.page, TX_SLOT_BYTES);
    this.#rx = new BackRing(rx.page, RX_SLOT_BYTES);
    this.#kick();
    return null;
  }

  #disconnect(): void {
    if (this.#evtTx) this.#host.close(this.#evtTx);
    if (this.#evtRx && this.#evtRx !== this.#evtTx) this.#host.close(this.#evtRx);
    this.#evtTx = this.#evtRx = null;
    for (const m of this.#maps) this.#host.unmapGrant(m);
    this.#maps = [];
    this.#tx = this.#rx = null;
    this.#rxQueue = [];
  }

  #fail(reason: string): void {
    if (this.fatal) return;
    this.fatal = reason;
    this.#disconnect();
    this.#host.store.write(`${this.paths.backend}/state`, String(XenbusStateClosing));
    this.#o.onFatal?.(reason);
  }

  /** A frame from the switch for this guest: queued (bounded) for the RX ring. */
  deliver(frame: Uint8Array): void {
    if (!this.connected || this.#rxQueue.length >= (this.#o.rxQueueMax ?? 256)) {
      this.stats.rxDropped++;
      return;
    }
    this.#rxQueue.push(frame);
    this.#kick();
  }

  #kick(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#host.defer(() => {
      this.#scheduled = false;
      this.#service();
    });
  }

  #service(): void {
    if (!this.#tx || this.fatal) return;
    const more = this.#processTx();
    if (this.#tx && !this.fatal) this.#processRx();
    if (more) this.#kick();
  }

  #txResponse(id: number, status: number): void {
    this.#tx!.putResponse(encodeTxResponse(id, status, this.#rsp));
  }

  /** Handles up to BUDGET packets. @returns whether requests remain */
  #processTx(): boolean {
    const ring = this.#tx!;
    let done = 0;
    for (;;) {
      if (!ring.requestProdValid()) {
        this.#fail(`tx req_prod ${ring.reqProd} is more than a ring ahead of ${ring.rspProdPvt}`);
        return false;
      }
      if (ring.unconsumedRequests() === 0) {
        this.#pushTx();
        if (!ring.finalCheckForRequests()) return false;
        continue;
      }
      if (done++ >= BUDGET) {
        this.#pushTx();
        return true;
      }
      if (!this.#txPacket(ring)) return false;
    }
  }

  #pushTx(): void {
    if (this.#tx!.pushResponses()) this.#notify(RING_VIF_TX, this.#evtTx, this.#tx!.rspProd);
  }

  /** Consumes one packet's slots. @returns false after a fatal error */
  #txPacket(ring: BackRing): boolean {
    const avail = ring.unconsumedRequests();
    const first = decodeTxRequest(ring.takeRequest(this.#slot));
    const ids: number[] = [first.id];
    const extras: number[] = [];
    let error = false;
    let flags = first.flags;
    // extra-info slots
    if (flags & NETTXF_extra_info) {
      let more = true;
      while (more) {
        if (ids.length + extras.length >= avail) {
          this.#fail("missing extra-info slot");
          return false;
        }
        const ex = decodeExtraInfo(ring.takeRequest(this.#slot));
        extras.push(0); // an extra-info slot's response carries NETIF_RSP_NULL, no id
        if (ex.type === XEN_NETIF_EXTRA_TYPE_NONE || ex.type >= XEN_NETIF_EXTRA_TYPE_MAX) {
          this.#fail(`bad extra-info type ${ex.type}`);
          return false;
        }
        // GSO is not offered (feature-gso-tcpv4=0): such a packet is refused, not fatal.
        if (ex.type === XEN_NETIF_EXTRA_TYPE_GSO) error = true;
        more = (ex.flags & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
      }
    }
    // data slots
    const slots = [first];
    while (flags & NETTXF_more_data) {
      if (slots.length + extras.length >= avail) {
        this.#fail(`packet claims more slots than the ${avail} posted`);
        return false;
      }
      if (slots.length >= FATAL_SLOTS) {
        this.#fail(`packet uses more than ${FATAL_SLOTS} slots`);
        return false;
      }
      const r = decodeTxRequest(ring.takeRequest(this.#slot));
      slots.push(r);
      ids.push(r.id);
      flags = r.flags;
    }
    if (slots.length > XEN_NETIF_NR_SLOTS_MIN) error = true;
    // sizes: first.size is the whole packet; later slots carry their own fragment sizes
    let rest = 0;
    for (let i = 1; i < slots.length; i++) rest += slots[i].size;
    const firstLen = first.size - rest;
    for (let i = 0; i < slots.length; i++) {
      const len = i === 0 ? firstLen : slots[i].size;
      if (slots[i].offset + Math.max(len, 0) > PAGE) {
        this.#fail(`tx slot crosses a page (offset ${slots[i].offset}, size ${len})`);
        return false;
      }
    }
    if (first.size < ETH_HLEN || firstLen < 0) error = true;
    let frame: Uint8Array | null = null;
    if (!error) {
      frame = new Uint8Array(first.size);
      let at = 0;
      for (let i = 0; i < slots.length && !error; i++) {
        const len = i === 0 ? firstLen : slots[i].size;
        const st = this.#host.copyFromGrant(
          this.#o.domid,
          slots[i].gref,
          slots[i].offset,
          frame.subarray(at, at + len),
        );
        if (st !== 0) error = true;
        at += len;
      }
    }
    const status = error ? NETIF_RSP_ERROR : NETIF_RSP_OKAY;
    this.#txResponse(ids[0], status);
    for (const id of extras) this.#txResponse(id, NETIF_RSP_NULL);
    for (let i = 1; i < ids.length; i++) this.#txResponse(ids[i], status);
    if (error || !frame) {
      this.stats.txErrors++;
      return true;
    }
    if (first.flags & NETTXF_csum_blank) completeChecksum(frame);
    this.stats.txPackets++;
    this.stats.txBytes += frame.length;
    this.#sw.sendOwned(this.#port, frame);
    return true;
  }

  #processRx(): void {
    const ring = this.#rx!;
    let produced = false;
    while (this.#rxQueue.length > 0) {
      if (!ring.requestProdValid()) {
        this.#fail(`rx req_prod ${ring.reqProd} is more than a ring ahead of ${ring.rspProdPvt}`);
        return;
      }
      const frame = this.#rxQueue[0];
      const need = Math.ceil(frame.length / PAGE);
      if (need > 1 && !this.#sg) {
        this.#rxQueue.shift();
        this.stats.rxDropped++;
        continue;
      }
      if (ring.unconsumedRequests() < need) {
        ring.reqEvent = (ring.reqCons + need) >>> 0; // ask to be told when buffers come
        if (ring.unconsumedRequests() < need) break;
      }
      this.#rxQueue.shift();
      for (let i = 0; i < need; i++) {
        const req = decodeRxRequest(ring.takeRequest(this.#slot.subarray(0, RX_SLOT_BYTES)));
        const chunk = frame.subarray(i * PAGE, Math.min(frame.length, (i + 1) * PAGE));
        const st = this.#host.copyToGrant(this.#o.domid, req.gref, 0, chunk);
        ring.putResponse(encodeRxResponse({
          id: req.id,
          offset: 0,
          flags: (i === 0 ? NETRXF_data_validated : 0) | (i < need - 1 ? NETRXF_more_data : 0),
          status: st === 0 ? chunk.length : NETIF_RSP_ERROR,
        }, this.#rxRsp));
      }
      this.stats.rxPackets++;
      this.stats.rxBytes += frame.length;
      produced = true;
    }
    if (produced && ring.pushResponses()) this.#notify(RING_VIF_RX, this.#evtRx, ring.rspProd);
  }

  #notify(ring: number, p: EventPort | null, prod: number): void {
    if (!p) return;
    this.stats.notifies++;
    if (this.#tracer.on) {
      this.#tracer.rec(TRC_PVX_RING_NOTIFY, 4, ring, this.#o.domid, 1, prod, 0, 0);
    }
    p.notify();
  }
}
