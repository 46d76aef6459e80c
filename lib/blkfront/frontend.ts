/**
 * A TypeScript blkfront: the guest side of a vbd, driving blkback through the xenbus
 * handshake and the shared ring without a CPU (tests, benchmarks, replay). Reads and
 * writes are split into requests of whole pages, direct or indirect.
 * @module
 */
import type { DomId, StoreOps } from "../hypervisor/mod.ts";
import { FrontRing } from "../abi/mod.ts";
import {
  BLKIF_ABI_X86_32,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_OKAY,
  BLKIF_SEGMENT_BYTES,
  type BlkifAbi,
  BlkifRequest,
  type BlkifResponse,
  decodeResponse,
  encodeRequest,
  encodeSegment,
  indirectPagesFor,
  SECTOR_SIZE,
  SECTORS_PER_PAGE,
  VDISK_READONLY,
} from "./protocol.ts";
import {
  readUintNode,
  readXenbusState,
  vbdFrontendPath,
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitWait,
} from "./xenbus.ts";

/** What the frontend needs from its guest (FakeGuest of testing_host.ts fits). */
export interface BlkfrontGuest {
  /** The guest's domain id. */
  readonly domid: DomId;
  /** Allocates one zeroed frame. @returns its mfn */
  allocFrame(): number;
  /** A live view of one of the guest's frames. */
  frame(mfn: number): Uint8Array;
  /** Grants a frame to dom0. @returns the grant reference */
  grant(mfn: number, readonly?: boolean): number;
  /** Ends a grant. @returns false while the backend still maps it */
  endGrant(gref: number): boolean;
  /** EVTCHNOP_alloc_unbound toward dom0. @returns the port */
  allocUnbound(onEvent: () => void): number;
  /** EVTCHNOP_send. */
  notify(port: number): void;
}

/** A request answered with a status other than BLKIF_RSP_OKAY. */
export class BlkIoError extends Error {
  override name = "BlkIoError";
  /** The BLKIF_RSP_* status. */
  readonly status: number;
  /** @param op the operation @param status the status */
  constructor(op: number, status: number) {
    super(`blkif operation ${op} failed with status ${status}`);
    this.status = status;
  }
}

/** Frontend choices. */
export interface BlkfrontOptions {
  /** The virtual-device number. */
  devid: number;
  /** The ABI to speak (and to name in "protocol"). Default x86_32. */
  abi?: BlkifAbi;
  /** Write the "protocol" node (default true). */
  writeProtocol?: boolean;
  /** Segments per request: > 11 uses BLKIF_OP_INDIRECT when offered. Default 32. */
  maxSegments?: number;
  /** How long to wait for each backend state, in ms (default 10000). */
  timeoutMs?: number;
}

/** The pages of one ring slot: data pages and indirect-segment pages, granted once. */
export interface SlotPages {
  /** Data page frames. */
  readonly dataMfn: number[];
  /** Their grant references (writable grants). */
  readonly dataGref: number[];
  /** Indirect-segment page frames. */
  readonly indirectMfn: number[];
  /** Their grant references (read-only grants). */
  readonly indirectGref: number[];
}

interface Inflight {
  resolve: (r: BlkifResponse) => void;
  gen: number;
}

/** The guest side of one vbd. */
export class Blkfront {
  /** The frontend directory. */
  readonly path: string;
  /** The ABI spoken. */
  readonly abi: BlkifAbi;
  /** The ring (exposed so hostile tests can abuse its indices). */
  ring!: FrontRing;
  /** The guest's event-channel port. */
  port = 0;
  /** Disk size in sectors (from the backend). */
  sectors = 0;
  /** The backend refuses writes (info has VDISK_READONLY or mode is "r"). */
  readonly = false;
  /** The backend's feature-max-indirect-segments (0 when absent). */
  maxIndirect = 0;
  /** Segments this frontend puts in one request. */
  segmentsPerRequest = BLKIF_MAX_SEGMENTS_PER_REQUEST;
  /** Responses whose id matched no request in flight. */
  badResponses = 0;

  readonly #guest: BlkfrontGuest;
  readonly #store: StoreOps;
  readonly #opts: BlkfrontOptions;
  #bePath = "";
  #ringMfn = 0;
  #ringGref = 0;
  #slots: SlotPages[] = [];
  #inflight: (Inflight | null)[] = [];
  #free: number[] = [];
  #waiting: ((slot: number) => void)[] = [];
  #gen = 0;
  readonly #req = new BlkifRequest(BLKIF_MAX_SEGMENTS_PER_REQUEST);
  readonly #slotBuf = new Uint8Array(112);

