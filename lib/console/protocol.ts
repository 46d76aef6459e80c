/**
 * The PV console ring of Xen's public `io/console.h` (xencons_interface): a 1 KiB input
 * ring (host to guest) and a 2 KiB output ring (guest to host) with free-running u32
 * indices. Pure byte-ring helpers over the shared page; no I/O, no hypervisor.
 * @module
 */

/** Bytes of in[] (host to guest). */
export const XENCONS_IN_SIZE = 1024;
/** Bytes of out[] (guest to host). */
export const XENCONS_OUT_SIZE = 2048;
/** Offset of in[]. */
export const XENCONS_IN = 0;
/** Offset of out[]. */
export const XENCONS_OUT = 1024;
/** Offset of in_cons. */
export const XENCONS_IN_CONS = 3072;
/** Offset of in_prod. */
export const XENCONS_IN_PROD = 3076;
/** Offset of out_cons. */
export const XENCONS_OUT_CONS = 3080;
/** Offset of out_prod. */
export const XENCONS_OUT_PROD = 3084;
/** Bytes of the interface (the rest of the page is unused). */
export const XENCONS_INTERFACE_BYTES = 3088;

/** A view of one xencons_interface page with its ring arithmetic. */
export class XenconsRing {
  /** The shared page. */
  readonly page: Uint8Array;
  readonly #dv: DataView;

  /**
   * Wraps a console page.
   * @param page the shared page (at least {@link XENCONS_INTERFACE_BYTES} bytes)
   */
  constructor(page: Uint8Array) {
    if (page.length < XENCONS_INTERFACE_BYTES) throw new RangeError("console page too small");
    this.page = page;
    this.#dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  }

  /** Reads an index field. */
  idx(off: number): number {
    return this.#dv.getUint32(off, true);
  }

  /** Writes an index field. */
  setIdx(off: number, v: number): void {
    this.#dv.setUint32(off, v >>> 0, true);
  }

  /**
   * Bytes the guest has produced in out[] and the host not yet consumed.
   * @returns the count, or -1 when the indices are inconsistent (more than the ring)
   */
  outAvailable(): number {
    const n = (this.idx(XENCONS_OUT_PROD) - this.idx(XENCONS_OUT_CONS)) >>> 0;
    return n > XENCONS_OUT_SIZE ? -1 : n;
  }

  /**
   * Consumes up to `max` bytes of out[] (host side).
   * @returns a copy of the bytes taken (empty when none or the indices are bad)
   */
  takeOutput(max: number): Uint8Array {
    const avail = this.outAvailable();
    const n = Math.min(avail < 0 ? 0 : avail, max);
    const out = new Uint8Array(n);
    let cons = this.idx(XENCONS_OUT_CONS);
    for (let done = 0; done < n;) {
      const off = cons & (XENCONS_OUT_SIZE - 1);
      const k = Math.min(n - done, XENCONS_OUT_SIZE - off);
      out.set(this.page.subarray(XENCONS_OUT + off, XENCONS_OUT + off + k), done);
      done += k;
      cons = (cons + k) >>> 0;
    }
    if (n > 0) this.setIdx(XENCONS_OUT_CONS, cons);
    return out;
  }

  /**
   * Free bytes in in[] (host side).
   * @returns the count, or -1 when the indices are inconsistent
   */
  inSpace(): number {
    const used = (this.idx(XENCONS_IN_PROD) - this.idx(XENCONS_IN_CONS)) >>> 0;
    return used > XENCONS_IN_SIZE ? -1 : XENCONS_IN_SIZE - used;
  }

  /**
   * Produces bytes into in[] (host side), as many as fit.
   * @returns bytes written
   */
  putInput(src: Uint8Array): number {
    const space = this.inSpace();
    const n = Math.min(space < 0 ? 0 : space, src.length);
    let prod = this.idx(XENCONS_IN_PROD);
    for (let done = 0; done < n;) {
      const off = prod & (XENCONS_IN_SIZE - 1);
      const k = Math.min(n - done, XENCONS_IN_SIZE - off);
      this.page.set(src.subarray(done, done + k), XENCONS_IN + off);
      done += k;
      prod = (prod + k) >>> 0;
    }
    if (n > 0) this.setIdx(XENCONS_IN_PROD, prod);
    return n;
  }

  /** Guest side: writes output into out[]. @returns bytes written */
  guestWrite(src: Uint8Array): number {
    const used = (this.idx(XENCONS_OUT_PROD) - this.idx(XENCONS_OUT_CONS)) >>> 0;
    const n = Math.min(Math.max(0, XENCONS_OUT_SIZE - used), src.length);
    let prod = this.idx(XENCONS_OUT_PROD);
    for (let i = 0; i < n; i++) {
      this.page[XENCONS_OUT + (prod & (XENCONS_OUT_SIZE - 1))] = src[i];
      prod = (prod + 1) >>> 0;
    }
    this.setIdx(XENCONS_OUT_PROD, prod);
    return n;
  }

  /** Guest side: reads everything in in[]. */
  guestRead(): Uint8Array {
    let cons = this.idx(XENCONS_IN_CONS);
    const n = Math.min((this.idx(XENCONS_IN_PROD) - cons) >>> 0, XENCONS_IN_SIZE);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.page[XENCONS_IN + (cons & (XENCONS_IN_SIZE - 1))];
      cons = (cons + 1) >>> 0;
    }
    this.setIdx(XENCONS_IN_CONS, cons);
    return out;
  }
}
