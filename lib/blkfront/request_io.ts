/**
 * blkback's request engine: validates one decoded request (operation, segment count and
 * sectors, range, access mode), moves its data through grant copies, runs the image I/O
 * asynchronously and answers at the next slice boundary. Nothing a guest writes throws
 * out of here: every malformed request gets BLKIF_RSP_ERROR or BLKIF_RSP_EOPNOTSUPP.
 * @module
 */
import type { DeviceHost, DomId } from "../hypervisor/mod.ts";
import type { DiskImage } from "./disk_image.ts";
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  BLKIF_SEGMENT_BYTES,
  type BlkifAbi,
  BlkifRequest,
  decodeRequest,
  decodeSegments,
  encodeResponse,
  SECTOR_SIZE,
  SECTORS_PER_PAGE,
  SEGS_PER_INDIRECT_FRAME,
} from "./protocol.ts";

/** Counters of one backend (as blkback's st_* statistics). */
export class BlkifStats {
  /** Read requests. */
  rdReq = 0;
  /** Write requests. */
  wrReq = 0;
  /** Flush requests. */
  flushReq = 0;
  /** Barrier requests. */
  barrierReq = 0;
  /** Discard requests. */
  discardReq = 0;
  /** Indirect requests. */
  indirectReq = 0;
  /** Sectors read. */
  rdSect = 0;
  /** Sectors written. */
  wrSect = 0;
  /** Requests answered BLKIF_RSP_ERROR for a malformed request or bad grant. */
  badReq = 0;
  /** Requests answered BLKIF_RSP_EOPNOTSUPP. */
  notSupp = 0;
  /** Host I/O failures (answered BLKIF_RSP_ERROR). */
  ioErrors = 0;
  /** Rings abandoned as hostile or broken. */
  fatal = 0;
}

/** What the engine needs from its backend. */
export interface EngineConfig {
  /** The frontend's domain (whose grants the segments name). */
  domid: DomId;
  /** The storage. */
  image: DiskImage;
  /** Refuse writes and discards. */
  readonly: boolean;
  /** Serve BLKIF_OP_DISCARD. */
  discard: boolean;
  /** Largest indirect request served; 0: no BLKIF_OP_INDIRECT. */
  maxIndirectSegments: number;
  /** Counters to update. */
  stats: BlkifStats;
  /** Debug lines. */
  log: (msg: string) => void;
}

/** One in-flight request: the private copy, its bounce buffer, its connection epoch. */
class Pending {
  readonly req: BlkifRequest;
  buf: Uint8Array = new Uint8Array(0);
  /** Effective operation (BLKIF_OP_READ or WRITE for data; else the request's op). */
  op = 0;
  /** Segments used (direct or indirect). */
  nseg = 0;
  /** Connection epoch when taken (answers for an older epoch are dropped). */
  epoch = 0;

  constructor(maxSegments: number) {
    this.req = new BlkifRequest(maxSegments);
  }

  /** The bounce buffer, at least `bytes` long (kept and reused). */
  ensure(bytes: number): Uint8Array {
    if (this.buf.length < bytes) this.buf = new Uint8Array(Math.max(bytes, 4096));
    return this.buf.subarray(0, bytes);
  }
}

/**
 * Runs requests for one backend. {@link dispatch} takes the private copy of a ring slot;
 * answers go to the `respond` callback (the backend writes them into the ring).
 */
export class RequestEngine {
  /** The scratch slot the ring copies each request into (the one fetch). */
  readonly slotBuffer = new Uint8Array(112);
  /** Requests taken and not yet answered. */
  inflight = 0;
  /** The largest indirect request served (0: none). */
  readonly maxIndirectSegments: number;

  readonly #host: DeviceHost;
  readonly #cfg: EngineConfig;
  readonly #respond: (rsp: Uint8Array) => void;
  readonly #free: Pending[] = [];
  readonly #rsp = new Uint8Array(16);
  readonly #indirectPage = new Uint8Array(4096);
  #abi: BlkifAbi | null = null;
  #epoch = 0;
  #idleWaiters: (() => void)[] = [];

  /**
   * @param host grant copies and the slice-boundary defer
   * @param cfg the backend's configuration
   * @param respond receives each encoded response (abi.responseBytes are meaningful)
   */
  constructor(host: DeviceHost, cfg: EngineConfig, respond: (rsp: Uint8Array) => void) {
    this.#host = host;
    this.#cfg = cfg;
    this.#respond = respond;
    this.maxIndirectSegments = cfg.maxIndirectSegments;
  }

  /** Starts serving a connection with `abi`. */
  attach(abi: BlkifAbi): void {
    this.#abi = abi;
    this.#epoch++;
  }