  /**
   * @param guest the guest side (frames, grants, ports)
   * @param store the store (the frontend writes its own directory)
   * @param opts the device
   */
  constructor(guest: BlkfrontGuest, store: StoreOps, opts: BlkfrontOptions) {
    this.#guest = guest;
    this.#store = store;
    this.#opts = opts;
    this.abi = opts.abi ?? BLKIF_ABI_X86_32;
    this.path = vbdFrontendPath(guest.domid, opts.devid);
  }

  /** The backend directory (known after {@link connect} starts). */
  get backendPath(): string {
    return this.#bePath;
  }

  /** Waits until the backend's state satisfies `pred`. */
  #waitBackend(pred: (s: number) => boolean, what: string): Promise<number> {
    const timeout = this.#opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let done = false;
      let unwatch: (() => void) | null = null;
      const timer = setTimeout(() => {
        done = true;
        unwatch?.();
        reject(new Error(`blkfront ${this.path}: backend never reached ${what}`));
      }, timeout);
      const check = () => {
        if (done) return;
        const s = readXenbusState(this.#store, this.#bePath);
        if (!pred(s)) return;
        done = true;
        clearTimeout(timer);
        queueMicrotask(() => unwatch?.());
        resolve(s);
      };
      unwatch = this.#store.watch(`${this.#bePath}/state`, check);
      if (done) unwatch();
    });
  }

  /** Reads the backend's disk description. */
  #readBackendInfo(): void {
    const be = this.#bePath;
    this.sectors = Number(this.#store.read(`${be}/sectors`) ?? "0");
    const info = readUintNode(this.#store, `${be}/info`) ?? 0;
    this.readonly = (info & VDISK_READONLY) !== 0 || this.#store.read(`${be}/mode`) === "r";
    this.maxIndirect = readUintNode(this.#store, `${be}/feature-max-indirect-segments`) ?? 0;
    const want = this.#opts.maxSegments ?? 32;
    this.segmentsPerRequest = this.maxIndirect > 0
      ? Math.max(BLKIF_MAX_SEGMENTS_PER_REQUEST, Math.min(want, this.maxIndirect))
      : BLKIF_MAX_SEGMENTS_PER_REQUEST;
  }

  /** Whether the backend published feature `name` = 1. */
  feature(name: string): boolean {
    return this.#store.read(`${this.#bePath}/feature-${name}`) === "1";
  }

  /**
   * The handshake: waits for InitWait, publishes ring-ref, event-channel and protocol,
   * goes Initialised, waits for Connected, goes Connected.
   * @throws Error when the backend is missing or never connects
   */
  async connect(): Promise<void> {
    const be = this.#store.read(`${this.path}/backend`);
    if (be === undefined) throw new Error(`blkfront ${this.path}: no backend node`);
    this.#bePath = be;
    await this.#waitBackend((s) => s >= XenbusStateInitWait, "InitWait");
    this.#readBackendInfo();
    const g = this.#guest;
    this.#ringMfn = g.allocFrame();
    this.#ringGref = g.grant(this.#ringMfn, false);
    this.ring = new FrontRing(g.frame(this.#ringMfn), this.abi.entryBytes, true);
    this.port = g.allocUnbound(() => this.#onEvent());
    const size = this.ring.size;
    this.#slots = [];
    this.#inflight = new Array(size).fill(null);
    this.#free = [];
    for (let i = size - 1; i >= 0; i--) this.#free.push(i);
    const s = this.#store;
    s.write(`${this.path}/ring-ref`, String(this.#ringGref));
    s.write(`${this.path}/event-channel`, String(this.port));
    if (this.#opts.writeProtocol ?? true) s.write(`${this.path}/protocol`, this.abi.name);
    s.write(`${this.path}/state`, String(XenbusStateInitialised));
    const st = await this.#waitBackend(
      (x) => x === XenbusStateConnected || x >= XenbusStateClosing,
      "Connected",
    );
    if (st !== XenbusStateConnected) {
      throw new Error(`blkfront ${this.path}: backend went to state ${st} instead of Connected`);
    }
    this.#readBackendInfo();
    s.write(`${this.path}/state`, String(XenbusStateConnected));
  }

  /** Closing, then Closed once the backend closed; ends the grants. */
  async disconnect(): Promise<void> {
    const s = this.#store;
    s.write(`${this.path}/state`, String(XenbusStateClosing));
    await this.#waitBackend((x) => x >= XenbusStateClosing, "Closing");
    s.write(`${this.path}/state`, String(XenbusStateClosed));
    await this.#waitBackend((x) => x === XenbusStateClosed, "Closed");
    for (const sl of this.#slots) {
      if (!sl) continue;
      for (const r of sl.dataGref) this.#guest.endGrant(r);
      for (const r of sl.indirectGref) this.#guest.endGrant(r);
    }
    this.#guest.endGrant(this.#ringGref);
  }

  /** The pages of ring slot `slot`, with at least `nseg` data pages. */
  slotPages(slot: number, nseg: number): SlotPages {
    let sp = this.#slots[slot];
    if (!sp) {
      sp = { dataMfn: [], dataGref: [], indirectMfn: [], indirectGref: [] };
      this.#slots[slot] = sp;
    }
    const g = this.#guest;
    while (sp.dataMfn.length < nseg) {
      const mfn = g.allocFrame();
      sp.dataMfn.push(mfn);
      sp.dataGref.push(g.grant(mfn, false));
    }
    const nind = nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST ? indirectPagesFor(nseg) : 0;
    while (sp.indirectMfn.length < nind) {
      const mfn = g.allocFrame();
      sp.indirectMfn.push(mfn);
      sp.indirectGref.push(g.grant(mfn, true));
    }
    return sp;
  }

  /** A free ring slot (waits while all are in flight). */
  #takeSlot(): Promise<number> | number {
    const s = this.#free.pop();
    if (s !== undefined) return s;
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Returns a slot to the pool (or hands it to a waiter). */
  #releaseSlot(slot: number): void {
    const w = this.#waiting.shift();
    if (w) w(slot);
    else this.#free.push(slot);
  }

  /**
   * Posts a request built by `build` in a free slot, with the slot's index as its id.
   * `build` fills the raw slot bytes (any content: hostile tests use this); the id is
   * then set, so answers can be matched. `complete` runs on the answer while the slot's
   * pages are still reserved (copy read data out there).
   * @returns the response
   */
  async submitRaw(
    build: (slotBytes: Uint8Array, pages: SlotPages, slot: number) => void,
    nseg = 0,
    complete?: (rsp: BlkifResponse, pages: SlotPages) => void,
  ): Promise<BlkifResponse> {
    const slot = await this.#takeSlot();
    try {
      const pages = this.slotPages(slot, nseg);
      const bytes = this.#slotBuf;
      bytes.fill(0);
      build(bytes, pages, slot);
      const gen = (this.#gen = (this.#gen + 1) >>> 0);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      dv.setUint32(this.abi.idOff, slot, true);
      dv.setUint32(this.abi.idOff + 4, gen, true);
      const p = new Promise<BlkifResponse>((resolve) => {
        this.#inflight[slot] = { resolve, gen };
      });
      this.ring.putRequest(bytes);
      if (this.ring.pushRequests()) this.#guest.notify(this.port);
      const rsp = await p;
      complete?.(rsp, pages);
      return rsp;
    } finally {
      this.#releaseSlot(slot);
    }
  }

  /** The event handler: consumes responses until the ring is quiet. */
  #onEvent(): void {
    const ring = this.ring;
    const out: BlkifResponse = { idLo: 0, idHi: 0, operation: 0, status: 0 };
    const buf = new Uint8Array(this.abi.entryBytes);
    do {
      while (ring.unconsumedResponses() > 0) {
        ring.takeResponse(buf);
        decodeResponse(this.abi, buf, out);
        const slot = out.idLo;
        const f = slot < this.#inflight.length ? this.#inflight[slot] : null;
        if (!f || f.gen !== out.idHi) {
          this.badResponses++;
          continue;
        }
        this.#inflight[slot] = null;
        f.resolve({ ...out });
      }
    } while (ring.finalCheckForResponses());
  }

  /** Fills `req` and the slot's pages for a data request of `nsect` sectors. */
  #buildData(
    bytes: Uint8Array,
    pages: SlotPages,
    op: number,
    sector: number,
    data: Uint8Array | null,
    nsect: number,
  ): void {
    const g = this.#guest;
    const req = this.#req;
    const nseg = Math.ceil(nsect / SECTORS_PER_PAGE);
    const indirect = nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST;
    if (data) {
      for (let i = 0; i < nseg; i++) {
        g.frame(pages.dataMfn[i]).set(
          data.subarray(i * 4096, Math.min(data.length, (i + 1) * 4096)),
        );
      }
    }
    req.operation = indirect ? BLKIF_OP_INDIRECT : op;
    req.indirectOp = op;
    req.nrSegments = nseg;
    req.handle = this.#opts.devid & 0xffff;
    req.sectorNumber = sector;
    req.indirectGrefs.fill(0);
    for (let i = 0; i < nseg; i++) {
      const last = i === nseg - 1 ? (nsect - 1) % SECTORS_PER_PAGE : SECTORS_PER_PAGE - 1;
      if (!indirect) {
        req.grefs[i] = pages.dataGref[i];
        req.firstSect[i] = 0;
        req.lastSect[i] = last;
      } else {
        const page = g.frame(pages.indirectMfn[i >> 9]);
        encodeSegment(page, (i & 511) * BLKIF_SEGMENT_BYTES, pages.dataGref[i], 0, last);
      }
    }
    if (indirect) {
      for (let pg = 0; pg < indirectPagesFor(nseg); pg++) {
        req.indirectGrefs[pg] = pages.indirectGref[pg];
      }
    }
    encodeRequest(this.abi, req, bytes);
  }

  /** One data request: `buf` is written from, or read into (length: whole sectors). */
  async #request(op: number, sector: number, buf: Uint8Array): Promise<void> {
    const nsect = buf.length / SECTOR_SIZE;
    const nseg = Math.ceil(nsect / SECTORS_PER_PAGE);
    const isRead = op === BLKIF_OP_READ;
    const rsp = await this.submitRaw(
      (bytes, pages) => this.#buildData(bytes, pages, op, sector, isRead ? null : buf, nsect),
      nseg,
      (r, pages) => {
        if (!isRead || r.status !== BLKIF_RSP_OKAY) return;
        const g = this.#guest;
        for (let i = 0; i < nseg; i++) {
          const n = Math.min(4096, buf.length - i * 4096);
          buf.set(g.frame(pages.dataMfn[i]).subarray(0, n), i * 4096);
        }
      },
    );
    if (rsp.status !== BLKIF_RSP_OKAY) throw new BlkIoError(op, rsp.status);
  }

  /** Splits a transfer into requests of at most segmentsPerRequest pages, run together. */
  async #transfer(op: number, sector: number, buf: Uint8Array): Promise<void> {
    if (buf.length % SECTOR_SIZE !== 0 || buf.length === 0) {
      throw new RangeError("blkfront I/O must be a non-zero whole number of sectors");
    }
    const count = buf.length / SECTOR_SIZE;
    const per = this.segmentsPerRequest * SECTORS_PER_PAGE;
    const jobs: Promise<void>[] = [];
    for (let done = 0; done < count; done += per) {
      const n = Math.min(per, count - done);
      jobs.push(
        this.#request(
          op,
          sector + done,
          buf.subarray(done * SECTOR_SIZE, (done + n) * SECTOR_SIZE),
        ),
      );
    }
    await Promise.all(jobs);
  }

  /**
   * Reads `dst.length` bytes (whole sectors) from `sector`.
   * @throws BlkIoError when the backend refuses
   */
  readInto(sector: number, dst: Uint8Array): Promise<void> {
    return this.#transfer(BLKIF_OP_READ, sector, dst);
  }

  /** Reads `count` sectors from `sector`. @returns the data */
  async read(sector: number, count: number): Promise<Uint8Array> {
    const out = new Uint8Array(count * SECTOR_SIZE);
    await this.#transfer(BLKIF_OP_READ, sector, out);
    return out;
  }

  /** Writes `data` (whole sectors) at `sector`. @throws BlkIoError */
  write(sector: number, data: Uint8Array): Promise<void> {
    return this.#transfer(BLKIF_OP_WRITE, sector, data);
  }

  /** BLKIF_OP_FLUSH_DISKCACHE with no data: every completed write is durable after it. */
  async flush(): Promise<void> {
    const rsp = await this.submitRaw((bytes) => {
      const req = this.#req;
      req.operation = BLKIF_OP_FLUSH_DISKCACHE;
      req.nrSegments = 0;
      req.handle = this.#opts.devid & 0xffff;
      req.sectorNumber = 0;
      encodeRequest(this.abi, req, bytes);
    });
    if (rsp.status !== BLKIF_RSP_OKAY) throw new BlkIoError(BLKIF_OP_FLUSH_DISKCACHE, rsp.status);
  }

  /**
   * BLKIF_OP_WRITE_BARRIER carrying `data` (at most 11 pages, whole sectors) at `sector`.
   * @throws BlkIoError
   */
  barrier(sector: number, data: Uint8Array): Promise<void> {
    if (data.length > BLKIF_MAX_SEGMENTS_PER_REQUEST * 4096) {
      return Promise.reject(new RangeError("a barrier carries at most 11 pages"));
    }
    return this.#request(BLKIF_OP_WRITE_BARRIER, sector, data);
  }

  /** BLKIF_OP_DISCARD of `count` sectors from `sector`. @throws BlkIoError */
  async discard(sector: number, count: number): Promise<void> {
    const rsp = await this.submitRaw((bytes) => {
      const req = this.#req;
      req.operation = BLKIF_OP_DISCARD;
      req.flag = 0;
      req.handle = this.#opts.devid & 0xffff;
      req.sectorNumber = sector;
      req.nrSectors = count;
      encodeRequest(this.abi, req, bytes);
    });
    if (rsp.status !== BLKIF_RSP_OKAY) throw new BlkIoError(BLKIF_OP_DISCARD, rsp.status);
  }
}
