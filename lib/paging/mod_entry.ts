/**
 * Checked updates of one page-table entry (mod_l1_entry, mod_l2_entry, mod_l3_entry of
 * Xen's arch/x86/mm.c): validate the new entry, write it, drop the old entry's references.
 * @module
 */

import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  L1_DISALLOW_MASK,
  L2_DISALLOW_MASK,
  L3_DISALLOW_MASK,
  PGT_pae_xen_l2,
  pteFlags,
} from "./constants.ts";
import { EINVAL, EPERM } from "../abi/mod.ts";
import type { MachineFrames } from "./machine_frames.ts";
import {
  adjustL3Lo,
  getPageFromL1e,
  getPageFromL2e,
  getPageFromL3e,
  isGuestL2Slot,
  putPageFromL1e,
  putPageFromL2e,
  putPageFromL3e,
} from "./validate_pte.ts";

/** Low-dword bits that may change without revalidation (FASTPATH_FLAG_WHITELIST: US, A, D, G, AVAIL). */
const FASTPATH_LO = 0x004 | 0x020 | 0x040 | 0x100 | 0xe00;
/** High-dword bits that may change without revalidation: NX and bits 52..62. */
const FASTPATH_HI = 0xfff00000 | 0;

/**
 * l1e_has_changed(..., ~FASTPATH_FLAG_WHITELIST): whether frame, presence, RW or cache bits
 * differ between two entries.
 */
function hasChanged(olo: number, ohi: number, nlo: number, nhi: number): boolean {
  return ((olo ^ nlo) & ~FASTPATH_LO) !== 0 || ((ohi ^ nhi) & ~FASTPATH_HI) !== 0;
}

/**
 * Writes an entry into a table frame (UPDATE_ENTRY), optionally keeping the A/D bits the
 * hardware set in the old value.
 */
export function writeEntry(
  f: MachineFrames,
  mfn: number,
  slot: number,
  lo: number,
  hi: number,
  preserveAD = false,
): void {
  const i = mfn * 1024 + slot * 2;
  if (preserveAD) lo |= f.u32[i] & (_PAGE_ACCESSED | _PAGE_DIRTY);
  f.u32[i] = lo;
  f.u32[i + 1] = hi;
  f.mem.noteWrite(mfn * 4096 + slot * 8, 8);
}

/**
 * mod_l1_entry: sets slot `slot` of the validated L1 `l1Mfn` to (lo, hi).
 * @param f the frames
 * @param l1Mfn the L1 table (a validated L1 of `ptOwner`, locked by the caller's checks)
 * @param slot 0..511
 * @param ptOwner the domain owning the table
 * @param pgOwner the domain whose frame the entry maps (normally ptOwner)
 * @param preserveAD MMU_PT_UPDATE_PRESERVE_AD
 * @returns 0 or getPageFromL1e's errno (-EINVAL, -EPERM, -EBUSY)
 */
export function modL1Entry(
  f: MachineFrames,
  l1Mfn: number,
  slot: number,
  lo: number,
  hi: number,
  ptOwner: number,
  pgOwner: number,
  preserveAD = false,
): number {
  const i = l1Mfn * 1024 + slot * 2;
  const olo = f.u32[i], ohi = f.u32[i + 1];
  if (lo & _PAGE_PRESENT) {
    if (pteFlags(lo, hi) & L1_DISALLOW_MASK) {
      f.reason = "Bad L1 flags";
      return -EINVAL;
    }
    if (!hasChanged(olo, ohi, lo, hi)) {
      writeEntry(f, l1Mfn, slot, lo, hi, preserveAD);
      return 0;
    }
    const rc = getPageFromL1e(f, lo, hi, ptOwner, pgOwner);
    if (rc !== 0) return rc;
  }
  writeEntry(f, l1Mfn, slot, lo, hi, preserveAD);
  putPageFromL1e(f, olo, ohi);
  return 0;
}

/**
 * mod_l2_entry: sets a slot of a validated L2.
 * @returns 0; -EPERM for a Xen slot of the slot-3 L2 ("L2 update in Xen-private area");
 *   -EINVAL for disallowed flags (PSE, cache attributes, G) or a frame that cannot be an L1
 */
export function modL2Entry(
  f: MachineFrames,
  l2Mfn: number,
  slot: number,
  lo: number,
  hi: number,
  domid: number,
  preserveAD = false,
): number {
  if (!isGuestL2Slot((f.tflags[l2Mfn] & PGT_pae_xen_l2) !== 0, slot)) {
    f.reason = "L2 update in Xen-private area";
    return -EPERM;
  }
  const i = l2Mfn * 1024 + slot * 2;
  const olo = f.u32[i], ohi = f.u32[i + 1];
  if (lo & _PAGE_PRESENT) {
    if (pteFlags(lo, hi) & L2_DISALLOW_MASK) {
      f.reason = "Bad L2 flags";
      return -EINVAL;
    }
    if (!hasChanged(olo, ohi, lo, hi)) {
      writeEntry(f, l2Mfn, slot, lo, hi, preserveAD);
      return 0;
    }
    const rc = getPageFromL2e(f, lo, hi, domid, l2Mfn);
    if (rc !== 0) return rc;
  }
  writeEntry(f, l2Mfn, slot, lo, hi, preserveAD);
  putPageFromL2e(f, olo, ohi, l2Mfn);
  return 0;
}

/**
 * mod_l3_entry: sets slot 0..2 of a validated PAE L3.
 * @returns 0; -EINVAL for slot 3 and above (Xen never lets the slot holding its own
 *   mappings change), disallowed flags, or a frame that cannot be an ordinary L2
 */
export function modL3Entry(
  f: MachineFrames,
  l3Mfn: number,
  slot: number,
  lo: number,
  hi: number,
  domid: number,
  preserveAD = false,
): number {
  if (slot >= 3) {
    f.reason = "L3 update of slot 3 (Xen's mappings)";
    return -EINVAL;
  }
  const i = l3Mfn * 1024 + slot * 2;
  const olo = f.u32[i], ohi = f.u32[i + 1];
  if (lo & _PAGE_PRESENT) {
    if (pteFlags(lo, hi) & L3_DISALLOW_MASK) {
      f.reason = "Bad L3 flags";
      return -EINVAL;
    }
    if (!hasChanged(olo, ohi, lo, hi)) {
      writeEntry(f, l3Mfn, slot, adjustL3Lo(lo), hi, preserveAD);
      return 0;
    }
    const rc = getPageFromL3e(f, lo, hi, domid);
    if (rc !== 0) return rc;
    lo = adjustL3Lo(lo);
  }
  writeEntry(f, l3Mfn, slot, lo, hi, preserveAD);
  putPageFromL3e(f, olo, ohi, l3Mfn);
  return 0;
}
