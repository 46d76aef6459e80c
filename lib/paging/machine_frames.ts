/**
 * Machine frames and their page_info: owner, general reference count, type, type count,
 * pinned/validated flags, TLB-staleness stamps, and the frame allocator. Mirrors the
 * count_info/type_info bookkeeping of Xen's arch/x86/mm.c, in typed arrays.
 * @module
 */

import type { PhysMemory } from "../cpu/mod.ts";
import { PAGE_SIZE } from "../abi/mod.ts";
import { assert, InputError } from "../errors.ts";
import { DOMID_XEN, OWNER_NONE, PGC_allocated, PGT_none } from "./constants.ts";
import { EINVAL, ENOMEM } from "../abi/mod.ts";
import { dropPin } from "./page_type.ts";
import { M2p } from "./m2p.ts";
import { asGfn, asMfn } from "../abi/mod.ts";
import { M2p64 } from "./m2p64.ts";

/**
 * Asked when an L1 entry maps a frame owned by another domain (the grant-table hook).
 * @returns true when `l1eOwner` holds a grant mapping of `mfn` allowing this access
 */
export type ForeignMapCheck = (l1eOwner: number, mfn: number, writable: boolean) => boolean;

/**
 * Checks one segment descriptor of a page being typed PGT_seg_desc_page (the hypervisor
 * installs Xen's check_descriptor rules). `maddr` is the descriptor's machine address, so
 * a checker may write back a fixed-up descriptor (as check_descriptor raises DPL 0 to the
 * guest kernel's ring); it must then call PhysMemory.noteWrite.
 * @returns true when the descriptor is acceptable
 */
export type DescriptorCheck = (owner: number, lo: number, hi: number, maddr: number) => boolean;

/** All machine frames of the host, with Xen's per-frame bookkeeping. */
export class MachineFrames {
  /** Machine memory. */
  readonly mem: PhysMemory;
  /** u32 view of machine memory (page-table entries are two of these). */
  readonly u32: Uint32Array;
  /** Number of frames. */
  readonly count: number;
  /** Per frame: owning domain id, or OWNER_NONE when free. */
  readonly owner: Uint16Array;
  /** Per frame: general reference count (count_info), including the allocation ref. */
  readonly refs: Uint32Array;
  /** Per frame: PGC_* flags. */
  readonly cflags: Uint8Array;
  /** Per frame: PGT_* type. */
  readonly type: Uint8Array;
  /** Per frame: type reference count. */
  readonly typeCount: Uint32Array;
  /** Per frame: PGT_pinned | PGT_validated | PGT_pae_xen_l2. */
  readonly tflags: Uint8Array;
  /**
   * Per L2 frame: linear page-table bookkeeping (linear_pt_count): > 0 counts the linear
   * entries it holds (onto other L2s), < 0 counts the linear entries onto it; a table is
   * never both.
   */
  readonly linear: Int32Array;
  /** Per frame: the flush epoch in which a mapping of it may have been dropped. */
  readonly staleEpoch: Uint32Array;
  /** The global M2P table. */
  readonly m2p: M2p;
  /** Grant-mapping hook for L1 entries naming another domain's frame; null: refuse. */
  foreignMapCheck: ForeignMapCheck | null = null;
  /** Descriptor check for PGT_seg_desc_page validation; null: accept every descriptor. */
  descriptorCheck: DescriptorCheck | null = null;
  /**
   * Set when a frame changed type or owner while a stale TLB entry for it may survive
   * somewhere: the hypervisor must flush every vcpu's TLB, then call {@link tlbFlushedAll}.
   */
  needFlushAll = false;
  /** Current flush epoch (advanced by {@link tlbFlushedAll}). */
  epoch = 1;
  /**
   * Why the last failing check failed, in the words of Xen's gdprintk where it has one
   * ("Bad L1 flags", "Bad type", ...): for the hypervisor's trace and debug log.
   */
  reason = "";
  /**
   * Domains whose page tables follow the 64-bit PV rules (validate_pte64.ts), with their
   * VMASST_TYPE_m2p_strict setting (whether new L4s get the read-only M2P in slot 256).
   */
  readonly pv64Domains: Map<number, { m2pStrict: boolean }> = new Map();
  #m2p64: M2p64 | null = null;
  #free: Int32Array;
  #freeTop = 0;
  /** Per frame: 1 once it was handed out and freed (may hold old data: scrub on reuse). */
  #used: Uint8Array;
  #pages = new Map<number, number>();

