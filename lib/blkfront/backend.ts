/**
 * blkback: serves one guest vbd from a {@link DiskImage}. The xenbus handshake (features,
 * InitWait, ring-ref/event-channel/protocol, Connected, Closing/Closed), and the ring
 * loop that copies each request out once and hands it to the request engine
 * (request_io.ts). Mirrors the shape of Linux's xen-blkback (xenbus.c + blkback.c).
 * @module
 */
import type { DeviceHost, DomId, EventPort, GrantMapping } from "../hypervisor/mod.ts";
import { BackRing } from "../abi/mod.ts";
import { RING_VBD, TRC_PVX_RING_NOTIFY } from "../abi/mod.ts";
import { NULL_TRACER, type Tracer } from "../hypervisor/mod.ts";
import type { DiskImage } from "./disk_image.ts";
import {
  BLKIF_ABI_X86_32,
  type BlkifAbi,
  blkifAbiByName,
  SECTOR_SIZE,
  VDISK_CDROM,
  VDISK_READONLY,
} from "./protocol.ts";
import { BlkifStats, RequestEngine } from "./request_io.ts";
import {
  readUintNode,
  vbdBackendPath,
  vbdFrontendPath,
  XenbusBackend,
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitialising,
  XenbusStateInitWait,
  XenbusStateUnknown,
} from "./xenbus.ts";

/** Default feature-max-indirect-segments (as Linux blkback's MAX_INDIRECT_SEGMENTS). */
export const BLKBACK_MAX_INDIRECT_SEGMENTS = 256;

/** How to serve one vbd. */
export interface BlkbackOptions {
  /** The frontend's domain. */
  domid: DomId;
  /** The virtual-device number. */
  devid: number;
  /** The vdev name, for messages. */
  vdev?: string;
  /** The storage. */
  image: DiskImage;
  /** Refuse writes even when the image allows them (access=ro). */
  readonly?: boolean;
  /** A cdrom (info gets VDISK_CDROM). */
  cdrom?: boolean;
  /** Offer BLKIF_OP_DISCARD (default: on unless read-only). */
  discard?: boolean;
  /** feature-max-indirect-segments; 0 turns BLKIF_OP_INDIRECT off. Default 256. */
  maxIndirectSegments?: number;
  /** The layout used when the frontend writes no "protocol" node (default x86_32). */
  defaultAbi?: BlkifAbi;
  /** The backend's domain (0). */
  backendDomid?: DomId;
  /** Debug lines (reasons for error responses and disconnects). */
  log?: (msg: string) => void;
  /** Trace sink: TRC_PVX_RING_NOTIFY records for the vbd ring (RING_VBD). */
  tracer?: Tracer;
}

/** The live connection to one frontend: its ring, port and ABI. */
interface Connection {
  readonly ring: BackRing;
  readonly ringMap: GrantMapping;
  readonly port: EventPort;
  readonly abi: BlkifAbi;
}

/**
 * The block backend for one vbd. Construct it after {@link writeVbdLayout}; it publishes
 * its features, goes to InitWait, and connects when the frontend is Initialised.
 * @example
 * ```ts
 * writeVbdLayout(host.store, { domid: 1, devid: 51712, vdev: "xvda", params: path, readonly: false });
 * const be = new Blkback(host, { domid: 1, devid: 51712, image: await openDiskImage(path) });
 * ```
 */
export class Blkback {
  /** The options this backend serves. */
  readonly domid: DomId;
  /** The virtual-device number. */
  readonly devid: number;
  /** The image. */
  readonly image: DiskImage;
  /** Writes are refused. */
  readonly readonly: boolean;
  /** Counters (requests by kind, errors, fatal ring errors). */
  readonly stats: BlkifStats = new BlkifStats();
  /** The xenbus device (paths, states). */
  readonly xenbus: XenbusBackend;
  /** Set when the ring was abandoned as hostile or broken (the reason). */
  fatalReason: string | undefined;

  readonly #host: DeviceHost;
  readonly #opts: BlkbackOptions;
  readonly #engine: RequestEngine;
  readonly #tracer: Tracer;
  #conn: Connection | null = null;
  #halted = false;
  #closed = false;
  #processing = false;
  #closedPending = false;

