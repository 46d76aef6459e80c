/**
 * Reference-taking validation of page-table entries (get_page_from_l1e/l2e/l3e and their
 * put_ counterparts) and of whole tables (alloc_/free_l1/l2/l3_table, alloc_segdesc_page),
 * with the rules of Xen's arch/x86/mm.c for a 32-bit PAE PV guest.
 * @module
 */

import {
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  L1_DISALLOW_MASK,
  L2_DISALLOW_MASK,
  L2_FIRST_XEN_SLOT,
  L3_DISALLOW_MASK,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_validated,
  PGT_writable_page,
  pteFlags,
  pteFrame,
} from "./constants.ts";
import { EBUSY, EINVAL, EPERM } from "../abi/mod.ts";
import type { MachineFrames } from "./machine_frames.ts";
import { getPageAndType, getPageType, putPageAndType } from "./page_type.ts";

/** PADDR_MASK >> PAGE_SHIFT: the all-ones frame Xen treats as "not MMIO" (-EINVAL). */
const ALL_ONES_FRAME = 0xffffffffff;

/**
 * get_page_from_l1e for a present entry: checks its flags and takes a general reference
 * on the frame it maps (plus a writable type reference when it is writable).
 * @param f the frames
 * @param lo low dword of the entry
 * @param hi high dword of the entry
 * @param l1eOwner the domain whose page table holds the entry
 * @param pgOwner the domain whose frame it should map (normally the same)
 * @returns 0; -EINVAL for disallowed flags (cache attributes, PSE/PAT); -EPERM for a frame
 *   beyond machine memory (Xen's "non-privileged attempt to map MMIO space"); -EBUSY for a
 *   free or foreign frame, or a writable mapping of a frame typed as anything but
 *   writable (a page table or descriptor page: Xen's could_not_pin path)
 */
export function getPageFromL1e(
  f: MachineFrames,
  lo: number,
  hi: number,
  l1eOwner: number,
  pgOwner: number,
): number {
  if (pteFlags(lo, hi) & L1_DISALLOW_MASK) {
    f.reason = "Bad L1 flags";
    return -EINVAL;
  }
  const mfn = pteFrame(lo, hi);
  if (mfn >= f.count) {
    f.reason = "Non-privileged attempt to map MMIO space";
    return mfn === ALL_ONES_FRAME ? -EINVAL : -EPERM;
  }
  const write = (lo & _PAGE_RW) !== 0;
  const realOwner = f.getPageAnyOwner(mfn);
  if (realOwner < 0) {
    f.reason = "Error getting mfn from L1 entry: frame is free";
    return -EBUSY; // real_pg_owner == NULL
  }
  if (realOwner !== pgOwner) {
    const check = f.foreignMapCheck;
    if (check === null || !check(l1eOwner, mfn, write)) {
      f.putPage(mfn);
      f.reason = "Error getting mfn from L1 entry: pg_owner is not real_pg_owner";
      return -EBUSY;
    }
  }
  if (write && getPageType(f, mfn, PGT_writable_page) !== 0) {
    f.putPage(mfn);
    f.reason = "Could not get page type PGT_writable_page";
    return -EBUSY;
  }
  return 0;
}

/**
 * put_page_from_l1e: drops what {@link getPageFromL1e} took for an entry.
 * @param f the frames
 * @param lo low dword of the old entry
 * @param hi high dword of the old entry
 */
export function putPageFromL1e(f: MachineFrames, lo: number, hi: number): void {
  if (!(lo & _PAGE_PRESENT)) return;
  const mfn = pteFrame(lo, hi);
  if (lo & _PAGE_RW) putPageAndType(f, mfn);
  else f.putPage(mfn);
}

/**
 * get_page_from_l2e for a present entry: the frame must be the domain's and become (or
 * be) a validated L1. PSE superpages are refused by the flag mask. As in Xen 4.17 (with
 * its default pv-linear-pt), a read-only entry may instead name a validated L2 (itself or
 * another one): a linear page table, see {@link getL2LinearPagetable}.
 * @param tableMfn the L2 holding the entry
 * @returns 0, -EINVAL, or a nested validation error
 */
export function getPageFromL2e(
  f: MachineFrames,
  lo: number,
  hi: number,
  domid: number,
  tableMfn: number,
): number {
  if (pteFlags(lo, hi) & L2_DISALLOW_MASK) {
    f.reason = "Bad L2 flags";
    return -EINVAL;
  }
  const rc = getPageAndType(f, pteFrame(lo, hi), PGT_l1_page_table, domid);
  if (rc === -EINVAL && getL2LinearPagetable(f, lo, hi, tableMfn, domid)) return 0;
  return rc;
}

