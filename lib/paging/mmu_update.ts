/**
 * The per-request model of HYPERVISOR_mmu_update (do_mmu_update's loop body):
 * MMU_NORMAL_PT_UPDATE / MMU_PT_UPDATE_PRESERVE_AD / MMU_PT_UPDATE_NO_TRANSLATE on a
 * page-table (or plain) frame, and MMU_MACHPHYS_UPDATE. The shell loops and copies.
 * @module
 */

import {
  MMU_MACHPHYS_UPDATE,
  MMU_NORMAL_PT_UPDATE,
  MMU_PT_UPDATE_NO_TRANSLATE,
  MMU_PT_UPDATE_PRESERVE_AD,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_validated,
  PGT_writable_page,
} from "./constants.ts";
import { EINVAL, ENOSYS, EOPNOTSUPP } from "../abi/mod.ts";
import { modL1Entry, modL2Entry, modL3Entry, writeEntry } from "./mod_entry.ts";
import { getPageType, putPageType } from "./page_type.ts";
import type { PagingDomain } from "./paging_domain.ts";
import { asGfn, asMfn } from "../abi/mod.ts";

/**
 * Whether a frame is "lockable" as a page table right now (page_lock: validated, in use).
 * @param d the domain context
 * @param mfn machine frame
 */
export function isLockedTable(d: PagingDomain, mfn: number): boolean {
  const f = d.frames;
  return (f.tflags[mfn] & PGT_validated) !== 0 && f.typeCount[mfn] !== 0;
}

/**
 * One mmu_update request.
 * @param d the calling domain (owner of the page tables)
 * @param ptr the request's ptr (u64 as a number): machine address, command in bits 0..2
 * @param valLo low dword of the request's val
 * @param valHi high dword of the request's val
 * @param pgOwner domain whose frames L1 entries may map (foreigndom; the shell checks
 *   privilege), default the caller
 * @returns 0 or a negative errno: -ENOSYS for an unknown command; -EOPNOTSUPP for a
 *   page-table update by a translated domain; see {@link mmuUpdateNormalPt} and
 *   {@link mmuMachphysUpdate}
 */
export function mmuUpdate(
  d: PagingDomain,
  ptr: number,
  valLo: number,
  valHi: number,
  pgOwner: number = d.domid,
): number {
  const cmd = ptr % 8;
  const maddr = ptr - cmd;
  switch (cmd) {
    case MMU_NORMAL_PT_UPDATE:
    case MMU_PT_UPDATE_PRESERVE_AD:
    case MMU_PT_UPDATE_NO_TRANSLATE:
      return mmuUpdateNormalPt(d, maddr, valLo, valHi, cmd === MMU_PT_UPDATE_PRESERVE_AD, pgOwner);
    case MMU_MACHPHYS_UPDATE:
      return mmuMachphysUpdate(d, Math.floor(maddr / 4096), valLo);
    default:
      return -ENOSYS;
  }
}

/**
 * MMU_NORMAL_PT_UPDATE: a checked write of one 8-byte entry at machine address `maddr`.
 * A validated L1/L2/L3 gets mod_lN_entry's checks; a frame with no page-table type in use
 * is simply written (as Xen does for writable pages).
 * @param d the calling domain
 * @param maddr 8-aligned machine address of the entry
 * @param preserveAD keep the old accessed/dirty bits
 * @param pgOwner domain whose frames L1 entries may map
 * @returns 0; -EINVAL when the frame is not the domain's, is a descriptor page, or an
 *   L2/L3 update names a foreign pgOwner; -EOPNOTSUPP for a translated domain; or the
 *   entry check's errno (-EINVAL, -EPERM, -EBUSY)
 */
export function mmuUpdateNormalPt(
  d: PagingDomain,
  maddr: number,
  valLo: number,
  valHi: number,
  preserveAD = false,
  pgOwner: number = d.domid,
): number {
  if (d.translated) return -EOPNOTSUPP; // paging_mode_refcounts
  const f = d.frames;
  const mfn = Math.floor(maddr / 4096);
  const slot = (maddr % 4096) >>> 3;
  if (!f.getPage(mfn, d.domid)) {
    f.reason = "Could not get page for normal update";
    return -EINVAL;
  }
  let rc = -EINVAL;
  if (isLockedTable(d, mfn)) {
    switch (f.type[mfn]) {
      case PGT_l1_page_table:
        rc = modL1Entry(f, mfn, slot, valLo, valHi, d.domid, pgOwner, preserveAD);
        break;
      case PGT_l2_page_table:
        if (pgOwner === d.domid) rc = modL2Entry(f, mfn, slot, valLo, valHi, d.domid, preserveAD);
        break;
      case PGT_l3_page_table:
        if (pgOwner === d.domid) rc = modL3Entry(f, mfn, slot, valLo, valHi, d.domid, preserveAD);
        break;
      case PGT_writable_page:
        writeEntry(f, mfn, slot, valLo, valHi);
        rc = 0;
        break;
    }
  } else if (getPageType(f, mfn, PGT_writable_page) === 0) {
    writeEntry(f, mfn, slot, valLo, valHi);
    putPageType(f, mfn);
    rc = 0;
  }
  f.putPage(mfn);
  return rc;
}

/**
 * MMU_MACHPHYS_UPDATE: sets the M2P entry of one of the domain's frames.
 * @param d the calling domain
 * @param mfn the frame
 * @param pfn the new M2P value
 * @returns 0; -EINVAL for a translated domain or a frame it does not own
 */
export function mmuMachphysUpdate(d: PagingDomain, mfn: number, pfn: number): number {
  if (d.translated) return -EINVAL;
  const f = d.frames;
  if (!f.getPage(mfn, d.domid)) {
    f.reason = "Could not get page for mach->phys update";
    return -EINVAL;
  }
  f.m2p.set(asMfn(mfn), asGfn(pfn));
  f.putPage(mfn);
  return 0;
}