  /**
   * @param host the hypervisor seam
   * @param opts the vbd
   */
  constructor(host: DeviceHost, opts: BlkbackOptions) {
    this.#host = host;
    this.#opts = opts;
    this.#tracer = opts.tracer ?? NULL_TRACER;
    this.domid = opts.domid;
    this.devid = opts.devid;
    this.image = opts.image;
    this.readonly = (opts.readonly ?? false) || opts.image.readonly || (opts.cdrom ?? false);
    const backendDomid = opts.backendDomid ?? 0;
    const bePath = vbdBackendPath(opts.domid, opts.devid, backendDomid);
    const fePath = host.store.read(`${bePath}/frontend`) ?? vbdFrontendPath(opts.domid, opts.devid);
    this.xenbus = new XenbusBackend(host.store, bePath, fePath);
    const maxIndirect = Math.max(0, Math.min(opts.maxIndirectSegments ?? 256, 4096));
    this.#engine = new RequestEngine(host, {
      domid: opts.domid,
      image: opts.image,
      readonly: this.readonly,
      discard: (opts.discard ?? true) && !this.readonly,
      maxIndirectSegments: maxIndirect,
      stats: this.stats,
      log: (m) => this.#log(m),
    }, (rsp) => this.#respond(rsp));
    this.#publishFeatures();
    this.xenbus.switchState(XenbusStateInitWait);
    this.xenbus.watchFrontend((s) => this.#frontendChanged(s));
  }

  /** The backend's xenbus state. */
  get state(): number {
    return this.xenbus.state;
  }

  /** Requests taken from the ring and not yet answered. */
  get inflight(): number {
    return this.#engine.inflight;
  }

