/**
 * The generic shared ring of Xen's public `io/ring.h`: a page holding req_prod,
 * req_event, rsp_prod, rsp_event, 48 bytes of padding, then a power-of-two array of
 * request/response slots. The back and front views below keep their private indices
 * (rsp_prod_pvt/req_cons, req_prod_pvt/rsp_cons) and implement the notify-on-produce and
 * event-index rules. Shared by the console, xenstore, blk and net backends and frontends,
 * the recorder and the replayer.
 *
 * Indices are free-running u32 (RING_IDX); all comparisons are modulo 2^32.
 * @module
 */

/** Offset of req_prod in the shared page. */
export const SRING_REQ_PROD = 0;
/** Offset of req_event. */
export const SRING_REQ_EVENT = 4;
/** Offset of rsp_prod. */
export const SRING_RSP_PROD = 8;
/** Offset of rsp_event. */
export const SRING_RSP_EVENT = 12;
/** Offset of the first slot (after the 64-byte header). */
export const SRING_HEADER = 64;

/**
 * Number of slots in a ring of `pageBytes` with `entryBytes` slots (__CONST_RING_SIZE):
 * the largest power of two that fits after the header.
 */
export function ringSize(entryBytes: number, pageBytes = 4096): number {
  const n = Math.floor((pageBytes - SRING_HEADER) / entryBytes);
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n < 1 ? 0 : p;
}

/** SHARED_RING_INIT: zero indices, events at 1, padding cleared. */
export function sharedRingInit(page: Uint8Array): void {
  page.fill(0, 0, SRING_HEADER);
  const dv = new DataView(page.buffer, page.byteOffset, SRING_HEADER);
  dv.setUint32(SRING_REQ_EVENT, 1, true);
  dv.setUint32(SRING_RSP_EVENT, 1, true);
}

/** Shared fields of both ends. */
abstract class RingView {
  /** The shared page. */
  readonly page: Uint8Array;
  /** Little-endian view of the page. */
  readonly dv: DataView;
  /** Bytes per slot (the union of request and response). */
  readonly entryBytes: number;
  /** Number of slots (a power of two). */
  readonly size: number;

  constructor(page: Uint8Array, entryBytes: number) {
    this.page = page;
    this.dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
    this.entryBytes = entryBytes;
    this.size = ringSize(entryBytes, page.byteLength);
  }

  /** Byte offset in the page of slot `idx` (masked). */
  slotOffset(idx: number): number {
    return SRING_HEADER + ((idx & (this.size - 1)) * this.entryBytes);
  }

  /** A copy of slot `idx` (the one fetch of a request: no double fetch). */
  copySlot(idx: number, dst?: Uint8Array): Uint8Array {
    const off = this.slotOffset(idx);
    const out = dst ?? new Uint8Array(this.entryBytes);
    out.set(this.page.subarray(off, off + this.entryBytes));
    return out;
  }

  /** Writes slot `idx`. */
  writeSlot(idx: number, bytes: Uint8Array): void {
    this.page.set(bytes.subarray(0, this.entryBytes), this.slotOffset(idx));
  }

  get reqProd(): number {
    return this.dv.getUint32(SRING_REQ_PROD, true);
  }
  set reqProd(v: number) {
    this.dv.setUint32(SRING_REQ_PROD, v >>> 0, true);
  }
  get reqEvent(): number {
    return this.dv.getUint32(SRING_REQ_EVENT, true);
  }
  set reqEvent(v: number) {
    this.dv.setUint32(SRING_REQ_EVENT, v >>> 0, true);
  }
  get rspProd(): number {
    return this.dv.getUint32(SRING_RSP_PROD, true);
  }
  set rspProd(v: number) {
    this.dv.setUint32(SRING_RSP_PROD, v >>> 0, true);
  }
  get rspEvent(): number {
    return this.dv.getUint32(SRING_RSP_EVENT, true);
  }
  set rspEvent(v: number) {
    this.dv.setUint32(SRING_RSP_EVENT, v >>> 0, true);
  }
}

/** (new - event) < (new - old), modulo 2^32: the notify rule of ring.h. */
function needsNotify(newIdx: number, oldIdx: number, event: number): boolean {
  return ((newIdx - event) >>> 0) < ((newIdx - oldIdx) >>> 0);
}

/** The backend's end: consumes requests, produces responses. */
export class BackRing extends RingView {
  /** Private response producer (rsp_prod_pvt). */
  rspProdPvt = 0;
  /** Private request consumer (req_cons). */
  reqCons = 0;

