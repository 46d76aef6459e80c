/**
 * The PAE page walker (PDPT -> PD -> PT) the CPU calls on a TLB miss: U/S, R/W with
 * CR0.WP, NX with EFER.NXE, accessed/dirty updates and #PF error codes. Direct mode walks
 * machine frames (Xen PV); translated mode takes every table and page frame through the
 * domain's P2M (XENFEAT_auto_translated_physmap).
 * @module
 */

import type { PageWalker } from "../cpu/mod.ts";
import type { PhysMemory } from "../cpu/mod.ts";
import { INVALID_MFN } from "./constants.ts";
import type { P2m } from "./p2m.ts";
import { asGfn } from "../abi/mod.ts";

/** #PF error code: the page was present (protection fault). */
export const PFEC_PRESENT = 1;
/** #PF error code: write access. */
export const PFEC_WRITE = 2;
/** #PF error code: user-mode access. */
export const PFEC_USER = 4;
/** #PF error code: a reserved bit was set in a paging entry. */
export const PFEC_RSVD = 8;
/** #PF error code: instruction fetch. */
export const PFEC_FETCH = 16;

/** Why the last walk failed, beyond the architectural error code. */
export const WALK_OK = 0;
/** An ordinary fault the guest should see (#PF). */
export const WALK_FAULT = 1;
/**
 * Translated mode: a table or page frame is not in the P2M (the hypervisor should treat
 * it as Xen treats an unbacked guest-physical access: crash the domain). Reported as a
 * #PF with P|RSVD so a careless caller still faults the guest.
 */
export const WALK_BAD_GFN = 2;

const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;
const HI_NX = 0x80000000 | 0;

/** A PAE walker over machine memory for one vcpu. */
export class PaeWalker implements PageWalker {
  /** #PF error code of the last failed translate. */
  pfErrorCode = 0;
  /** Whether the last successful translation allows writes at that privilege and is dirty. */
  lastWritable = false;
  /** Whether the last successful translation was a global page. */
  lastGlobal = false;
  /** WALK_* reason of the last failed translate. */
  lastFault: number = WALK_OK;
  /**
   * The CR3 value: in direct mode the machine address of the L3 (PDPT) frame, in
   * translated mode its guest-physical address. -1 when no base is loaded.
   */
  cr3: number = -1;
  /** EFER.NXE. */
  nxe = true;
  /** CR0.WP (Xen runs PV guests with it set). */
  wp = true;
  readonly #u32: Uint32Array;
  readonly #mem: PhysMemory;
  readonly #frames: number;
  readonly #p2m: P2m | null;

  /**
   * A walker with no base loaded (cr3 = -1), NXE and WP set.
   * @param mem machine memory
   * @param p2m the domain's P2M for translated mode, or null for direct mode
   */
  constructor(mem: PhysMemory, p2m: P2m | null = null) {
    this.#mem = mem;
    this.#u32 = new Uint32Array(mem.buffer);
    this.#frames = mem.frames;
    this.#p2m = p2m;
  }

  /** Whether table entries hold pfns (translated) rather than mfns. */
  get translated(): boolean {
    return this.#p2m !== null;
  }

  /**
   * Maps a frame number read from an entry to a machine frame.
   * @returns the mfn, or -1 when it does not exist (beyond memory / not in the P2M)
   */
  #frame(lo: number, hi: number): number {
    if ((hi & 0xfffff) !== 0) return -1;
    const n = lo >>> 12;
    if (this.#p2m === null) return n < this.#frames ? n : -1;
    const m = this.#p2m.get(asGfn(n));
    return m === INVALID_MFN || m >= this.#frames ? -1 : m;
  }

