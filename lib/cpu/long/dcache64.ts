/**
 * The decoded-instruction cache of 64-bit code (fast64.ts runs it): per machine code
 * frame, an index from page offset to a record (structure-of-arrays pool, see
 * decode_fast64.ts for the kinds). It is separate from the 32-bit `DecodedCache`, so a
 * frame executed as compatibility-mode (32-bit) code and as 64-bit code never shares
 * records. Frames with records are marked in `PhysMemory.codeFrame`, as the 32-bit cache
 * does, so that the first write to one (through any CPU's slow write path, which is the
 * only path to a code frame, or the hypervisor's `noteWrite`) drops its records here too:
 * the cache chains itself onto `PhysMemory.onCodeWrite`.
 * @module
 */

import { type CpuCore, cpusOver } from "../core.ts";
import type { PhysMemory } from "../phys_memory.ts";
import { K_WRITE } from "../tlb.ts";

const CAP = 1 << 17;
/** tlb64 table kind of writes (tlb64.ts: kind 1). */
const TLB64_WRITE = 1;

/** The 64-bit caches over each machine memory (their drop hook is chained once). */
const cachesOver = new WeakMap<PhysMemory, Dcache64[]>();

/** Decoded 64-bit records and the per-frame offset indexes of one CPU. */
export class Dcache64 {
  /** Record kind (decode_fast64.ts K_*) | instruction length << 8 | operand `a` << 16. */
  readonly ka: Int32Array = new Int32Array(CAP);
  /** Second register, or the packed memory operand (decode_fast64.ts EA_*). */
  readonly b: Int32Array = new Int32Array(CAP);
  /** Displacement. */
  readonly d: Int32Array = new Int32Array(CAP);
  /** Immediate (low half) / relative target / operation. */
  readonly i: Int32Array = new Int32Array(CAP);
  /** Immediate high half / operand size. */
  readonly j: Int32Array = new Int32Array(CAP);
  /** Per machine frame: offset -> record index (0 = not decoded), or null. */
  readonly pages: (Int32Array | null)[];
  /** The next free record. */
  next = 1;
  /** The current code page of the fast loop: its index (null = look it up again). */
  arr: Int32Array | null = null;
  /** Its machine frame, linear page (lo with the offset bits clear, hi), TLB epoch, CPL. */
  mfn = -1;
  /** Its machine address (page base). */
  base = 0;
  pageLo = 0;
  pageHi = 0;
  epoch = -1;
  cpl = -1;
  private readonly mem: PhysMemory;
  private readonly cpu: CpuCore;

  /** An empty cache for `cpu`. */
  constructor(cpu: CpuCore) {
    this.cpu = cpu;
    const mem = cpu.mem;
    this.mem = mem;
    this.pages = new Array(mem.frames).fill(null);
    let list = cachesOver.get(mem);
    if (list === undefined) {
      const l: Dcache64[] = [];
      list = l;
      cachesOver.set(mem, l);
      const prev = mem.onCodeWrite;
      mem.onCodeWrite = (mfn) => {
        prev(mfn);
        for (const d of l) d.dropPage(mfn);
      };
    }
    list.push(this);
  }

  /**
   * The offset index of machine frame `mfn`, created when missing. A frame becoming code
   * loses the write entries of every CPU over this memory (32- and 64-bit TLBs), so that
   * the next write to it takes the slow path and drops its records.
   */
  page(mfn: number): Int32Array {
    let p = this.pages[mfn];
    if (p === null) {
      p = new Int32Array(4096);
      this.pages[mfn] = p;
      if (this.mem.codeFrame[mfn] === 0) {
        this.mem.codeFrame[mfn] = 1;
        const peers = cpusOver(this.mem);
        for (const c of peers.length === 0 ? [this.cpu] : peers) {
          c.tlb.flushKind(K_WRITE);
          if (!c.tlb64.empty) c.tlb64.flushKind(TLB64_WRITE);
        }
      }
    }
    return p;
  }

  /** Makes room for `n` consecutive records (dropping everything when the pool is full). */
  reserve(n: number): void {
    if (this.next + n >= CAP) this.dropAll();
  }

  /** Appends a record (after {@link reserve}); returns its index. */
  put(kind: number, len: number, a: number, b: number, d: number, i: number, j: number): number {
    const r = this.next++;
    this.ka[r] = kind | (len << 8) | (a << 16);
    this.b[r] = b;
    this.d[r] = d;
    this.i[r] = i;
    this.j[r] = j;
    return r;
  }

  /** Drops one frame's records (it was written). */
  dropPage(mfn: number): void {
    if (this.pages[mfn] !== null) {
      this.pages[mfn] = null;
      if (mfn === this.mfn) this.arr = null;
    }
  }

  /** Drops every record (the frames keep their codeFrame bit until written). */
  dropAll(): void {
    this.pages.fill(null);
    this.next = 1;
    this.arr = null;
  }
}

/** Each CPU's 64-bit cache, created on its first 64-bit fast run. */
const caches = new WeakMap<CpuCore, Dcache64>();

/** The last CPU asked for and its cache (the fast loop is entered at every loop head). */
let lastCpu: CpuCore | null = null, lastCache: Dcache64 | null = null;

/** The 64-bit decoded cache of `c`. */
export function dcache64Of(c: CpuCore): Dcache64 {
  if (c === lastCpu && lastCache !== null) return lastCache;
  let d = caches.get(c);
  if (d === undefined) {
    d = new Dcache64(c);
    caches.set(c, d);
  }
  lastCpu = c;
  lastCache = d;
  return d;
}