  /** BACK_RING_ATTACH at index `i` (0 for a fresh ring). */
  constructor(page: Uint8Array, entryBytes: number, i = 0) {
    super(page, entryBytes);
    this.rspProdPvt = i >>> 0;
    this.reqCons = i >>> 0;
  }

  /**
   * RING_HAS_UNCONSUMED_REQUESTS, bounded as Xen's backends bound it: never more than
   * the free response slots, so a producer jump by a hostile frontend cannot make the
   * backend read more than one ring's worth.
   */
  unconsumedRequests(): number {
    const req = (this.reqProd - this.reqCons) >>> 0;
    const rsp = (this.size - ((this.reqCons - this.rspProdPvt) >>> 0)) >>> 0;
    return req < rsp ? req : rsp;
  }

  /**
   * Whether the frontend's req_prod is consistent (RING_REQUEST_PROD_OVERFLOW false):
   * it never claims more than a ring's worth of outstanding requests.
   */
  requestProdValid(): boolean {
    return ((this.reqProd - this.rspProdPvt) >>> 0) <= this.size;
  }

  /** RING_REQUEST_CONS_OVERFLOW for index `cons`. */
  consOverflow(cons: number): boolean {
    return ((cons - this.rspProdPvt) >>> 0) >= this.size;
  }

  /** Takes the next request: a private copy of its slot (one fetch). */
  takeRequest(dst?: Uint8Array): Uint8Array {
    const out = this.copySlot(this.reqCons, dst);
    this.reqCons = (this.reqCons + 1) >>> 0;
    return out;
  }

  /** Places a response at rsp_prod_pvt and advances it (not yet visible). */
  putResponse(bytes: Uint8Array): void {
    this.writeSlot(this.rspProdPvt, bytes);
    this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
  }

  /**
   * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY.
   * @returns whether the frontend must be notified
   */
  pushResponses(): boolean {
    const old = this.rspProd;
    const nw = this.rspProdPvt;
    this.rspProd = nw;
    return needsNotify(nw, old, this.rspEvent);
  }

  /**
   * RING_FINAL_CHECK_FOR_REQUESTS: re-arms req_event and reports whether requests
   * arrived meanwhile.
   */
  finalCheckForRequests(): boolean {
    if (this.unconsumedRequests() > 0) return true;
    this.reqEvent = (this.reqCons + 1) >>> 0;
    return this.unconsumedRequests() > 0;
  }
}

/** The frontend's end: produces requests, consumes responses (tests, bench, replay). */
export class FrontRing extends RingView {
  /** Private request producer (req_prod_pvt). */
  reqProdPvt = 0;
  /** Private response consumer (rsp_cons). */
  rspCons = 0;

  /** FRONT_RING_INIT; `init` also runs SHARED_RING_INIT on the page. */
  constructor(page: Uint8Array, entryBytes: number, init = true) {
    super(page, entryBytes);
    if (init) sharedRingInit(page);
  }

  /** RING_FREE_REQUESTS. */
  freeRequests(): number {
    return this.size - ((this.reqProdPvt - this.rspCons) >>> 0);
  }

  /** Places a request at req_prod_pvt and advances it (not yet visible). */
  putRequest(bytes: Uint8Array): void {
    this.writeSlot(this.reqProdPvt, bytes);
    this.reqProdPvt = (this.reqProdPvt + 1) >>> 0;
  }

  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY. @returns whether to notify the backend */
  pushRequests(): boolean {
    const old = this.reqProd;
    const nw = this.reqProdPvt;
    this.reqProd = nw;
    return needsNotify(nw, old, this.reqEvent);
  }

  /** RING_HAS_UNCONSUMED_RESPONSES. */
  unconsumedResponses(): number {
    return (this.rspProd - this.rspCons) >>> 0;
  }

  /** Takes the next response (a copy). */
  takeResponse(dst?: Uint8Array): Uint8Array {
    const out = this.copySlot(this.rspCons, dst);
    this.rspCons = (this.rspCons + 1) >>> 0;
    return out;
  }

  /** RING_FINAL_CHECK_FOR_RESPONSES. */
  finalCheckForResponses(): boolean {
    if (this.unconsumedResponses() > 0) return true;
    this.rspEvent = (this.rspCons + 1) >>> 0;
    return this.unconsumedResponses() > 0;
  }
}