  #fail(code: number, reason: number): number {
    this.pfErrorCode = code;
    this.lastFault = reason;
    return -1;
  }

  /**
   * Translates a linear address for one access (see {@link PageWalker.translate}).
   * @param linear the linear address (u32)
   * @param access ACC_* bits
   * @returns the machine byte address, or -1 with {@link pfErrorCode} set
   */
  translate(linear: number, access: number): number {
    const u32 = this.#u32;
    const fetchBit = this.nxe ? access & PFEC_FETCH : 0;
    const acc = (access & (PFEC_WRITE | PFEC_USER)) | fetchBit;
    const cr3 = this.cr3;
    if (cr3 < 0) return this.#fail(acc, WALK_FAULT);
    // L3 (PDPT): four entries at the start of the base frame.
    const l3f = this.#frame(cr3, 0);
    if (l3f < 0) return this.#fail(acc | P | PFEC_RSVD, WALK_BAD_GFN);
    const i3 = l3f * 1024 + (linear >>> 30) * 2;
    const lo3 = u32[i3];
    if (!(lo3 & P)) return this.#fail(acc, WALK_FAULT);
    const l2f = this.#frame(lo3, u32[i3 + 1]);
    if (l2f < 0) return this.#fail(acc | P | PFEC_RSVD, WALK_BAD_GFN);
    // L2 (PD).
    const i2 = l2f * 1024 + ((linear >>> 21) & 511) * 2;
    const lo2 = u32[i2];
    if (!(lo2 & P)) return this.#fail(acc, WALK_FAULT);
    const hi2 = u32[i2 + 1];
    if ((hi2 & HI_NX) && !this.nxe) return this.#fail(acc | P | PFEC_RSVD, WALK_FAULT);
    let lo1: number, hi1: number, i1 = -1, pageFrame: number;
    if (lo2 & PS) {
      // 2 MiB pages: Xen refuses them to PV guests, so only a translated guest has them.
      if (this.#p2m === null) return this.#fail(acc | P | PFEC_RSVD, WALK_FAULT);
      lo1 = lo2;
      hi1 = hi2;
      pageFrame = this.#frame((lo2 & 0xffe00000) | ((linear >>> 12) & 511) << 12, hi2);
    } else {
      const l1f = this.#frame(lo2, hi2);
      if (l1f < 0) return this.#fail(acc | P | PFEC_RSVD, WALK_BAD_GFN);
      i1 = l1f * 1024 + ((linear >>> 12) & 511) * 2;
      lo1 = u32[i1];
      if (!(lo1 & P)) return this.#fail(acc, WALK_FAULT);
      hi1 = u32[i1 + 1];
      if ((hi1 & HI_NX) && !this.nxe) return this.#fail(acc | P | PFEC_RSVD, WALK_FAULT);
      pageFrame = this.#frame(lo1, hi1);
    }
    const perm = lo2 & lo1;
    if ((acc & PFEC_USER) && !(perm & US)) return this.#fail(acc | P, WALK_FAULT);
    if ((acc & PFEC_WRITE) && !(perm & RW) && ((acc & PFEC_USER) || this.wp)) {
      return this.#fail(acc | P, WALK_FAULT);
    }
    if (fetchBit && ((hi2 | hi1) & HI_NX)) return this.#fail(acc | P, WALK_FAULT);
    if (pageFrame < 0) return this.#fail(acc | P | PFEC_RSVD, WALK_BAD_GFN);
    // Accessed/dirty, as the hardware sets them (only on a successful walk).
    if (!(lo2 & A)) this.#setBits(i2, lo2 | A);
    if (i1 < 0) {
      if ((acc & PFEC_WRITE) && !(lo2 & D)) this.#setBits(i2, u32[i2] | D);
    } else {
      const want = acc & PFEC_WRITE ? A | D : A;
      if ((lo1 & want) !== want) this.#setBits(i1, lo1 | want);
    }
    const writable = (perm & RW) !== 0 || (!(acc & PFEC_USER) && !this.wp);
    this.lastWritable = writable && ((acc & PFEC_WRITE) !== 0 || (lo1 & D) !== 0);
    this.lastGlobal = (lo1 & G) !== 0;
    this.lastFault = WALK_OK;
    return pageFrame * 4096 + (linear & 0xfff);
  }

  #setBits(index: number, value: number): void {
    this.#u32[index] = value;
    const f = index >>> 10;
    if (this.#mem.codeFrame[f] !== 0) this.#mem.noteWrite(index * 4, 4);
  }
}
