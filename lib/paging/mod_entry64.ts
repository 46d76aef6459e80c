/**
 * Checked updates of one entry of a 64-bit guest's page tables (mod_l1_entry ..
 * mod_l4_entry of Xen's arch/x86/mm.c for !is_pv_32bit_domain): validate, adjust (Xen's
 * USER / GUEST_KERNEL / ACCESSED bits), write, drop the old entry's references.
 * @module
 */

import { _PAGE_PRESENT, L1_DISALLOW_MASK, pteFlags } from "./constants.ts";
import { isGuestL4Slot, L3_DISALLOW_MASK_64, L4_DISALLOW_MASK } from "./constants64.ts";
import { L2_DISALLOW_MASK } from "./constants.ts";
import { EINVAL } from "../abi/mod.ts";
import type { MachineFrames } from "./machine_frames.ts";
import { writeEntry } from "./mod_entry.ts";
import { getPageFromL1e, putPageFromL1e } from "./validate_pte.ts";
import {
  adjusted,
  adjustL1e64,
  adjustUpperLo64,
  getPageFromUpper64,
  putPageFromUpper64,
} from "./validate_pte64.ts";

/** Low-dword bits that change without revalidation (FASTPATH_FLAG_WHITELIST: US, A, D, G, AVAIL). */
const FASTPATH_LO = 0x004 | 0x020 | 0x040 | 0x100 | 0xe00;
/** High-dword bits that change without revalidation: NX and bits 52..62. */
const FASTPATH_HI = 0xfff00000 | 0;

function hasChanged(olo: number, ohi: number, nlo: number, nhi: number): boolean {
  return ((olo ^ nlo) & ~FASTPATH_LO) !== 0 || ((ohi ^ nhi) & ~FASTPATH_HI) !== 0;
}

/**
 * mod_l1_entry for a 64-bit guest: sets slot `slot` of the validated L1 `l1Mfn`.
 * @param ptOwner the domain owning the table
 * @param pgOwner the domain whose frame the entry maps (normally ptOwner)
 * @returns 0 or getPageFromL1e's errno (-EINVAL, -EPERM, -EBUSY)
 */
export function modL1Entry64(
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
    const same = !hasChanged(olo, ohi, lo, hi);
    if (!same) {
      const rc = getPageFromL1e(f, lo, hi, ptOwner, pgOwner);
      if (rc !== 0) return rc;
    }
    adjustL1e64(lo, hi);
    writeEntry(f, l1Mfn, slot, adjusted[0], adjusted[1], preserveAD);
    if (same) return 0;
  } else {
    writeEntry(f, l1Mfn, slot, lo, hi, preserveAD);
  }
  putPageFromL1e(f, olo, ohi);
  return 0;
}

/**
 * mod_l2_entry / mod_l3_entry / mod_l4_entry for a 64-bit guest.
 * @param level 2, 3 or 4
 * @param tableMfn the validated table
 * @returns 0; -EINVAL for one of Xen's L4 slots ("L4 update in Xen-private area"),
 *   disallowed flags (PSE, cache attributes, G) or a frame that cannot be the next level
 *   down (nor a linear page table); or a nested validation errno
 */
export function modUpperEntry64(
  f: MachineFrames,
  level: number,
  tableMfn: number,
  slot: number,
  lo: number,
  hi: number,
  domid: number,
  preserveAD = false,
): number {
  if (level === 4 && !isGuestL4Slot(slot)) {
    f.reason = "L4 update in Xen-private area";
    return -EINVAL;
  }
  const i = tableMfn * 1024 + slot * 2;
  const olo = f.u32[i], ohi = f.u32[i + 1];
  if (lo & _PAGE_PRESENT) {
    const mask = level === 2
      ? L2_DISALLOW_MASK
      : level === 3
      ? L3_DISALLOW_MASK_64
      : L4_DISALLOW_MASK;
    if (pteFlags(lo, hi) & mask) {
      f.reason = `Bad L${level} flags`;
      return -EINVAL;
    }
    const same = !hasChanged(olo, ohi, lo, hi);
    if (!same) {
      const rc = getPageFromUpper64(f, level, lo, hi, domid, tableMfn);
      if (rc !== 0) return rc;
    }
    writeEntry(f, tableMfn, slot, adjustUpperLo64(level, lo), hi, preserveAD);
    if (same) return 0;
  } else {
    writeEntry(f, tableMfn, slot, lo, hi, preserveAD);
  }
  putPageFromUpper64(f, olo, ohi, tableMfn);
  return 0;
}
