/**
 * The software TLB: per linear page, one entry per access kind (read, write, fetch) and
 * privilege (supervisor, user), each the machine page base + 1 (0 = miss). Flushes clear
 * only the entries recorded as filled.
 * @module
 */

/** Access kinds indexing {@link Tlb.tables}. */
export const K_READ = 0, K_WRITE = 1, K_FETCH = 2;

const PAGES = 1 << 20;
const FILLED_CAP = 16384;

/** Linear page -> machine page tables for the six (kind, privilege) pairs. */
export class Tlb {
  /** tables[kind * 2 + user]: Int32Array(2^20) of machine page base + 1, or 0. */
  readonly tables: Int32Array[];
  private readonly filled = new Int32Array(FILLED_CAP);
  private nFilled = 0;
  private overflow = false;

  /** Six empty tables. */
  constructor() {
    this.tables = [];
    for (let i = 0; i < 6; i++) this.tables.push(new Int32Array(PAGES));
  }

  /**
   * Records a translation.
   * @param kind K_READ / K_WRITE / K_FETCH
   * @param user 1 for CPL 3
   * @param linPage linear page number
   * @param mpage machine page base address
   */
  fill(kind: number, user: number, linPage: number, mpage: number): void {
    this.tables[kind * 2 + user][linPage] = mpage + 1;
    if (this.nFilled < FILLED_CAP) this.filled[this.nFilled++] = linPage;
    else this.overflow = true;
  }

  /** Drops every entry. */
  flushAll(): void {
    if (this.overflow) {
      for (const t of this.tables) t.fill(0);
    } else {
      const f = this.filled;
      for (let i = 0; i < this.nFilled; i++) {
        const p = f[i];
        for (const t of this.tables) t[p] = 0;
      }
    }
    this.nFilled = 0;
    this.overflow = false;
  }

  /** Drops every entry of one access kind (both privileges). */
  flushKind(kind: number): void {
    const a = this.tables[kind * 2], b = this.tables[kind * 2 + 1];
    if (this.overflow) {
      a.fill(0);
      b.fill(0);
      return;
    }
    const f = this.filled;
    for (let i = 0; i < this.nFilled; i++) {
      a[f[i]] = 0;
      b[f[i]] = 0;
    }
  }

  /** Drops the entries of one linear page. */
  flushPage(linear: number): void {
    const p = linear >>> 12;
    for (const t of this.tables) t[p] = 0;
  }
}
