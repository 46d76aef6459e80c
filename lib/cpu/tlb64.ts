/**
 * The software TLB for 64-bit linear addresses: a direct-mapped hash of the page number
 * given as two 32-bit halves (no BigInt), one table per access kind and privilege like
 * tlb.ts, each slot tagged with the full page number and holding the machine page base + 1
 * (0 = miss). A conflicting fill simply replaces the slot.
 * @module
 */

/** Slots per table (a power of two). */
const SLOTS = 1 << 16;
const MASK = SLOTS - 1;

/** The slot of 64-bit linear page (hi:lo >>> 12). */
export function slotOf(lo: number, hi: number): number {
  return ((lo >>> 12) ^ (Math.imul(hi, 0x9e3779b1) >>> 16)) & MASK;
}

/** Linear page -> machine page for the six (kind, privilege) pairs, 64-bit keys. */
export class Tlb64 {
  /** Machine page base + 1 per slot, tables[kind * 2 + user]. */
  readonly value: Int32Array[] = [];
  /** Tag: bits 31..12 of the linear address (the page number's low 20 bits). */
  readonly tagLo: Int32Array[] = [];
  /** Tag: bits 63..32 of the linear address. */
  readonly tagHi: Int32Array[] = [];

  /** Six empty tables. */
  constructor() {
    for (let i = 0; i < 6; i++) {
      this.value.push(new Int32Array(SLOTS));
      this.tagLo.push(new Int32Array(SLOTS));
      this.tagHi.push(new Int32Array(SLOTS));
    }
  }

  /**
   * Looks a translation up.
   * @param t kind * 2 + user
   * @returns the machine address of linear hi:lo, or -1 on a miss
   */
  lookup(t: number, lo: number, hi: number): number {
    const s = slotOf(lo, hi);
    const v = this.value[t][s];
    if (v === 0 || this.tagLo[t][s] !== lo >>> 12 || this.tagHi[t][s] !== (hi | 0)) return -1;
    return v - 1 + (lo & 4095);
  }

  /** Records a translation of linear page hi:lo to machine page base `mpage`. */
  fill(t: number, lo: number, hi: number, mpage: number): void {
    const s = slotOf(lo, hi);
    this.value[t][s] = mpage + 1;
    this.tagLo[t][s] = lo >>> 12;
    this.tagHi[t][s] = hi | 0;
  }

  /** Drops every entry. */
  flushAll(): void {
    for (const v of this.value) v.fill(0);
  }

  /** Drops the entries of linear page hi:lo. */
  flushPage(lo: number, hi: number): void {
    const s = slotOf(lo, hi);
    for (let t = 0; t < 6; t++) {
      if (this.tagLo[t][s] === lo >>> 12 && this.tagHi[t][s] === (hi | 0)) this.value[t][s] = 0;
    }
  }
}
