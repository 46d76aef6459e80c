/**
 * TLB flushes a paging operation asks of the CPU(s): per vcpu, nothing, a few pages
 * (invlpg), or everything. The hypervisor applies them to each vcpu's TLB after the
 * hypercall and clears them.
 * @module
 */

/** Nothing to flush. */
export const FLUSH_NONE = 0;
/** Flush the pages listed for the vcpu. */
export const FLUSH_PAGES = 1;
/** Flush the vcpu's whole TLB (global entries included). */
export const FLUSH_ALL = 2;

/** Pages remembered per vcpu before a request escalates to {@link FLUSH_ALL}. */
export const FLUSH_MAX_PAGES = 8;

/** Pending TLB flushes of one domain's vcpus. */
export class FlushQueue {
  /** Per vcpu: FLUSH_NONE / FLUSH_PAGES / FLUSH_ALL. */
  readonly kind: Uint8Array;
  /** Per vcpu: how many pages are listed (valid while kind is FLUSH_PAGES). */
  readonly pageCount: Uint8Array;
  /** Per vcpu, FLUSH_MAX_PAGES linear addresses from index vcpu * FLUSH_MAX_PAGES. */
  readonly pages: Uint32Array;

  /**
   * An empty queue.
   * @param vcpus number of vcpus
   */
  constructor(vcpus: number) {
    this.kind = new Uint8Array(vcpus);
    this.pageCount = new Uint8Array(vcpus);
    this.pages = new Uint32Array(vcpus * FLUSH_MAX_PAGES);
  }

  /**
   * Requests a full flush of the vcpus in `mask`.
   * @param mask bit v set for vcpu v
   */
  flushAll(mask: number): void {
    for (let v = 0; v < this.kind.length; v++) {
      if ((mask >>> v) & 1) this.kind[v] = FLUSH_ALL;
    }
  }

  /**
   * Requests an invlpg of `linear` on the vcpus in `mask`.
   * @param mask bit v set for vcpu v
   * @param linear the linear address
   */
  invlpg(mask: number, linear: number): void {
    for (let v = 0; v < this.kind.length; v++) {
      if (!((mask >>> v) & 1) || this.kind[v] === FLUSH_ALL) continue;
      const n = this.kind[v] === FLUSH_PAGES ? this.pageCount[v] : 0;
      if (n === FLUSH_MAX_PAGES) {
        this.kind[v] = FLUSH_ALL;
        continue;
      }
      this.pages[v * FLUSH_MAX_PAGES + n] = linear >>> 0;
      this.pageCount[v] = n + 1;
      this.kind[v] = FLUSH_PAGES;
    }
  }

  /**
   * Forgets what was requested for a vcpu (after the hypervisor applied it).
   * @param vcpu the vcpu
   */
  clear(vcpu: number): void {
    this.kind[vcpu] = FLUSH_NONE;
    this.pageCount[vcpu] = 0;
  }

  /** Mask of all vcpus. */
  get allMask(): number {
    return this.kind.length >= 32 ? -1 : (1 << this.kind.length) - 1;
  }
}