  #log(msg: string): void {
    this.#opts.log?.(`blkback ${this.domid}/${this.#opts.vdev ?? this.devid}: ${msg}`);
  }

  /** The nodes blkback publishes before InitWait (and again on connect). */
  #publishFeatures(): void {
    const xb = this.xenbus;
    const discard = (this.#opts.discard ?? true) && !this.readonly;
    xb.write("feature-flush-cache", 1);
    xb.write("feature-barrier", 1);
    xb.write("feature-discard", discard ? 1 : 0);
    if (discard) {
      xb.write("discard-granularity", SECTOR_SIZE);
      xb.write("discard-alignment", 0);
      xb.write("discard-secure", 0);
    }
    const maxIndirect = this.#engine.maxIndirectSegments;
    if (maxIndirect > 0) xb.write("feature-max-indirect-segments", maxIndirect);
    xb.write("sectors", this.image.sectors);
    xb.write("sector-size", SECTOR_SIZE);
    xb.write("physical-sector-size", SECTOR_SIZE);
    xb.write("info", (this.readonly ? VDISK_READONLY : 0) | (this.#opts.cdrom ? VDISK_CDROM : 0));
    xb.write("mode", this.readonly ? "r" : "w");
  }

  /** frontend_changed of xen-blkback's xenbus.c. */
  #frontendChanged(state: number): void {
    if (this.#closed) return;
    switch (state) {
      case XenbusStateInitialising:
        if (this.state === XenbusStateClosed) { // the frontend restarts: prepare to reconnect
          this.#halted = false;
          this.fatalReason = undefined;
          this.#publishFeatures();
          this.xenbus.switchState(XenbusStateInitWait);
        }
        break;
      case XenbusStateInitialised:
      case XenbusStateConnected:
        if (this.state === XenbusStateConnected || this.#conn || this.#halted) break;
        this.#connect();
        break;
      case XenbusStateClosing:
        this.#disconnect();
        this.xenbus.switchState(XenbusStateClosing);
        break;
      case XenbusStateUnknown:
        // The frontend directory is gone (or not written yet): only a device that was
        // in use closes; a backend waiting for its frontend keeps waiting.
        if (!this.#conn && this.state !== XenbusStateConnected) break;
        this.#closeAfterRelease();
        break;
      case XenbusStateClosed:
        this.#closeAfterRelease();
        break;
      default:
        break;
    }
  }

  /** connect_ring + connect: reads the frontend's transport, maps, binds, Connected. */
  #connect(): void {
    const xb = this.xenbus;
    const fe = xb.frontendPath;
    const store = this.#host.store;
    const queues = readUintNode(store, `${fe}/multi-queue-num-queues`);
    if (queues !== undefined && queues > 1) {
      return this.#fatal(`frontend asked for ${queues} queues; only 1 is offered`);
    }
    const order = readUintNode(store, `${fe}/ring-page-order`) ?? 0;
    if (order !== 0) return this.#fatal(`ring-page-order ${order} is not offered`);
    const ringRef = readUintNode(store, `${fe}/ring-ref`) ??
      readUintNode(store, `${fe}/ring-ref0`);
    const evtchn = readUintNode(store, `${fe}/event-channel`);
    if (ringRef === undefined) return this.#fatal(`reading ${fe}/ring-ref`);
    if (evtchn === undefined) return this.#fatal(`reading ${fe}/event-channel`);
    const proto = store.read(`${fe}/protocol`);
    const abi = blkifAbiByName(proto, this.#opts.defaultAbi ?? BLKIF_ABI_X86_32);
    if (!abi) return this.#fatal(`unknown fe protocol "${proto}"`);
    const ringMap = this.#host.mapGrant(this.domid, ringRef, false);
    if (typeof ringMap === "number") {
      return this.#fatal(`mapping ring-ref ${ringRef} failed (GNTST ${ringMap})`);
    }
    const port = this.#host.bindInterdomain(this.domid, evtchn, () => this.#onEvent());
    if (typeof port === "number") {
      this.#host.unmapGrant(ringMap);
      return this.#fatal(`binding event-channel ${evtchn} failed (errno ${port})`);
    }
    const ring = new BackRing(ringMap.page, abi.entryBytes);
    this.#conn = { ring, ringMap, port, abi };
    this.#engine.attach(abi);
    this.#log(`connected: ring-ref ${ringRef}, event-channel ${evtchn}, protocol ${abi.name}`);
    this.#publishFeatures();
    xb.switchState(XenbusStateConnected);
    this.#kick(); // requests posted before the connect
  }

  /** The event-channel handler (front -> back notification). */
  #onEvent(): void {
    const c = this.#conn;
    if (c && this.#tracer.on) {
      this.#tracer.rec(TRC_PVX_RING_NOTIFY, 4, RING_VBD, this.domid, 0, c.ring.reqProd, 0, 0);
    }
    this.#kick();
  }

  /** Processes the ring (never re-entrantly). */
  #kick(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      this.#processRing();
    } finally {
      this.#processing = false;
    }
  }

  /** __do_block_io_op: take every visible request once, re-arm, repeat. */
  #processRing(): void {
    for (;;) {
      const c = this.#conn;
      if (!c || this.#halted) return;
      const ring = c.ring;
      if (!ring.requestProdValid()) {
        // RING_REQUEST_PROD_OVERFLOW: the frontend claims more than a ring's worth.
        const msg = `frontend provided bogus ring requests (req_prod ${ring.reqProd}, ` +
          `rsp_prod_pvt ${ring.rspProdPvt}): halting ring processing`;
        this.stats.fatal++;
        return this.#fatal(msg);
      }
      let n = ring.unconsumedRequests();
      while (n-- > 0) {
        this.#engine.dispatch(ring.takeRequest(this.#engine.slotBuffer));
        if (this.#halted || this.#conn !== c) return;
      }
      if (!ring.finalCheckForRequests()) return;
    }
  }

  /** Posts one encoded response (called by the engine, at a slice boundary). */
  #respond(rsp: Uint8Array): void {
    const c = this.#conn;
    if (!c) return; // the ring went away while the I/O ran: nobody to answer
    c.ring.putResponse(rsp);
    if (c.ring.pushResponses()) {
      if (this.#tracer.on) {
        this.#tracer.rec(TRC_PVX_RING_NOTIFY, 4, RING_VBD, this.domid, 1, c.ring.rspProd, 0, 0);
      }
      c.port.notify();
    }
    if (this.#halted && this.#engine.inflight === 0) this.#release();
  }

  /** xenbus_dev_fatal: reports, stops serving the ring, moves to Closing. */
  #fatal(msg: string): void {
    this.fatalReason = msg;
    this.#log(msg);
    this.#halted = true;
    this.#disconnect();
    this.xenbus.fatal(msg);
  }

  /** Stops taking requests; releases the ring once in-flight I/O has answered. */
  #disconnect(): void {
    this.#halted = true;
    if (this.#engine.inflight === 0) this.#release();
  }

  /**
   * The frontend closed: Closed only once in-flight requests have answered and the ring
   * is unmapped, so a frontend that frees its pages on seeing Closed never gets a late
   * response written into a reused page.
   */
  #closeAfterRelease(): void {
    this.#closedPending = true;
    this.#disconnect();
    if (!this.#conn) {
      this.#closedPending = false;
      this.xenbus.switchState(XenbusStateClosed);
    }
  }

  /** Unmaps the ring and closes the port. */
  #release(): void {
    const c = this.#conn;
    if (!c) return;
    this.#conn = null;
    this.#engine.detach();
    this.#host.close(c.port);
    this.#host.unmapGrant(c.ringMap);
    this.#log("disconnected");
    if (this.#closedPending && !this.#closed) {
      this.#closedPending = false;
      this.xenbus.switchState(XenbusStateClosed);
      // A frontend that restarted meanwhile (GRUB's hand-off writes Closed then
      // Initialising at once) gets its InitWait now.
      if (this.frontendState() === XenbusStateInitialising) {
        this.#frontendChanged(XenbusStateInitialising);
      }
    }
  }

  /**
   * Tears the device down as the toolstack does at domain destruction: stops watching,
   * disconnects once in-flight I/O completed, state Closed. The image stays open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.xenbus.unwatch();
    this.#halted = true;
    await this.#engine.idle();
    this.#release();
    this.xenbus.switchState(XenbusStateClosed);
  }

  /** Resolves when no request is in flight (for tests and orderly shutdown). */
  idle(): Promise<void> {
    return this.#engine.idle();
  }

  /** Whether the frontend is connected (Initialised/Connected) and being served. */
  get connected(): boolean {
    return this.#conn !== null && !this.#halted && this.state === XenbusStateConnected;
  }

  /** The frontend's state, for diagnostics. */
  frontendState(): number {
    return this.xenbus.frontendState();
  }
}
