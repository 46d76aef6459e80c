/**
 * The software TLB for 64-bit linear addresses: a direct-mapped hash of the page number
 * given as two 32-bit halves (no BigInt), one table per access kind (read, write, fetch)
 * and privilege (supervisor, user) as in tlb.ts, so that permissions, NX and the dirty bit
 * are checked by the walker on the first access of each kind. All six tables live in one
 * Int32Array `e` of 4-int slots: [page tag | 1, high half, machine page base, unused]
 * (tag 0 = empty, so a fresh table needs no fill). A conflicting fill replaces the slot.
 * Flushes clear only the slots recorded as filled (CR3 loads are frequent in a kernel).
 *
 * The hit path (lib/cpu/long/mem64.ts spells it out inline):
 * ```ts
 * const i = tableBase(kind, user) + slotOf(lo, hi) * 4;
 * if (e[i] === ((lo & -4096) | 1) && e[i + 1] === hi) machine = e[i + 2] + (lo & 4095);
 * ```
 * @module
 */

/** log2 of the slots per table. */
export const TLB64_BITS = 14;
const SLOTS = 1 << TLB64_BITS;
/** Slot index mask. */
export const TLB64_MASK = SLOTS - 1;
/** Ints per table (4 per slot). */
export const TLB64_TABLE = SLOTS * 4;
/** Multiplier mixing the high half into the slot index (Knuth's golden ratio). */
export const TLB64_HASH = 0x9e3779b1 | 0;
/** Shift of the mixed high half (keeps its top TLB64_BITS bits). */
export const TLB64_SHIFT = 32 - TLB64_BITS;

const FILLED_CAP = 8192;

/** The slot (0 .. 2^TLB64_BITS - 1) of 64-bit linear page hi:lo. */
export function slotOf(lo: number, hi: number): number {
  return ((lo >>> 12) ^ (Math.imul(hi, TLB64_HASH) >>> TLB64_SHIFT)) & TLB64_MASK;
}

/** The offset in {@link Tlb64.e} of table `kind * 2 + user`. */
export function tableBase(kind: number, user: number): number {
  return (kind * 2 + user) * TLB64_TABLE;
}

/** Linear page -> machine page for the six (kind, privilege) pairs, 64-bit keys. */
export class Tlb64 {
  /** The six tables of 4-int slots (see the module comment). */
  readonly e: Int32Array = new Int32Array(6 * TLB64_TABLE);
  /** Bumped by every flush: a cached translation outside the TLB is valid while it holds. */
  epoch = 0;
  private readonly filled = new Int32Array(FILLED_CAP);
  private nFilled = 0;
  private overflow = false;

  /**
   * Looks a translation up.
   * @param t kind * 2 + user
   * @returns the machine address of linear hi:lo, or -1 on a miss
   */
  lookup(t: number, lo: number, hi: number): number {
    const i = t * TLB64_TABLE + slotOf(lo, hi) * 4;
    const e = this.e;
    if (e[i] !== ((lo & -4096) | 1) || e[i + 1] !== (hi | 0)) return -1;
    return e[i + 2] + (lo & 4095);
  }

  /**
   * Records a translation of linear page hi:lo to machine page base `mpage`.
   * @param t kind * 2 + user
   */
  fill(t: number, lo: number, hi: number, mpage: number): void {
    const i = t * TLB64_TABLE + slotOf(lo, hi) * 4;
    const e = this.e;
    e[i] = (lo & -4096) | 1;
    e[i + 1] = hi | 0;
    e[i + 2] = mpage;
    if (this.nFilled < FILLED_CAP) this.filled[this.nFilled++] = i;
    else this.overflow = true;
  }

  /** Whether anything was filled since the last full flush. */
  get empty(): boolean {
    return this.nFilled === 0 && !this.overflow;
  }

  /** Drops every entry. */
  flushAll(): void {
    this.epoch++;
    if (this.nFilled === 0 && !this.overflow) return;
    const e = this.e;
    if (this.overflow) e.fill(0);
    else {
      const f = this.filled;
      for (let k = 0; k < this.nFilled; k++) e[f[k]] = 0;
    }
    this.nFilled = 0;
    this.overflow = false;
  }

  /** Drops every entry of one access kind (both privileges). */
  flushKind(kind: number): void {
    this.epoch++;
    const lo = kind * 2 * TLB64_TABLE, hi = lo + 2 * TLB64_TABLE;
    const e = this.e;
    if (this.overflow) {
      e.fill(0, lo, hi);
      return;
    }
    const f = this.filled;
    for (let k = 0; k < this.nFilled; k++) {
      const i = f[k];
      if (i >= lo && i < hi) e[i] = 0;
    }
  }

  /** Drops the entries of linear page hi:lo. */
  flushPage(lo: number, hi: number): void {
    this.epoch++;
    const s = slotOf(lo, hi) * 4, tag = (lo & -4096) | 1;
    const e = this.e;
    for (let t = 0; t < 6; t++) {
      const i = t * TLB64_TABLE + s;
      if (e[i] === tag && e[i + 1] === (hi | 0)) e[i] = 0;
    }
  }
}