  /** Ends the connection: answers still running are dropped. */
  detach(): void {
    this.#abi = null;
    this.#epoch++;
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Handles one request (the private copy of its slot). */
  dispatch(slot: Uint8Array): void {
    const abi = this.#abi;
    if (!abi) return;
    const p = this.#free.pop() ??
      new Pending(Math.max(BLKIF_MAX_SEGMENTS_PER_REQUEST, this.maxIndirectSegments));
    decodeRequest(abi, slot, p.req);
    p.epoch = this.#epoch;
    this.inflight++;
    const st = this.#cfg.stats;
    switch (p.req.operation) {
      case BLKIF_OP_READ:
        st.rdReq++;
        return this.#direct(p, BLKIF_OP_READ, false);
      case BLKIF_OP_WRITE:
        st.wrReq++;
        return this.#direct(p, BLKIF_OP_WRITE, false);
      case BLKIF_OP_WRITE_BARRIER:
        st.barrierReq++;
        return this.#direct(p, BLKIF_OP_WRITE, true);
      case BLKIF_OP_FLUSH_DISKCACHE:
        st.flushReq++;
        return this.#direct(p, BLKIF_OP_WRITE, true);
      case BLKIF_OP_DISCARD:
        return this.#discard(p);
      case BLKIF_OP_INDIRECT:
        return this.#indirect(p);
      default:
        return this.#fail(p, BLKIF_RSP_EOPNOTSUPP, `unknown operation ${p.req.operation}`);
    }
  }

  /** A read/write/flush/barrier whose segments are in the slot. */
  #direct(p: Pending, op: number, flush: boolean): void {
    const n = p.req.nrSegments;
    if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
      return this.#fail(
        p,
        BLKIF_RSP_ERROR,
        `${n} segments (max ${BLKIF_MAX_SEGMENTS_PER_REQUEST})`,
      );
    }
    if (n === 0 && !flush) return this.#fail(p, BLKIF_RSP_ERROR, "read/write with no segment");
    this.#rw(p, op, n, flush);
  }

  /** BLKIF_OP_INDIRECT: fetches the segment pages once, then runs as a read or write. */
  #indirect(p: Pending): void {
    const req = p.req;
    this.#cfg.stats.indirectReq++;
    if (this.maxIndirectSegments === 0) {
      return this.#fail(p, BLKIF_RSP_EOPNOTSUPP, "indirect requests are not offered");
    }
    const op = req.indirectOp;
    if (op !== BLKIF_OP_READ && op !== BLKIF_OP_WRITE) {
      return this.#fail(p, BLKIF_RSP_ERROR, `invalid indirect operation ${op}`);
    }
    const n = req.nrSegments;
    if (n === 0 || n > this.maxIndirectSegments) {
      return this.#fail(
        p,
        BLKIF_RSP_ERROR,
        `${n} indirect segments (max ${this.maxIndirectSegments})`,
      );
    }
    const page = this.#indirectPage;
    for (let done = 0, pg = 0; done < n; pg++) {
      const count = Math.min(SEGS_PER_INDIRECT_FRAME, n - done);
      const dst = page.subarray(0, count * BLKIF_SEGMENT_BYTES);
      const gref = req.indirectGrefs[pg];
      const rc = this.#host.copyFromGrant(this.#cfg.domid, gref, 0, dst);
      if (rc < 0) return this.#fail(p, BLKIF_RSP_ERROR, `indirect gref ${gref}: GNTST ${rc}`);
      decodeSegments(dst, 0, count, req, done);
      done += count;
    }
    if (op === BLKIF_OP_READ) this.#cfg.stats.rdReq++;
    else this.#cfg.stats.wrReq++;
    this.#rw(p, op, n, false);
  }

  /** Validates `n` segments, gathers write data, queues the image I/O. */
  #rw(p: Pending, op: number, n: number, flush: boolean): void {
    const req = p.req;
    const cfg = this.#cfg;
    let sectors = 0;
    for (let i = 0; i < n; i++) {
      const f = req.firstSect[i];
      const l = req.lastSect[i];
      if (f > l || l >= SECTORS_PER_PAGE) {
        return this.#fail(p, BLKIF_RSP_ERROR, `segment ${i}: sectors ${f}..${l} not within a page`);
      }
      sectors += l - f + 1;
    }
    if (op === BLKIF_OP_WRITE && n > 0 && cfg.readonly) {
      return this.#fail(p, BLKIF_RSP_ERROR, "write to a read-only device");
    }
    const start = req.sectorNumber;
    if (n > 0 && (start > cfg.image.sectors || sectors > cfg.image.sectors - start)) {
      return this.#fail(p, BLKIF_RSP_ERROR, `sectors ${start}+${sectors} beyond the disk end`);
    }
    const buf = p.ensure(sectors * SECTOR_SIZE);
    p.op = op;
    p.nseg = n;
    if (op === BLKIF_OP_WRITE) {
      for (let i = 0, pos = 0; i < n; i++) {
        const len = (req.lastSect[i] - req.firstSect[i] + 1) * SECTOR_SIZE;
        const rc = this.#host.copyFromGrant(
          cfg.domid,
          req.grefs[i],
          req.firstSect[i] * SECTOR_SIZE,
          buf.subarray(pos, pos + len),
        );
        if (rc < 0) return this.#fail(p, BLKIF_RSP_ERROR, `gref ${req.grefs[i]}: GNTST ${rc}`);
        pos += len;
      }
      cfg.stats.wrSect += sectors;
    } else {
      cfg.stats.rdSect += sectors;
    }
    if (op === BLKIF_OP_READ && cfg.image.readNow?.(start, buf)) {
      // In memory already (and behind no write): answered in this same slice boundary.
      this.#host.defer(() => this.#complete(p, BLKIF_RSP_OKAY));
      return;
    }
    let io: Promise<unknown>;
    if (n === 0) io = flush ? cfg.image.flush() : Promise.resolve();
    else if (op === BLKIF_OP_READ) io = cfg.image.read(start, buf);
    else if (!flush) io = cfg.image.write(start, buf);
    // Both queued now, in order: the data is on stable storage before the answer.
    else io = Promise.all([cfg.image.write(start, buf), cfg.image.flush()]);
    this.#await(p, io);
  }

  /** BLKIF_OP_DISCARD (blkif_request_discard). */
  #discard(p: Pending): void {
    const req = p.req;
    const cfg = this.#cfg;
    cfg.stats.discardReq++;
    if (!cfg.discard) return this.#fail(p, BLKIF_RSP_EOPNOTSUPP, "discard is not offered");
    const start = req.sectorNumber;
    const count = req.nrSectors;
    if (start > cfg.image.sectors || count > cfg.image.sectors - start) {
      return this.#fail(p, BLKIF_RSP_ERROR, `discard ${start}+${count} beyond the disk end`);
    }
    p.op = BLKIF_OP_DISCARD;
    p.nseg = 0;
    this.#await(p, count === 0 ? Promise.resolve() : cfg.image.discard(start, count));
  }

  /** Answers when `io` settles, at the next slice boundary. */
  #await(p: Pending, io: Promise<unknown>): void {
    io.then(
      () => this.#host.defer(() => this.#complete(p, BLKIF_RSP_OKAY)),
      (e: unknown) =>
        this.#host.defer(() => {
          this.#cfg.stats.ioErrors++;
          this.#cfg.log(`I/O error: ${e instanceof Error ? e.message : String(e)}`);
          this.#complete(p, BLKIF_RSP_ERROR);
        }),
    );
  }

  /** Scatters read data into the granted pages, then answers. */
  #complete(p: Pending, status: number): void {
    if (p.epoch === this.#epoch && status === BLKIF_RSP_OKAY && p.op === BLKIF_OP_READ) {
      const req = p.req;
      for (let i = 0, pos = 0; i < p.nseg; i++) {
        const len = (req.lastSect[i] - req.firstSect[i] + 1) * SECTOR_SIZE;
        const rc = this.#host.copyToGrant(
          this.#cfg.domid,
          req.grefs[i],
          req.firstSect[i] * SECTOR_SIZE,
          p.buf.subarray(pos, pos + len),
        );
        if (rc < 0) {
          this.#cfg.stats.badReq++;
          this.#cfg.log(`gref ${req.grefs[i]}: GNTST ${rc}`);
          status = BLKIF_RSP_ERROR;
          break;
        }
        pos += len;
      }
    }
    this.#finish(p, status);
  }

  /** Answers a request refused before any I/O. */
  #fail(p: Pending, status: number, reason: string): void {
    if (status === BLKIF_RSP_EOPNOTSUPP) this.#cfg.stats.notSupp++;
    else this.#cfg.stats.badReq++;
    this.#cfg.log(reason);
    this.#finish(p, status);
  }

  /** Encodes and posts the response (unless the connection changed), frees the slot. */
  #finish(p: Pending, status: number): void {
    const abi = this.#abi;
    const live = abi !== null && p.epoch === this.#epoch;
    this.inflight--;
    if (live) {
      const req = p.req;
      encodeResponse(abi, this.#rsp, req.idLo, req.idHi, req.responseOperation(), status);
      this.#respond(this.#rsp.subarray(0, abi.responseBytes));
    }
    this.#free.push(p);
    if (this.inflight === 0 && this.#idleWaiters.length > 0) {
      const w = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const fn of w) fn();
    }
  }
}
