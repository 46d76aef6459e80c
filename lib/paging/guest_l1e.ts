/**
 * Finds the L1 entry that maps a linear address in a vcpu's current page tables
 * (map_guest_l1e), for update_va_mapping and the writable page-table path.
 * @module
 */

import { _PAGE_PRESENT, _PAGE_PSE, INVALID_MFN, pteFrame } from "./constants.ts";
import type { PagingDomain } from "./paging_domain.ts";
import { asGfn } from "../abi/mod.ts";

/**
 * The machine frame of the L1 table mapping `linear` for `vcpu`.
 * @param d the domain
 * @param vcpu the vcpu (its current base pointer is used)
 * @param linear the linear address
 * @returns the L1's mfn (its slot is (linear >>> 12) & 511), or -1 when the L3 or L2 entry
 *   is absent, a superpage, or names a frame outside machine memory / the P2M
 */
export function guestL1Mfn(d: PagingDomain, vcpu: number, linear: number): number {
  const f = d.frames;
  const u32 = f.u32;
  let l3: number;
  if (d.translated) {
    const cr3 = d.walkers[vcpu].cr3;
    if (cr3 < 0) return -1;
    l3 = toMfn(d, Math.floor(cr3 / 4096));
  } else {
    l3 = d.baseMfn[vcpu];
    if (l3 === 0) return -1;
  }
  if (l3 < 0) return -1;
  const i3 = l3 * 1024 + (linear >>> 30) * 2;
  if (!(u32[i3] & _PAGE_PRESENT)) return -1;
  const l2 = toMfn(d, pteFrame(u32[i3], u32[i3 + 1]));
  if (l2 < 0) return -1;
  const i2 = l2 * 1024 + ((linear >>> 21) & 511) * 2;
  const lo2 = u32[i2];
  if (!(lo2 & _PAGE_PRESENT) || (lo2 & _PAGE_PSE)) return -1;
  return toMfn(d, pteFrame(lo2, u32[i2 + 1]));
}

function toMfn(d: PagingDomain, frame: number): number {
  const mfn = d.translated ? d.p2m.get(asGfn(frame)) : frame;
  return mfn === INVALID_MFN || mfn >= d.frames.count ? -1 : mfn;
}