/**
 * get_l2_linear_pagetable: accepts an L2 entry naming an L2 when it is read-only, names the
 * table itself (holding nothing) or another validated L2 of the domain, and neither table
 * breaks the one-way rule (a table holding linear entries is not itself a linear target).
 * @returns true when the entry is a valid linear mapping (references taken)
 */
function getL2LinearPagetable(
  f: MachineFrames,
  lo: number,
  hi: number,
  tableMfn: number,
  domid: number,
): boolean {
  if (lo & _PAGE_RW) {
    f.reason = "Attempt to create linear p.t. with write perms";
    return false;
  }
  const mfn = pteFrame(lo, hi);
  if (mfn === tableMfn) return true;
  if (!f.getPage(mfn, domid)) return false;
  const lin = f.linear;
  if (
    lin[tableMfn] < 0 || lin[mfn] > 0 || f.type[mfn] !== PGT_l2_page_table ||
    !(f.tflags[mfn] & PGT_validated) || f.typeCount[mfn] === 0xffffffff
  ) {
    f.putPage(mfn);
    f.reason = "Bad linear page table";
    return false;
  }
  lin[tableMfn]++;
  lin[mfn]--;
  f.typeCount[mfn]++;
  return true;
}

/**
 * put_page_from_l2e: drops the references an old L2 entry held (an L1's, or a linear
 * entry's on another L2).
 * @param tableMfn the L2 holding the entry (a self-reference holds nothing)
 */
export function putPageFromL2e(f: MachineFrames, lo: number, hi: number, tableMfn: number): void {
  if (!(lo & _PAGE_PRESENT)) return;
  const mfn = pteFrame(lo, hi);
  if (mfn === tableMfn) return;
  if (f.type[mfn] === PGT_l2_page_table) {
    // A linear entry: the target has the same type as the table holding it.
    f.linear[tableMfn]--;
    f.linear[mfn]++;
  }
  putPageAndType(f, mfn);
}

/**
 * get_page_from_l3e for a present entry in slots 0..2: the frame must become (or be) a
 * validated ordinary L2.
 * @returns 0, -EINVAL, or a nested validation error
 */
export function getPageFromL3e(f: MachineFrames, lo: number, hi: number, domid: number): number {
  if (pteFlags(lo, hi) & L3_DISALLOW_MASK) {
    f.reason = "Bad L3 flags";
    return -EINVAL;
  }
  return getPageAndType(f, pteFrame(lo, hi), PGT_l2_page_table, domid);
}

/** put_page_from_l3e: drops the L2 references an old L3 entry held. */
export function putPageFromL3e(f: MachineFrames, lo: number, hi: number, tableMfn: number): void {
  if (!(lo & _PAGE_PRESENT)) return;
  const mfn = pteFrame(lo, hi);
  if (mfn === tableMfn) return;
  putPageAndType(f, mfn);
}

/**
 * adjust_guest_l3e for a 32-bit guest: present L3 entries gain USER and RW, since the
 * table is used in long mode where those bits gate the whole 1 GiB.
 */
export function adjustL3Lo(lo: number): number {
  return lo & _PAGE_PRESENT ? lo | _PAGE_USER | _PAGE_RW : lo;
}

/** unadjust_guest_l3e: what {@link adjustL3Lo} added goes again when the table is freed. */
export function unadjustL3Lo(lo: number): number {
  return lo & _PAGE_PRESENT ? lo & ~(_PAGE_USER | _PAGE_RW) : lo;
}

/**
 * Whether an L2 slot is the guest's (is_guest_l2_slot): every slot of an ordinary L2; in
 * the slot-3 L2 only those below the hypervisor hole.
 */
export function isGuestL2Slot(paeXenL2: boolean, slot: number): boolean {
  return !paeXenL2 || slot < L2_FIRST_XEN_SLOT;
}

/**
 * alloc_l1/l2/l3_table: validates every guest entry of a frame being promoted. On failure
 * every reference taken so far is dropped again and the errno of the bad entry returned.
 * @param f the frames
 * @param mfn the table
 * @param type PGT_l1/l2/l3_page_table
 * @param paeXenL2 an L2 wanted as slot-3 L2 (gets Xen's slots written on success)
 */
