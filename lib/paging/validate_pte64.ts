/**
 * Xen's page-table rules for a 64-bit PV guest (arch/x86/mm.c, pv/mm.h with
 * !is_pv_32bit_domain): get_page_from_l2e/l3e/l4e and their put_ counterparts, linear
 * page tables at every level (a read-only entry naming a validated table of its own
 * level), the adjust_guest_lNe bits Xen adds because the guest kernel runs in ring 3,
 * and promote/demote of whole L1..L4 tables with Xen's L4 slots filled in.
 * @module
 */

import {
  _PAGE_ACCESSED,
  _PAGE_GLOBAL,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  L2_DISALLOW_MASK,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_l4_page_table,
  PGT_validated,
  pteFlags,
  pteFrame,
} from "./constants.ts";
import {
  isGuestL4Slot,
  L3_DISALLOW_MASK_64,
  L4_DISALLOW_MASK,
  L4_FIRST_XEN_SLOT,
  L4_LAST_XEN_SLOT,
  L4_RO_MPT_SLOT,
  PTE_HI_GUEST_KERNEL,
} from "./constants64.ts";
import { EINVAL } from "../abi/mod.ts";
import type { MachineFrames } from "./machine_frames.ts";
import { getPageAndType, putPageAndType } from "./page_type.ts";
import { getPageFromL1e, putPageFromL1e } from "./validate_pte.ts";

/** Scratch for the adjusted (lo, hi) of an entry (no allocation per entry). */
export const adjusted: Uint32Array = new Uint32Array(2);

/**
 * adjust_guest_l1e for a 64-bit guest, into {@link adjusted}: a present kernel page (no
 * USER) gains USER and _PAGE_GUEST_KERNEL; a page then without _PAGE_GUEST_KERNEL (a
 * user page) gains GLOBAL and USER.
 */
export function adjustL1e64(lo: number, hi: number): void {
  if (lo & _PAGE_PRESENT) {
    if (!(lo & _PAGE_USER)) {
      lo |= _PAGE_USER;
      hi |= PTE_HI_GUEST_KERNEL;
    }
    if (!(hi & PTE_HI_GUEST_KERNEL)) lo |= _PAGE_GLOBAL | _PAGE_USER;
  }
  adjusted[0] = lo;
  adjusted[1] = hi;
}

/**
 * adjust_guest_l2e/l3e/l4e for a 64-bit guest: present entries gain USER (the L4 also
 * ACCESSED).
 * @param level 2, 3 or 4
 * @param lo the entry's low dword
 * @returns the adjusted low dword (the high dword is unchanged)
 */
export function adjustUpperLo64(level: number, lo: number): number {
  if (!(lo & _PAGE_PRESENT)) return lo;
  return (lo | _PAGE_USER | (level === 4 ? _PAGE_ACCESSED : 0)) >>> 0;
}

/** The page type an entry of a level-`level` table refers to. */
function childType(level: number): number {
  return level === 2 ? PGT_l1_page_table : level === 3 ? PGT_l2_page_table : PGT_l3_page_table;
}

/** The page type of a level-`level` table. */
export function tableType(level: number): number {
  return level === 2 ? PGT_l2_page_table : level === 3 ? PGT_l3_page_table : PGT_l4_page_table;
}

/** The disallow mask of a level. */
function disallowMask(level: number): number {
  return level === 2 ? L2_DISALLOW_MASK : level === 3 ? L3_DISALLOW_MASK_64 : L4_DISALLOW_MASK;
}

/**
 * get_page_from_l2e/l3e/l4e for a present entry of a 64-bit guest: the frame must be the
 * domain's and become (or be) a validated table of the next level down; failing that, a
 * read-only entry may name a validated table of the same level (a linear page table).
 * @param level 2, 3 or 4
 * @param tableMfn the table holding the entry
 * @returns 0, -EINVAL, or a nested validation error
 */
export function getPageFromUpper64(
  f: MachineFrames,
  level: number,
  lo: number,
  hi: number,
  domid: number,
  tableMfn: number,
): number {
  if (pteFlags(lo, hi) & disallowMask(level)) {
    f.reason = `Bad L${level} flags`;
    return -EINVAL;
  }
  const rc = getPageAndType(f, pteFrame(lo, hi), childType(level), domid);
  if (rc === -EINVAL && getLinearPagetable(f, level, lo, hi, tableMfn, domid)) return 0;
  return rc;
}

/**
 * get_lN_linear_pagetable (Xen's default pv-linear-pt): the entry is read-only and names
 * the table itself (no reference taken) or another validated table of the same level
 * owned by the domain, where the holding table is not itself a linear target and the
 * named table holds no linear entries.
 * @returns true when accepted (references taken)
 */