  /**
   * Sets up bookkeeping for all frames of `mem`: frame 0 and the M2P table are Xen's, the
   * rest go to the free pool in a deterministic shuffled order, so that the frames a domain
   * gets are neither the identity of its pfns nor contiguous.
   * @param mem machine memory
   * @param seed allocator permutation seed
   */
  constructor(mem: PhysMemory, seed = 0x9e3779b9) {
    this.mem = mem;
    this.count = mem.frames;
    this.u32 = new Uint32Array(mem.buffer);
    const n = this.count;
    this.owner = new Uint16Array(n).fill(OWNER_NONE);
    this.refs = new Uint32Array(n);
    this.cflags = new Uint8Array(n);
    this.type = new Uint8Array(n);
    this.typeCount = new Uint32Array(n);
    this.tflags = new Uint8Array(n);
    this.staleEpoch = new Uint32Array(n);
    this.linear = new Int32Array(n);
    this.#used = new Uint8Array(n);
    const xenFrames = 1 + M2p.framesNeeded(n);
    if (n < xenFrames + 1) {
      throw new InputError(`Cannot use machine memory of "${n}" frames: too small`);
    }
    for (let f = 0; f < xenFrames; f++) {
      this.owner[f] = DOMID_XEN;
      this.refs[f] = 1;
      this.cflags[f] = PGC_allocated;
    }
    this.m2p = new M2p(mem, 1);
    // Free pool: a seeded Fisher-Yates shuffle of the remaining frames (xorshift32).
    const pool = new Int32Array(n - xenFrames);
    for (let i = 0; i < pool.length; i++) pool[i] = xenFrames + i;
    let s = seed >>> 0 || 1;
    for (let i = pool.length - 1; i > 0; i--) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      const j = s % (i + 1);
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
    }
    this.#free = new Int32Array(n);
    // The stack pops from the top: push in reverse so pool[0] comes out first.
    for (let i = pool.length - 1; i >= 0; i--) this.#free[this.#freeTop++] = pool[i];
  }

  /**
   * The 64-bit M2P, created (from free frames, owned by Xen) on first use.
   * @throws InputError when too few frames are free to create it
   */
  get m2p64(): M2p64 {
    if (this.#m2p64 === null) {
      this.#m2p64 = new M2p64(this);
      this.m2p.wide = this.#m2p64;
    }
    return this.#m2p64;
  }

  /** Number of free frames. */
  get freeFrames(): number {
    return this.#freeTop;
  }

  /**
   * Frames currently owned by a domain (Xen's tot_pages).
   * @param domid the domain
   */
  domainPages(domid: number): number {
    return this.#pages.get(domid) ?? 0;
  }

  /**
   * Allocates one zeroed frame to a domain (PGC_allocated, one reference, no type).
   * @param domid the owner
   * @returns the mfn, or -ENOMEM when no frame is free
   */
  allocDomainFrame(domid: number): number {
    if (this.#freeTop === 0) return -ENOMEM;
    const mfn = this.#free[--this.#freeTop];
    // A frame freed since the last full flush may still sit in some TLB.
    if (this.staleEpoch[mfn] === this.epoch) this.needFlushAll = true;
    this.owner[mfn] = domid;
    this.refs[mfn] = 1;
    this.cflags[mfn] = PGC_allocated;
    this.type[mfn] = PGT_none;
    this.typeCount[mfn] = 0;
    this.tflags[mfn] = 0;
    // Frames never handed out are still zero from the ArrayBuffer; others are scrubbed so
    // no domain sees another's old data.
    if (this.#used[mfn] !== 0) {
      this.mem.u8.fill(0, mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
      this.mem.noteWrite(mfn * PAGE_SIZE, PAGE_SIZE);
    }
    this.#pages.set(domid, this.domainPages(domid) + 1);
    return mfn;
  }

  /**
   * Allocates `count` frames to a domain (the domain builder's bulk allocation).
   * @param domid the owner
   * @param count how many
   * @returns the mfns, in allocation order (a shuffled, non-contiguous set)
   * @throws InputError when the host has fewer free frames (nothing is allocated then)
   */
  allocDomainFrames(domid: number, count: number): Uint32Array {
    if (!Number.isInteger(count) || count < 0 || count > this.#freeTop) {
      throw new InputError(
        `Cannot allocate "${count}" frames to domain ${domid}: ${this.#freeTop} free`,
      );
    }
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.allocDomainFrame(domid);
    return out;
  }

  /**
   * Allocates 2^order machine-contiguous frames, aligned to their size, to a domain (an
   * extent of order > 0: populate_physmap / increase_reservation / XENMEM_exchange, as
   * Linux asks for DMA buffers). Searches from the top of memory; the ordinary shuffled
   * allocation order is otherwise kept.
   * @param domid the owner
   * @param order log2 of the frame count (0..20)
   * @returns the first mfn, or -ENOMEM when no such free block exists
   */
  allocDomainFramesContiguous(domid: number, order: number): number {
    if (!Number.isInteger(order) || order < 0 || order > 20) return -ENOMEM;
    const n = 1 << order;
    let first = -1;
    for (let start = (Math.floor(this.count / n) - 1) * n; start >= 0; start -= n) {
      let ok = true;
      for (let m = start + n - 1; m >= start; m--) {
        if (this.owner[m] !== OWNER_NONE) {
          ok = false;
          break;
        }
      }
      if (ok) {
        first = start;
        break;
      }
    }
    if (first < 0) return -ENOMEM;
    // Take the block's frames out of the free stack, keeping the others' order.
    let w = 0;
    for (let r = 0; r < this.#freeTop; r++) {
      const m = this.#free[r];
      if (m < first || m >= first + n) this.#free[w++] = m;
    }
    for (let i = 0; i < n; i++) this.#free[w + i] = first + n - 1 - i;
    this.#freeTop = w + n;
    for (let i = 0; i < n; i++) {
      const got = this.allocDomainFrame(domid);
      assert(got === first + i, "contiguous allocation out of order");
    }
    return first;
  }

  /**
   * Whether `mfn` is a valid frame currently allocated to `domid`.
   * @param mfn machine frame
   * @param domid the domain
   */
  isOwnedBy(mfn: number, domid: number): boolean {
    return mfn >= 0 && mfn < this.count && this.refs[mfn] !== 0 && this.owner[mfn] === domid;
  }

  /**
   * get_page: takes a general reference on a frame the domain owns.
   * @param mfn machine frame (any number; invalid ones fail)
   * @param domid the expected owner
   * @returns false when the frame is invalid, free, or owned by someone else
   */
  getPage(mfn: number, domid: number): boolean {
    if (!(mfn >= 0 && mfn < this.count) || this.refs[mfn] === 0) return false;
    if (this.owner[mfn] !== domid) return false;
    this.refs[mfn]++;
    return true;
  }

  /**
   * Takes a reference without an owner check (page_get_owner_and_reference).
   * @returns the owner, or -1 when the frame is invalid or free
   */
  getPageAnyOwner(mfn: number): number {
    if (!(mfn >= 0 && mfn < this.count) || this.refs[mfn] === 0) return -1;
    this.refs[mfn]++;
    return this.owner[mfn];
  }

  /**
   * put_page: drops a general reference; the frame returns to the free pool when the
   * last one goes.
   * @param mfn machine frame holding a reference
   */
  putPage(mfn: number): void {
    const r = this.refs[mfn];
    assert(r !== 0, `put_page on free frame ${mfn}`);
    this.refs[mfn] = r - 1;
    if (r === 1) this.#release(mfn);
  }

  /**
   * Gives a frame up on its owner's behalf (guest_remove_page / decrease_reservation):
   * unpins it, clears PGC_allocated and drops that reference. A frame still referenced
   * (mapped, typed, in use as a page table) stays owned until the last reference goes,
   * so it is never handed to anyone else while in use.
   * @param mfn machine frame
   * @param domid the owner
   * @param unpin callback that drops a pin (page_type.ts's unpin), injected to keep
   *   this file free of the validation logic
   * @returns false when the domain does not own an allocated frame there
   */
  releaseAllocation(mfn: number, domid: number, unpin: (mfn: number) => void): boolean {
    if (!this.isOwnedBy(mfn, domid) || !(this.cflags[mfn] & PGC_allocated)) return false;
    unpin(mfn);
    this.cflags[mfn] &= ~PGC_allocated;
    this.putPage(mfn);
    return true;
  }

  /**
   * Frees a domain's frame the way XENMEM_decrease_reservation does (guest_remove_page):
   * see {@link releaseAllocation}; the frame is reused only once nothing references it.
   * @param mfn machine frame
   * @param domid the owner
   * @returns 0, or -EINVAL when the domain does not own an allocated frame there
   */
  freeFrame(mfn: number, domid: number): number {
    return this.releaseAllocation(mfn, domid, (m) => dropPin(this, m)) ? 0 : -EINVAL;
  }

  /** Records that all vcpus' TLBs were flushed: stale stamps before now no longer matter. */
  tlbFlushedAll(): void {
    this.epoch++;
    this.needFlushAll = false;
  }

  /**
   * Marks a frame as possibly present in a TLB after a mapping (or type) was dropped.
   * @param mfn machine frame
   */
  markStale(mfn: number): void {
    this.staleEpoch[mfn] = this.epoch;
  }

  /**
   * One line describing a frame's page_info, for debug logs and dumps.
   * @param mfn machine frame
   * @returns e.g. "mfn 0x1a3 d1 refs 3 allocated type l1 x1 pinned validated"
   */
  describe(mfn: number): string {
    if (!(mfn >= 0 && mfn < this.count)) return `mfn ${mfn} invalid`;
    const o = this.owner[mfn];
    const who = o === OWNER_NONE ? "free" : o === DOMID_XEN ? "xen" : `d${o}`;
    const names = ["none", "l1", "l2", "l3", "l4", "seg_desc", "shared", "writable"];
    const t = this.tflags[mfn];
    return `mfn 0x${mfn.toString(16)} ${who} refs ${this.refs[mfn]}` +
      (this.cflags[mfn] & PGC_allocated ? " allocated" : "") +
      ` type ${names[this.type[mfn]]} x${this.typeCount[mfn]}` +
      (t & 1 ? " pinned" : "") + (t & 2 ? " validated" : "") + (t & 4 ? " pae_xen_l2" : "");
  }

  #release(mfn: number): void {
    const owner = this.owner[mfn];
    assert(owner !== DOMID_XEN, `Xen frame ${mfn} released`);
    this.#pages.set(owner, this.domainPages(owner) - 1);
    this.owner[mfn] = OWNER_NONE;
    this.cflags[mfn] = 0;
    this.type[mfn] = PGT_none;
    this.typeCount[mfn] = 0;
    this.tflags[mfn] = 0;
    this.linear[mfn] = 0;
    this.staleEpoch[mfn] = this.epoch;
    this.#used[mfn] = 1;
    this.m2p.set(asMfn(mfn), asGfn(0xffffffff));
    this.#free[this.#freeTop++] = mfn;
  }
}