export function allocPageTable(
  f: MachineFrames,
  mfn: number,
  type: number,
  paeXenL2: boolean,
): number {
  const u32 = f.u32;
  const base = mfn * 1024;
  const domid = f.owner[mfn];
  if (type === PGT_l1_page_table) {
    for (let i = 0; i < 512; i++) {
      const lo = u32[base + 2 * i];
      if (!(lo & _PAGE_PRESENT)) continue;
      const rc = getPageFromL1e(f, lo, u32[base + 2 * i + 1], domid, domid);
      if (rc !== 0) {
        while (i-- > 0) putPageFromL1e(f, u32[base + 2 * i], u32[base + 2 * i + 1]);
        return rc;
      }
    }
    return 0;
  }
  if (type === PGT_l2_page_table) {
    for (let i = 0; i < 512; i++) {
      if (!isGuestL2Slot(paeXenL2, i)) break;
      const lo = u32[base + 2 * i];
      if (!(lo & _PAGE_PRESENT)) continue;
      const rc = getPageFromL2e(f, lo, u32[base + 2 * i + 1], domid, mfn);
      if (rc !== 0) {
        while (i-- > 0) putPageFromL2e(f, u32[base + 2 * i], u32[base + 2 * i + 1], mfn);
        return rc;
      }
    }
    if (paeXenL2) f.m2p.writeXenL2Slots(u32, mfn);
    return 0;
  }
  if (type === PGT_l3_page_table) return allocL3Table(f, mfn, domid);
  return -EINVAL; // PGT_l4_page_table: a 32-bit guest has none
}

function allocL3Table(f: MachineFrames, mfn: number, domid: number): number {
  const u32 = f.u32;
  const base = mfn * 1024;
  // Only 4 entries exist in a PAE L3; Xen clears the rest of the page.
  u32.fill(0, base + 8, base + 1024);
  f.mem.noteWrite(mfn * 4096 + 32, 4096 - 32);
  let rc = 0;
  let i = 0;
  for (; i < 4; i++) {
    const lo = u32[base + 2 * i];
    const hi = u32[base + 2 * i + 1];
    if (i === 3) {
      // Slot 3 holds Xen's mappings: it must exist and be an L2 of its own.
      if (!(lo & _PAGE_PRESENT) || (pteFlags(lo, hi) & L3_DISALLOW_MASK)) {
        f.reason = "PAE L3 3rd slot is empty or has bad flags";
        rc = -EINVAL;
      } else rc = getPageAndType(f, pteFrame(lo, hi), PGT_l2_page_table, domid, true);
    } else if (lo & _PAGE_PRESENT) {
      rc = getPageFromL3e(f, lo, hi, domid);
    }
    if (rc !== 0) break;
  }
  // create_pae_xen_mappings: the slot-3 L2 may not be shared with another L3.
  if (rc === 0 && f.typeCount[pteFrame(u32[base + 6], u32[base + 7])] !== 1) {
    i = 4;
    f.reason = "PAE L3 3rd slot is shared";
    rc = -EINVAL;
  }
  if (rc !== 0) {
    while (i-- > 0) putPageFromL3e(f, u32[base + 2 * i], u32[base + 2 * i + 1], mfn);
    return rc;
  }
  for (i = 0; i < 4; i++) u32[base + 2 * i] = adjustL3Lo(u32[base + 2 * i]);
  f.mem.noteWrite(mfn * 4096, 32);
  return 0;
}

/**
 * free_l1/l2/l3_table: drops the references of every guest entry of a table whose last
 * type reference went.
 */
export function freePageTable(
  f: MachineFrames,
  mfn: number,
  type: number,
  paeXenL2: boolean,
): void {
  const u32 = f.u32;
  const base = mfn * 1024;
  if (type === PGT_l1_page_table) {
    for (let i = 0; i < 512; i++) putPageFromL1e(f, u32[base + 2 * i], u32[base + 2 * i + 1]);
  } else if (type === PGT_l2_page_table) {
    const n = paeXenL2 ? L2_FIRST_XEN_SLOT : 512;
    for (let i = 0; i < n; i++) putPageFromL2e(f, u32[base + 2 * i], u32[base + 2 * i + 1], mfn);
  } else if (type === PGT_l3_page_table) {
    for (let i = 0; i < 4; i++) {
      putPageFromL3e(f, u32[base + 2 * i], u32[base + 2 * i + 1], mfn);
      u32[base + 2 * i] = unadjustL3Lo(u32[base + 2 * i]);
    }
    f.mem.noteWrite(mfn * 4096, 32);
  }
}

/**
 * alloc_segdesc_page: every descriptor of a GDT/LDT frame must pass the hypervisor's
 * descriptor check.
 * @returns 0 or -EINVAL
 */
export function allocSegdescPage(f: MachineFrames, mfn: number): number {
  const check = f.descriptorCheck;
  if (check === null) return 0;
  const base = mfn * 1024;
  const owner = f.owner[mfn];
  for (let i = 0; i < 512; i++) {
    if (!check(owner, f.u32[base + 2 * i], f.u32[base + 2 * i + 1], mfn * 4096 + i * 8)) {
      f.reason = "Bad descriptor in segment descriptor page";
      return -EINVAL;
    }
  }
  return 0;
}
