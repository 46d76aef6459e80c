/**
 * The model of HYPERVISOR_update_va_mapping (__do_update_va_mapping): a checked write of
 * the L1 entry mapping one linear address, then the requested flush.
 * @module
 */

import {
  PGT_l1_page_table,
  UVMF_ALL,
  UVMF_FLUSHTYPE_MASK,
  UVMF_INVLPG,
  UVMF_LOCAL,
  UVMF_TLB_FLUSH,
} from "./constants.ts";
import { EINVAL, EOPNOTSUPP } from "../abi/mod.ts";
import { guestL1Mfn } from "./guest_l1e.ts";
import { modL1Entry, writeEntry } from "./mod_entry.ts";
import { isLockedTable } from "./mmu_update.ts";
import type { PagingDomain } from "./paging_domain.ts";

/**
 * update_va_mapping(va, val, flags).
 * @param d the calling domain
 * @param vcpu the calling vcpu (whose page tables locate the entry)
 * @param linear the linear address whose L1 entry is replaced
 * @param lo low dword of the new entry
 * @param hi high dword of the new entry
 * @param flags UVMF_* (flush type in bits 0..1; UVMF_LOCAL, UVMF_ALL, or else a guest
 *   pointer to a vcpu bitmap, which the shell reads and passes as `vcpuMask`)
 * @param vcpuMask the vcpu bitmap for the pointer form of `flags`
 * @param pgOwner domain whose frame the entry may map (update_va_mapping_otherdomain)
 * @returns 0; -EINVAL when no validated L1 of the domain maps that address (including the
 *   hypervisor hole); the entry check's errno (-EINVAL, -EPERM, -EBUSY); -EOPNOTSUPP for a
 *   translated domain writing a present entry that is not RAM of its own
 */
export function updateVaMapping(
  d: PagingDomain,
  vcpu: number,
  linear: number,
  lo: number,
  hi: number,
  flags: number,
  vcpuMask = 0,
  pgOwner: number = d.domid,
): number {
  const f = d.frames;
  const l1 = guestL1Mfn(d, vcpu, linear);
  const slot = (linear >>> 12) & 511;
  let rc: number;
  if (d.translated) {
    // Translated tables are ordinary RAM; the walker checks frames through the P2M.
    if (l1 < 0 || !f.isOwnedBy(l1, d.domid)) return -EINVAL;
    if (pgOwner !== d.domid) return -EOPNOTSUPP;
    writeEntry(f, l1, slot, lo, hi);
    rc = 0;
  } else {
    if (l1 < 0 || !f.getPage(l1, d.domid)) return -EINVAL;
    if (!isLockedTable(d, l1) || f.type[l1] !== PGT_l1_page_table) {
      f.putPage(l1);
      return -EINVAL;
    }
    rc = modL1Entry(f, l1, slot, lo, hi, d.domid, pgOwner);
    f.putPage(l1);
    if (rc !== 0) return rc;
  }
  const target = flags & ~UVMF_FLUSHTYPE_MASK;
  const mask = target === UVMF_LOCAL
    ? 1 << vcpu
    : target === UVMF_ALL
    ? d.flush.allMask
    : vcpuMask & d.flush.allMask;
  switch (flags & UVMF_FLUSHTYPE_MASK) {
    case UVMF_TLB_FLUSH:
      d.flush.flushAll(mask);
      break;
    case UVMF_INVLPG:
      d.flush.invlpg(mask, linear);
      break;
  }
  return rc;
}