function getLinearPagetable(
  f: MachineFrames,
  level: number,
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
  if (f.owner[tableMfn] !== domid || !f.getPage(mfn, domid)) return false;
  const lin = f.linear;
  if (
    lin[tableMfn] < 0 || lin[mfn] > 0 || f.type[mfn] !== tableType(level) ||
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
 * put_page_from_l2e/l3e/l4e: drops what an old entry held (a lower table's references,
 * or a linear entry's on a table of the same level).
 * @param tableMfn the table holding the entry (a self-reference holds nothing)
 */
export function putPageFromUpper64(
  f: MachineFrames,
  lo: number,
  hi: number,
  tableMfn: number,
): void {
  if (!(lo & _PAGE_PRESENT)) return;
  const mfn = pteFrame(lo, hi);
  if (mfn === tableMfn) return;
  if (f.type[mfn] === f.type[tableMfn]) {
    f.linear[tableMfn]--;
    f.linear[mfn]++;
  }
  putPageAndType(f, mfn);
}

/**
 * Whether slot `slot` of a table of `type` belongs to the guest (64-bit): every slot
 * except Xen's L4 slots 256..271.
 */
export function isGuestSlot64(type: number, slot: number): boolean {
  return type !== PGT_l4_page_table || isGuestL4Slot(slot);
}

/**
 * Writes Xen's slots into a 64-bit guest's L4 (init_xen_l4_slots): slot 256 holds the
 * read-only M2P when `roMpt`; every other Xen slot is left empty in pvx (Xen's own
 * mappings there are supervisor-only, so a ring-3 guest cannot use them; pvx has no
 * hypervisor mappings to put there).
 * @param f the frames
 * @param l4Mfn the L4
 * @param roMpt map the read-only M2P in slot 256
 */
export function writeXenL4Slots(f: MachineFrames, l4Mfn: number, roMpt: boolean): void {
  const u32 = f.u32;
  const base = l4Mfn * 1024;
  u32.fill(0, base + L4_FIRST_XEN_SLOT * 2, base + (L4_LAST_XEN_SLOT + 1) * 2);
  if (roMpt) setRoMpt(f, l4Mfn, true);
  f.mem.noteWrite(l4Mfn * 4096 + L4_FIRST_XEN_SLOT * 8, (L4_LAST_XEN_SLOT + 1 - 256) * 8);
}

/**
 * fill_ro_mpt / zap_ro_mpt: sets or clears slot 256 of an L4.
 * @returns true when the slot changed
 */
export function setRoMpt(f: MachineFrames, l4Mfn: number, present: boolean): boolean {
  const i = l4Mfn * 1024 + L4_RO_MPT_SLOT * 2;
  const m = f.m2p64;
  const lo = present ? m.roMptL4Lo : 0, hi = present ? m.roMptL4Hi : 0;
  if (f.u32[i] === lo && f.u32[i + 1] === hi) return false;
  f.u32[i] = lo;
  f.u32[i + 1] = hi;
  f.mem.noteWrite(l4Mfn * 4096 + L4_RO_MPT_SLOT * 8, 8);
  return true;
}

/**
 * promote_l1..l4_table for a 64-bit guest: validates every guest entry, writes the
 * adjusted entries back, and (L4) fills Xen's slots. On failure every reference taken so
 * far is dropped and the bad entry's errno returned.
 * @param f the frames
 * @param mfn the table
 * @param type PGT_l1..l4_page_table
 * @param roMpt for an L4: whether slot 256 gets the read-only M2P (VMASST m2p_strict)
 */
export function allocPageTable64(
  f: MachineFrames,
  mfn: number,
  type: number,
  roMpt: boolean,
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
    for (let i = 0; i < 512; i++) {
      adjustL1e64(u32[base + 2 * i], u32[base + 2 * i + 1]);
      u32[base + 2 * i] = adjusted[0];
      u32[base + 2 * i + 1] = adjusted[1];
    }
    f.mem.noteWrite(mfn * 4096, 4096);
    return 0;
  }
  if (type < PGT_l2_page_table || type > PGT_l4_page_table) return -EINVAL;
  const level = type === PGT_l2_page_table ? 2 : type === PGT_l3_page_table ? 3 : 4;
  for (let i = 0; i < 512; i++) {
    if (level === 4 && !isGuestL4Slot(i)) continue;
    const lo = u32[base + 2 * i];
    if (!(lo & _PAGE_PRESENT)) continue;
    const rc = getPageFromUpper64(f, level, lo, u32[base + 2 * i + 1], domid, mfn);
    if (rc !== 0) {
      while (i-- > 0) {
        if (level === 4 && !isGuestL4Slot(i)) continue;
        putPageFromUpper64(f, u32[base + 2 * i], u32[base + 2 * i + 1], mfn);
      }
      return rc;
    }
  }
  for (let i = 0; i < 512; i++) {
    if (level === 4 && !isGuestL4Slot(i)) continue;
    u32[base + 2 * i] = adjustUpperLo64(level, u32[base + 2 * i]);
  }
  f.mem.noteWrite(mfn * 4096, 4096);
  if (level === 4) writeXenL4Slots(f, mfn, roMpt);
  return 0;
}

/**
 * demote_l1..l4_table for a 64-bit guest: drops the references of every guest entry of a
 * table whose last type reference went (Xen's L4 slots hold none).
 */
export function freePageTable64(f: MachineFrames, mfn: number, type: number): void {
  const u32 = f.u32;
  const base = mfn * 1024;
  if (type === PGT_l1_page_table) {
    for (let i = 0; i < 512; i++) putPageFromL1e(f, u32[base + 2 * i], u32[base + 2 * i + 1]);
    return;
  }
  for (let i = 0; i < 512; i++) {
    if (!isGuestSlot64(type, i)) continue;
    putPageFromUpper64(f, u32[base + 2 * i], u32[base + 2 * i + 1], mfn);
  }
}
