/**
 * GNTMAP_host_map for a PV guest: the grant's frame is written into the guest's own L1
 * (at a linear address, or at a PTE's machine address with GNTMAP_contains_pte) through
 * lib/paging's checked entry updates; mirrors create_grant_pv_mapping /
 * replace_grant_pv_mapping of xen/arch/x86/pv/grant_table.c.
 * @module
 */
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  PGT_l1_page_table,
  pteFrame,
} from "../../paging/mod.ts";
import { UVMF_INVLPG, UVMF_LOCAL } from "../../abi/mod.ts";
import { guestL1Mfn } from "../../paging/mod.ts";
import { mmuUpdateNormalPt } from "../../paging/mod.ts";
import type { PagingDomain } from "../../paging/mod.ts";
import { updateVaMapping } from "../../paging/mod.ts";
import {
  GNTMAP_application_map,
  GNTMAP_contains_pte,
  GNTMAP_readonly,
  GNTST_general_error,
  GNTST_okay,
} from "../../abi/mod.ts";
import type { GrantHostMapper } from "./table.ts";

/** GNTMAP_guest_avail0: map flags above it go to the PTE's available bits 9..11. */
const GNTMAP_GUEST_AVAIL0 = 16;
/** _PAGE_AVAIL bits of an L1 entry (9..11). */
const PAGE_AVAIL_SHIFT = 9;

/**
 * The only time an L1 entry of one domain may name another domain's frame: while a
 * grant host mapping is being installed. Install {@link check} as lib/paging's
 * `MachineFrames.foreignMapCheck`; every {@link PvGrantHostMapper} of the host shares it.
 * Outside the window such entries stay refused (-EBUSY), so a guest cannot keep a
 * granted frame mapped through mmu_update after the grant is unmapped.
 */
export class GrantPteWindow {
  #owner = -1;
  #mfn = -1;
  #writable = false;

  /** The ForeignMapCheck: (l1eOwner, mfn, writable) -> allowed. */
  readonly check = (owner: number, mfn: number, writable: boolean): boolean =>
    owner === this.#owner && mfn === this.#mfn && (!writable || this.#writable);

  /** Opens the window for one entry. */
  open(owner: number, mfn: number, writable: boolean): void {
    this.#owner = owner;
    this.#mfn = mfn;
    this.#writable = writable;
  }

  /** Closes it. */
  close(): void {
    this.#owner = -1;
    this.#mfn = -1;
  }
}

/** The host mapper of one PV domain (direct paging mode). */
export class PvGrantHostMapper implements GrantHostMapper {
  readonly #d: PagingDomain;
  readonly #window: GrantPteWindow;
  readonly #vcpu: () => number;

  /**
   * @param d the mapping domain's paging context
   * @param window the host's shared window (installed as frames.foreignMapCheck)
   * @param currentVcpu the calling vcpu's id (whose page tables a linear address uses)
   */
  constructor(d: PagingDomain, window: GrantPteWindow, currentVcpu: () => number) {
    this.#d = d;
    this.#window = window;
    this.#vcpu = currentVcpu;
  }

  /** create_grant_host_mapping. @returns GNTST_okay or GNTST_general_error */
  create(hostAddr: number, mfn: number, flags: number): number {
    let lo = ((mfn % 0x100000) * 4096 + (_PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_DIRTY)) >>> 0;
    const hi = Math.floor(mfn / 0x100000);
    if (!(flags & GNTMAP_readonly)) lo |= _PAGE_RW;
    if (flags & GNTMAP_application_map) lo |= _PAGE_USER;
    lo |= ((flags >>> GNTMAP_GUEST_AVAIL0) & 7) << PAGE_AVAIL_SHIFT;
    return this.#write(hostAddr, flags, lo, hi, mfn) === 0 ? GNTST_okay : GNTST_general_error;
  }

  /**
   * replace_grant_host_mapping: the entry at `hostAddr` must map `mfn`; it is cleared,
   * or (linear form only) replaced by the entry at `newAddr`, which is cleared.
   * @returns GNTST_okay or GNTST_general_error
   */
  replace(hostAddr: number, mfn: number, newAddr: number, flags: number): number {
    const cur = this.#locate(hostAddr, flags);
    if (cur < 0) return GNTST_general_error;
    const u32 = this.#d.frames.u32;
    if (!(u32[cur] & _PAGE_PRESENT) || pteFrame(u32[cur], u32[cur + 1]) !== mfn) {
      return GNTST_general_error; // "PTE entry ... doesn't match frame"
    }
    let lo = 0, hi = 0;
    if (newAddr !== 0) {
      if (flags & GNTMAP_contains_pte) return GNTST_general_error;
      const src = this.#locate(newAddr, 0);
      if (src < 0) return GNTST_general_error;
      lo = u32[src];
      hi = u32[src + 1];
      // steal_linear_addr: the entry moves; its old home becomes empty.
      if (this.#write(newAddr, 0, 0, 0, -1) !== 0) return GNTST_general_error;
    }
    return this.#write(hostAddr, flags, lo, hi, -1) === 0 ? GNTST_okay : GNTST_general_error;
  }

  /** u32 index of the entry named by (addr, flags) in a validated L1 of the domain, or -1. */
  #locate(addr: number, flags: number): number {
    const f = this.#d.frames;
    let l1: number, slot: number;
    if (flags & GNTMAP_contains_pte) {
      if (addr % 8 !== 0 || addr < 0 || addr >= f.mem.size) return -1;
      l1 = Math.floor(addr / 4096);
      slot = (addr % 4096) / 8;
    } else {
      if (!(addr >= 0 && addr <= 0xffffffff)) return -1;
      l1 = guestL1Mfn(this.#d, this.#vcpu(), addr);
      slot = (addr >>> 12) & 511;
    }
    if (l1 < 0 || !f.isOwnedBy(l1, this.#d.domid) || f.type[l1] !== PGT_l1_page_table) return -1;
    return l1 * 1024 + slot * 2;
  }

  /** Writes one entry through paging's checks, the window open for `mfn` (or none). */
  #write(addr: number, flags: number, lo: number, hi: number, mfn: number): number {
    if (this.#locate(addr, flags) < 0) return -1;
    const d = this.#d;
    if (mfn >= 0) this.#window.open(d.domid, mfn, (lo & _PAGE_RW) !== 0);
    try {
      return flags & GNTMAP_contains_pte
        ? mmuUpdateNormalPt(d, addr, lo, hi)
        : updateVaMapping(d, this.#vcpu(), addr, lo, hi, UVMF_INVLPG | UVMF_LOCAL);
    } finally {
      this.#window.close();
    }
  }
}
