/**
 * xenstored's end of a guest's xenstore_domain_interface (io/xs_wire.h): 1 KiB request
 * and response byte rings with free-running u32 indices, server_features, the
 * connection/reconnect handshake and the error field, notified on the guest's event
 * channel. Each guest ring is one unprivileged {@link XsConnection}.
 * @module
 */
import type { DeviceHost, EventPort } from "../backend/backend_api.ts";
import { InputError } from "../../errors.ts";
import { XsConnection } from "./connection.ts";
import type { XenStore } from "./store.ts";
import { NULL_TRACER, type Tracer } from "../trace/tracer.ts";
import { RING_XENSTORE, TRC_PVX_RING_NOTIFY } from "../../abi/mod.ts";
import { MessageFramer, XENSTORE_PAYLOAD_MAX, XS_HEADER_BYTES } from "./wire.ts";

/** XENSTORE_RING_SIZE. */
export const XENSTORE_RING_SIZE = 1024;
/** Offset of req[] in the page. */
export const XS_RING_REQ = 0;
/** Offset of rsp[]. */
export const XS_RING_RSP = 1024;
/** Offset of req_cons. */
export const XS_RING_REQ_CONS = 2048;
/** Offset of req_prod. */
export const XS_RING_REQ_PROD = 2052;
/** Offset of rsp_cons. */
export const XS_RING_RSP_CONS = 2056;
/** Offset of rsp_prod. */
export const XS_RING_RSP_PROD = 2060;
/** Offset of server_features. */
export const XS_RING_SERVER_FEATURES = 2064;
/** Offset of connection. */
export const XS_RING_CONNECTION = 2068;
/** Offset of error. */
export const XS_RING_ERROR = 2072;

/** XENSTORE_SERVER_FEATURE_RECONNECTION. */
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
/** XENSTORE_SERVER_FEATURE_ERROR. */
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
/** XENSTORE_CONNECTED. */
export const XENSTORE_CONNECTED = 0;
/** XENSTORE_RECONNECT. */
export const XENSTORE_RECONNECT = 1;
/** XENSTORE_ERROR_NONE. */
export const XENSTORE_ERROR_NONE = 0;
/** XENSTORE_ERROR_COMM. */
export const XENSTORE_ERROR_COMM = 1;
/** XENSTORE_ERROR_RINGIDX. */
export const XENSTORE_ERROR_RINGIDX = 2;
/** XENSTORE_ERROR_PROTO. */
export const XENSTORE_ERROR_PROTO = 3;

/** Stop taking requests while this many reply bytes wait for ring space. */
const OUT_PAUSE_BYTES = 2 * (XS_HEADER_BYTES + XENSTORE_PAYLOAD_MAX);

/** The backend of one domain's xenstore ring. */
export class XenstoreRingBackend {
  /** The guest's domain. */
  readonly domid: number;
  readonly #host: DeviceHost;
  readonly #store: XenStore;
  readonly #page: Uint8Array;
  readonly #dv: DataView;
  readonly #port: EventPort;
  #conn: XsConnection;
  readonly #framer = new MessageFramer();
  #out: Uint8Array[] = [];
  #outOff = 0;
  #pending = 0;
  readonly #tracer: Tracer;
  #scheduled = false;
  #closed = false;
  /** Counters. */
  readonly stats = { requestBytes: 0, responseBytes: 0, reconnects: 0, notifies: 0 };

