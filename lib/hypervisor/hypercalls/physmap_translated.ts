/**
 * Physmap edits of a translated domain (XENFEAT_auto_translated_physmap): placing Xen's
 * pages (shared_info, grant-table frames) at a pfn with XENMEM_add_to_physmap.
 * @module
 */
import { EINVAL, ENOSYS } from "../../abi/mod.ts";
import { INVALID_MFN } from "../../paging/mod.ts";
import { applyFlushes } from "../machine/flush.ts";
import type { Domain } from "../domain/domain.ts";
import type { GrantTable } from "../gnttab/table.ts";
import { asGfn, asMfn } from "../../abi/mod.ts";

/** XENMAPSPACE_shared_info. */
export const XENMAPSPACE_shared_info = 0;
/** XENMAPSPACE_grant_table. */
export const XENMAPSPACE_grant_table = 1;

/**
 * Puts machine frame `mfn` at `gpfn`: the RAM page there goes back (guest_remove_page),
 * the frame leaves any pfn it was at, and every vcpu's TLB is flushed.
 */
function placeFrame(d: Domain, mfn: number, gpfn: number): void {
  const f = d.host.frames;
  const old = d.p2m.get(asGfn(gpfn));
  if (old === mfn) return;
  if (old !== INVALID_MFN && !d.xenShared.has(old)) {
    f.releaseAllocation(old, d.domid, () => {});
  }
  const prev = f.m2p.get(asMfn(mfn));
  if (prev < d.p2m.maxPfns && d.p2m.get(prev) === mfn) d.p2m.set(prev, asMfn(INVALID_MFN));
  d.p2m.set(asGfn(gpfn), asMfn(mfn));
  f.m2p.set(asMfn(mfn), asGfn(gpfn));
  d.mm.flush.flushAll(d.mm.flush.allMask);
  applyFlushes(d);
}

/**
 * XENMEM_add_to_physmap for a translated domain.
 * @param d the domain
 * @param gnttab its grant table (for XENMAPSPACE_grant_table)
 * @param space XENMAPSPACE_*
 * @param idx the frame index within the space
 * @param gpfn where to put it
 * @returns 0; -EINVAL for a bad index or pfn; -ENOSYS for a space pvx does not have
 */
export function translatedAddToPhysmap(
  d: Domain,
  gnttab: GrantTable | null,
  space: number,
  idx: number,
  gpfn: number,
): number {
  if (gpfn >= d.p2m.maxPfns) return -EINVAL;
  let mfn: number;
  if (space === XENMAPSPACE_shared_info) {
    if (idx !== 0) return -EINVAL;
    mfn = d.sharedInfoMfn;
  } else if (space === XENMAPSPACE_grant_table) {
    // (idx with XENMAPIDX_grant_table_status names a v2 status frame: mapFrame sorts it)
    if (!gnttab) return -EINVAL;
    mfn = gnttab.mapFrame(idx, gpfn);
    if (mfn < 0) return mfn;
  } else {
    return -ENOSYS;
  }
  placeFrame(d, mfn, gpfn);
  return 0;
}

/**
 * Takes a Xen frame (a v2 status frame going away) out of a translated domain's p2m at
 * `gfn` when it is still there (guest_physmap_remove_page).
 */
export function unplaceXenFrame(d: Domain, gfn: number, mfn: number): void {
  if (gfn >= d.p2m.maxPfns || d.p2m.get(asGfn(gfn)) !== mfn) return;
  d.p2m.set(asGfn(gfn), asMfn(INVALID_MFN));
  d.host.frames.m2p.set(asMfn(mfn), asGfn(0xffffffff));
  d.mm.flush.flushAll(d.mm.flush.allMask);
  applyFlushes(d);
}
