/**
 * The 4-level (IA-32e) page walker, PML4 -> PDPT -> PD -> PT, beside the PAE walker: the
 * linear address comes as two 32-bit halves (no BigInt), is checked canonical (48-bit),
 * and U/S, R/W with CR0.WP, NX with EFER.NXE, reserved bits, accessed/dirty updates and
 * #PF error codes follow the SDM (vol. 3 §4.5). Direct mode walks machine frames (Xen
 * PV); translated mode takes every table and page frame through the domain's P2M and is
 * the only mode with 2 MiB / 1 GiB pages (Xen refuses superpages to PV guests).
 * @module
 */

import type { PhysMemory } from "../cpu/mod.ts";
import { asGfn } from "../abi/mod.ts";
import { INVALID_MFN } from "./constants.ts";
import type { P2m } from "./p2m.ts";
import {
  PFEC_FETCH,
  PFEC_RSVD,
  PFEC_USER,
  PFEC_WRITE,
  WALK_BAD_GFN,
  WALK_FAULT,
  WALK_OK,
} from "./pae_walk.ts";

/** The linear address is not canonical: the CPU raises #GP(0) (#SS(0) for the stack). */
export const WALK_NONCANONICAL = 3;

const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;
const HI_NX = 0x80000000 | 0;

/**
 * Whether the 64-bit address hi:lo is canonical for 48-bit linear addresses (bits 63..47
 * all equal).
 */
export function isCanonical(hi: number): boolean {
  const top = hi >> 15; // bits 63..47 as a sign-extended value
  return top === 0 || top === -1;
}

/** A 4-level walker over machine memory for one vcpu. */
export class LongModeWalker {
  /** #PF error code of the last failed translate. */
  pfErrorCode = 0;
  /** Whether the last successful translation allows writes at that privilege and is dirty. */
  lastWritable = false;
  /** Whether the last successful translation was a global page. */
  lastGlobal = false;
  /** WALK_* reason of the last failed translate (WALK_NONCANONICAL: no #PF). */
  lastFault: number = WALK_OK;
  /**
   * CR3: in direct mode the machine address of the PML4 frame, in translated mode its
   * guest-physical address (below 4 GiB). -1 when no base is loaded.
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

  /** Maps an entry's frame (address bits 12..51 in lo/hi) to a machine frame, or -1. */
  #frame(lo: number, hi: number): number {
    if ((hi & 0xfffff) !== 0) return -1; // beyond 4 GiB: no such memory here
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
   * Translates the 64-bit linear address hi:lo for one access.
   * @param lo bits 31..0 of the linear address
   * @param hi bits 63..32
   * @param access ACC_* bits (lib/cpu/platform.ts)
   * @returns the machine byte address, or -1 with {@link pfErrorCode} and
   *   {@link lastFault} set (WALK_NONCANONICAL: raise #GP/#SS, not #PF)
   */
  translate64(lo: number, hi: number, access: number): number {
    const u32 = this.#u32;
    const fetchBit = this.nxe ? access & PFEC_FETCH : 0;
    const acc = (access & (PFEC_WRITE | PFEC_USER)) | fetchBit;
    if (!isCanonical(hi)) return this.#fail(0, WALK_NONCANONICAL);
    const cr3 = this.cr3;
    if (cr3 < 0) return this.#fail(acc, WALK_FAULT);
    let f = this.#frame(cr3, 0);
    if (f < 0) return this.#fail(acc | P | PFEC_RSVD, WALK_BAD_GFN);
    let perm = RW | US, nx = 0;
    const at = walkScratch;
    let level = 0, leafLo = 0, pageFrame = -1;
    for (; level < 4; level++) {
      const i = f * 1024 + levelIndex(level, lo, hi) * 2;
      const elo = u32[i], ehi = u32[i + 1] | 0;
      at[level] = i;
      if (!(elo & P)) return this.#fail(acc, WALK_FAULT);
      if ((ehi & HI_NX) && !this.nxe) return this.#fail(acc | P | PFEC_RSVD, WALK_FAULT);
      perm &= elo;
      nx |= ehi & HI_NX;
      const big = (elo & PS) !== 0 && (level === 1 || level === 2);
      if ((elo & PS) !== 0 && level === 0) return this.#fail(acc | P | PFEC_RSVD, WALK_FAULT);
      if (big) {
        if (this.#p2m === null) return this.#fail(acc | P | PFEC_RSVD, WALK_FAULT);
        // 1 GiB (level 1) or 2 MiB (level 2) page: the low frame bits come from the address.
        const frame = level === 1
          ? ((elo >>> 30) << 18) | ((lo >>> 12) & 0x3ffff)
          : ((elo >>> 21) << 9) | ((lo >>> 12) & 0x1ff);
        pageFrame = this.#frame((frame << 12) >>> 0, ehi);
        leafLo = elo;
        break;
      }
      if (level === 3) {
        pageFrame = this.#frame(elo, ehi);
        leafLo = elo;
        break;
      }
      f = this.#frame(elo, ehi);
      if (f < 0) return this.#fail(acc | P | PFEC_RSVD, WALK_BAD_GFN);
    }
    if ((acc & PFEC_USER) && !(perm & US)) return this.#fail(acc | P, WALK_FAULT);
    if ((acc & PFEC_WRITE) && !(perm & RW) && ((acc & PFEC_USER) || this.wp)) {
      return this.#fail(acc | P, WALK_FAULT);
    }
    if (fetchBit && nx) return this.#fail(acc | P, WALK_FAULT);
    if (pageFrame < 0) return this.#fail(acc | P | PFEC_RSVD, WALK_BAD_GFN);
    // Accessed on every level walked, dirty on the leaf for a write.
    for (let l = 0; l < level; l++) {
      const i = at[l];
      if (!(u32[i] & A)) this.#setBits(i, u32[i] | A);
    }
    const li = at[level];
    const want = acc & PFEC_WRITE ? A | D : A;
    if ((u32[li] & want) !== want) this.#setBits(li, u32[li] | want);
    const writable = (perm & RW) !== 0 || (!(acc & PFEC_USER) && !this.wp);
    this.lastWritable = writable && ((acc & PFEC_WRITE) !== 0 || (leafLo & D) !== 0);
    this.lastGlobal = (leafLo & G) !== 0;
    this.lastFault = WALK_OK;
    return pageFrame * 4096 + (lo & 0xfff);
  }

  #setBits(index: number, value: number): void {
    this.#u32[index] = value;
    const f = index >>> 10;
    if (this.#mem.codeFrame[f] !== 0) this.#mem.noteWrite(index * 4, 4);
  }
}

/** The table index of `level` (0 = PML4 .. 3 = PT) for linear address hi:lo. */
function levelIndex(level: number, lo: number, hi: number): number {
  switch (level) {
    case 0:
      return (hi >>> 7) & 511; // bits 47..39
    case 1:
      return ((hi & 0x7f) << 2) | (lo >>> 30); // bits 38..30
    case 2:
      return (lo >>> 21) & 511; // bits 29..21
    default:
      return (lo >>> 12) & 511; // bits 20..12
  }
}

/** Entry indexes of the walk in progress (one walk at a time; no allocation per walk). */
const walkScratch = new Int32Array(4);