  /**
   * Maps the ring frame, binds the event channel, and introduces the domain to the store.
   * @param host the device host (dom0's view)
   * @param store the store
   * @param domid the guest
   * @param mfn the ring's machine frame (start_info.store_mfn)
   * @param remotePort the guest's unbound port (start_info.store_evtchn)
   * @param opts `tracer`: TRC_PVX_RING_NOTIFY records (RING_XENSTORE) both ways
   * @throws InputError when the frame cannot be mapped or the port bound
   * @example
   * ```ts
   * const xs = new XenstoreRingBackend(host, store, 1, startInfo.storeMfn, startInfo.storeEvtchn);
   * ```
   */
  constructor(
    host: DeviceHost,
    store: XenStore,
    domid: number,
    mfn: number,
    remotePort: number,
    opts: { tracer?: Tracer } = {},
  ) {
    this.#host = host;
    this.#tracer = opts.tracer ?? NULL_TRACER;
    this.#store = store;
    this.domid = domid;
    const page = host.mapForeignFrame(domid, mfn);
    if (typeof page === "number") {
      throw new InputError(`Cannot map the xenstore ring of domain ${domid} (mfn ${mfn}): ${page}`);
    }
    this.#page = page;
    this.#dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const port = host.bindInterdomain(domid, remotePort, () => {
      if (this.#tracer.on) {
        const prod = this.#dv.getUint32(XS_RING_REQ_PROD, true);
        this.#tracer.rec(TRC_PVX_RING_NOTIFY, 4, RING_XENSTORE, domid, 0, prod, 0, 0);
      }
      this.#schedule();
    });
    if (typeof port === "number") {
      throw new InputError(
        `Cannot bind the xenstore event channel of domain ${domid} (port ${remotePort}): ${port}`,
      );
    }
    this.#port = port;
    this.#conn = this.#newConnection();
    this.#dv.setUint32(
      XS_RING_SERVER_FEATURES,
      XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR,
      true,
    );
    const entry = store.introduceDomain(domid, mfn, remotePort);
    entry.disconnect = () => this.close();
    // requests written before we bound are served at the next slice boundary
    this.#schedule();
  }

  /** The protocol connection (for tests and counters). */
  get connection(): XsConnection {
    return this.#conn;
  }

  /** The error field as the guest sees it (XENSTORE_ERROR_*). */
  get error(): number {
    return this.#dv.getUint32(XS_RING_ERROR, true);
  }

  #newConnection(): XsConnection {
    return new XsConnection(this.#store, this.domid, false, {
      send: (b) => this.#send(b),
      pending: () => this.#pending,
    });
  }

  #send(b: Uint8Array): void {
    if (this.#closed) return;
    this.#out.push(b);
    this.#pending += b.length;
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

  /** Unbinds the event channel and forgets the connection (RELEASE, domain death). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
    this.#host.close(this.#port);
    this.#out = [];
    this.#pending = 0;
  }

  /**
   * Serves the ring: handles a reconnect request, moves replies into rsp[], takes and
   * runs requests from req[], and notifies the guest when anything moved. Safe to call
   * at any time; a guest's bad indices or oversized message set the error field and stop
   * the ring, as xenstored does.
   */
  process(): void {
    if (this.#closed) return;
    if (this.#dv.getUint32(XS_RING_CONNECTION, true) === XENSTORE_RECONNECT) this.#reconnect();
    if (this.error !== XENSTORE_ERROR_NONE) return;
    let moved = false;
    for (;;) {
      const out = this.#writeReplies();
      const inp = this.#pending < OUT_PAUSE_BYTES ? this.#readRequests() : false;
      if (out < 0 || inp === null) break;
      if (out === 0 && !inp) break;
      moved = true;
    }
    if (moved) {
      this.stats.notifies++;
      if (this.#tracer.on) {
        const prod = this.#dv.getUint32(XS_RING_RSP_PROD, true);
        this.#tracer.rec(TRC_PVX_RING_NOTIFY, 4, RING_XENSTORE, this.domid, 1, prod, 0, 0);
      }
      this.#port.notify();
    }
  }

  #fail(code: number): void {
    this.#dv.setUint32(XS_RING_ERROR, code, true);
    this.#store.log(`xenstore: dom${this.domid}: ring error ${code}, ring stopped`);
    this.#port.notify();
  }

  #reconnect(): void {
    this.stats.reconnects++;
    this.#conn.close();
    this.#conn = this.#newConnection();
    this.#framer.reset();
    this.#out = [];
    this.#outOff = 0;
    this.#pending = 0;
    this.#page.fill(0, 0, XS_RING_SERVER_FEATURES);
    this.#dv.setUint32(XS_RING_ERROR, XENSTORE_ERROR_NONE, true);
    this.#dv.setUint32(XS_RING_CONNECTION, XENSTORE_CONNECTED, true);
    this.#port.notify();
  }

  /** @returns bytes written to rsp[], or -1 on a ring-index error */
  #writeReplies(): number {
    let written = 0;
    const cons = this.#dv.getUint32(XS_RING_RSP_CONS, true);
    let prod = this.#dv.getUint32(XS_RING_RSP_PROD, true);
    const used = (prod - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) {
      this.#fail(XENSTORE_ERROR_RINGIDX);
      return -1;
    }
    let space = XENSTORE_RING_SIZE - used;
    while (space > 0 && this.#out.length > 0) {
      const b = this.#out[0];
      const off = prod & (XENSTORE_RING_SIZE - 1);
      const n = Math.min(space, b.length - this.#outOff, XENSTORE_RING_SIZE - off);
      this.#page.set(b.subarray(this.#outOff, this.#outOff + n), XS_RING_RSP + off);
      this.#outOff += n;
      prod = (prod + n) >>> 0;
      space -= n;
      written += n;
      if (this.#outOff === b.length) {
        this.#out.shift();
        this.#outOff = 0;
        this.#pending -= b.length;
      }
    }
    if (written > 0) {
      this.#dv.setUint32(XS_RING_RSP_PROD, prod, true);
      this.stats.responseBytes += written;
    }
    return written;
  }

  /** @returns whether bytes were taken, or null on a ring error */
  #readRequests(): boolean | null {
    let cons = this.#dv.getUint32(XS_RING_REQ_CONS, true);
    const prod = this.#dv.getUint32(XS_RING_REQ_PROD, true);
    let avail = (prod - cons) >>> 0;
    if (avail > XENSTORE_RING_SIZE) {
      this.#fail(XENSTORE_ERROR_RINGIDX);
      return null;
    }
    let took = false;
    while (avail > 0 && this.#pending < OUT_PAUSE_BYTES) {
      const off = cons & (XENSTORE_RING_SIZE - 1);
      const chunk = Math.min(avail, XENSTORE_RING_SIZE - off, this.#framer.wanted());
      const n = this.#framer.push(
        this.#page.subarray(XS_RING_REQ + off, XS_RING_REQ + off + chunk),
      );
      cons = (cons + n) >>> 0;
      avail -= n;
      if (n > 0) took = true;
      this.stats.requestBytes += n;
      const r = this.#framer.next();
      if (r.kind === "oversized") {
        this.#dv.setUint32(XS_RING_REQ_CONS, cons, true);
        this.#fail(XENSTORE_ERROR_PROTO);
        return null;
      }
      if (r.kind === "message") this.#conn.handle(r.msg);
      else if (n === 0) break;
    }
    if (took) this.#dv.setUint32(XS_RING_REQ_CONS, cons, true);
    return took;
  }
}
