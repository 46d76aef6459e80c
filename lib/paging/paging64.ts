/**
 * The hypercall-level page-table operations of a 64-bit PV guest (Xen's do_mmu_update,
 * do_mmuext_op and do_update_va_mapping for !is_pv_32bit_domain): checked entry writes
 * at all four levels, pinning L1..L4, the kernel and user base pointers
 * (MMUEXT_NEW_BASEPTR, MMUEXT_NEW_USER_BASEPTR) with the m2p_strict handling of the
 * read-only M2P slot, and update_va_mapping through the 4-level tables.
 *
 * The 32-bit entry points (mmu_update.ts, mmuext_op.ts, update_va_mapping.ts) stay as
 * they are; the hypervisor calls these for a domain created with `pv64`.
 * @module
 */

import {
  _PAGE_PRESENT,
  _PAGE_PSE,
  MMU_MACHPHYS_UPDATE,
  MMU_NORMAL_PT_UPDATE,
  MMU_PT_UPDATE_NO_TRANSLATE,
  MMU_PT_UPDATE_PRESERVE_AD,
  MMUEXT_INVLPG_ALL,
  MMUEXT_INVLPG_LOCAL,
  MMUEXT_INVLPG_MULTI,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_NEW_USER_BASEPTR,
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_PIN_L2_TABLE,
  MMUEXT_PIN_L3_TABLE,
  MMUEXT_PIN_L4_TABLE,
  MMUEXT_SET_LDT,
  MMUEXT_TLB_FLUSH_ALL,
  MMUEXT_TLB_FLUSH_LOCAL,
  MMUEXT_TLB_FLUSH_MULTI,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_l4_page_table,
  PGT_writable_page,
  pteFrame,
  UVMF_ALL,
  UVMF_FLUSHTYPE_MASK,
  UVMF_INVLPG,
  UVMF_LOCAL,
  UVMF_TLB_FLUSH,
} from "./constants.ts";
import { isGuestL4Slot, l1Index, l2Index, l3Index, l4Index } from "./constants64.ts";
import { isCanonical } from "./lm_walk.ts";
import { EINVAL, ENOSYS } from "../abi/mod.ts";
import { writeEntry } from "./mod_entry.ts";
import { modL1Entry64, modUpperEntry64 } from "./mod_entry64.ts";
import { isLockedTable, mmuMachphysUpdate } from "./mmu_update.ts";
import { mmuextOp, pinTable } from "./mmuext_op.ts";
import { getPageAndType, getPageType, putPageAndType, putPageType } from "./page_type.ts";
import type { PagingDomain } from "./paging_domain.ts";
import { setRoMpt } from "./validate_pte64.ts";

/**
 * One mmu_update request of a 64-bit guest.
 * @param d the calling domain (pv64)
 * @param ptr the request's ptr as a number (machine address | command)
 * @param valLo low dword of val
 * @param valHi high dword of val
 * @param pgOwner foreigndom (default the caller)
 * @returns 0 or a negative errno
 */
export function mmuUpdate64(
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
      return mmuUpdateNormalPt64(
        d,
        maddr,
        valLo,
        valHi,
        cmd === MMU_PT_UPDATE_PRESERVE_AD,
        pgOwner,
      );
    case MMU_MACHPHYS_UPDATE:
      return mmuMachphysUpdate(d, Math.floor(maddr / 4096), valLo);
    default:
      return -ENOSYS;
  }
}

/**
 * MMU_NORMAL_PT_UPDATE of a 64-bit guest: a checked write of one 8-byte entry of a
 * validated L1..L4 (mod_lN_entry), or a plain write to a frame that can be writable.
 * @returns 0; -EINVAL when the frame is not the domain's, is a descriptor page, or an
 *   L2..L4 update names a foreign pgOwner; or the entry check's errno
 */
export function mmuUpdateNormalPt64(
  d: PagingDomain,
  maddr: number,
  valLo: number,
  valHi: number,
  preserveAD = false,
  pgOwner: number = d.domid,
): number {
  const f = d.frames;
  const mfn = Math.floor(maddr / 4096);
  const slot = (maddr % 4096) >>> 3;
  if (!f.getPage(mfn, d.domid)) {
    f.reason = "Could not get page for normal update";
    return -EINVAL;
  }
  let rc = -EINVAL;
  if (isLockedTable(d, mfn)) {
    const t = f.type[mfn];
    if (t === PGT_l1_page_table) {
      rc = modL1Entry64(f, mfn, slot, valLo, valHi, d.domid, pgOwner, preserveAD);
    } else if (t >= PGT_l2_page_table && t <= PGT_l4_page_table) {
      if (pgOwner === d.domid) {
        const level = t === PGT_l2_page_table ? 2 : t === PGT_l3_page_table ? 3 : 4;
        rc = modUpperEntry64(f, level, mfn, slot, valLo, valHi, d.domid, preserveAD);
      }
    } else if (t === PGT_writable_page) {
      writeEntry(f, mfn, slot, valLo, valHi);
      rc = 0;
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
 * One mmuext_op of a 64-bit guest: PIN_L1..L4 pin tables of that level,
 * NEW_BASEPTR/NEW_USER_BASEPTR install L4s; every other command is the 32-bit one's
 * (unpin, flushes, SET_LDT, CLEAR/COPY_PAGE).
 * @param arg1 mfn or linear address (for the linear forms, its low 32 bits: the flush
 *   model keeps page numbers)
 * @param arg1Hi the high half of a linear arg1 (SET_LDT) when arg1 is only its low half;
 *   by default arg1 is taken whole (a lower-half address below 2^53)
 */
export function mmuextOp64(
  d: PagingDomain,
  vcpu: number,
  cmd: number,
  arg1: number,
  arg2 = 0,
  arg1Hi?: number,
): number {
  switch (cmd) {
    case MMUEXT_PIN_L1_TABLE:
      return pinTable(d, arg1, PGT_l1_page_table);
    case MMUEXT_PIN_L2_TABLE:
      return pinTable(d, arg1, PGT_l2_page_table);
    case MMUEXT_PIN_L3_TABLE:
      return pinTable(d, arg1, PGT_l3_page_table);
    case MMUEXT_PIN_L4_TABLE:
      return pinTable(d, arg1, PGT_l4_page_table);
    case MMUEXT_NEW_BASEPTR:
      return newBaseptr64(d, vcpu, arg1);
    case MMUEXT_NEW_USER_BASEPTR:
      return newUserBaseptr64(d, vcpu, arg1);
    case MMUEXT_SET_LDT:
      return setLdt64(d, vcpu, arg1 >>> 0, arg1Hi ?? Math.floor(arg1 / 0x100000000), arg2);
    case MMUEXT_INVLPG_LOCAL:
    case MMUEXT_INVLPG_MULTI:
    case MMUEXT_INVLPG_ALL:
      // The flush model keeps 32-bit page numbers: an address above 4 GiB (or in the
      // upper half) flushes the whole TLB of the vcpus named instead.
      if (arg1 !== (arg1 >>> 0)) {
        const cmdAll = cmd === MMUEXT_INVLPG_LOCAL
          ? MMUEXT_TLB_FLUSH_LOCAL
          : cmd === MMUEXT_INVLPG_MULTI
          ? MMUEXT_TLB_FLUSH_MULTI
          : MMUEXT_TLB_FLUSH_ALL;
        return mmuextOp(d, vcpu, cmdAll, 0, arg2);
      }
      return mmuextOp(d, vcpu, cmd, arg1, arg2);
    default:
      return mmuextOp(d, vcpu, cmd, arg1, arg2);
  }
}

/**
 * Whether a 64-bit guest may name the address (hi:lo) (Xen's x86_64 __addr_ok): the lower
 * canonical half, or at or above HYPERVISOR_VIRT_END (0xffff880000000000).
 */
export function addrOk64(hi: number): boolean {
  const h = hi >>> 0;
  return h < 0x8000 || h >= 0xffff8800;
}

/**
 * MMUEXT_SET_LDT of a 64-bit guest: the base (ignored when ents is 0) must be page aligned
 * and pass __addr_ok, at most 8192 entries.
 * @returns 0 or -EINVAL
 */
export function setLdt64(
  d: PagingDomain,
  vcpu: number,
  lo: number,
  hi: number,
  ents: number,
): number {
  const pLo = ents !== 0 ? lo >>> 0 : 0, pHi = ents !== 0 ? hi >>> 0 : 0;
  if ((pLo & 0xfff) !== 0 || !addrOk64(pHi) || !(ents >= 0 && ents <= 8192)) return -EINVAL;
  if (d.ldtEnts[vcpu] !== ents || d.ldtBase[vcpu] !== pLo || d.ldtBaseHi[vcpu] !== pHi) {
    d.ldtBase[vcpu] = pLo;
    d.ldtBaseHi[vcpu] = pHi;
    d.ldtEnts[vcpu] = ents;
    d.flush.flushAll(1 << vcpu);
  }
  return 0;
}

/**
 * MMUEXT_NEW_BASEPTR of a 64-bit guest (new_guest_cr3): installs a validated L4 as the
 * vcpu's kernel base, holding a type reference; without m2p_strict the L4 gains the
 * read-only M2P slot.
 * @returns 0, -EINVAL, or the validation errno
 */
export function newBaseptr64(d: PagingDomain, vcpu: number, mfn: number): number {
  const f = d.frames;
  const old = d.baseMfn[vcpu];
  if (old !== mfn) {
    const rc = getPageAndType(f, mfn, PGT_l4_page_table, d.domid);
    if (rc !== 0) return rc;
    d.baseMfn[vcpu] = mfn;
    if (old !== 0) putPageAndType(f, old);
  }
  if (!d.m2pStrict) setRoMpt(f, mfn, true);
  syncWalker64(d, vcpu);
  d.flush.flushAll(1 << vcpu);
  return 0;
}

/**
 * Points a vcpu's 4-level walker at the base of its current mode (the kernel L4, or the
 * user L4 in user mode; none loaded: cr3 -1).
 */
export function syncWalker64(d: PagingDomain, vcpu: number): void {
  const w = d.lmWalkers[vcpu];
  if (w === undefined) return;
  const base = d.kernelMode[vcpu] ? d.baseMfn[vcpu] : d.userBaseMfn[vcpu];
  w.cr3 = base === 0 ? -1 : base * 4096;
}

/**
 * toggle_guest_mode's page-table half: the vcpu switches between its kernel and user L4
 * (the walker follows) and its TLB is flushed (Xen keeps global user pages; pvx flushes
 * all).
 * @param kernel the mode to enter
 */
export function setGuestMode64(d: PagingDomain, vcpu: number, kernel: boolean): void {
  if (d.kernelMode[vcpu] === (kernel ? 1 : 0)) return;
  d.kernelMode[vcpu] = kernel ? 1 : 0;
  syncWalker64(d, vcpu);
  d.flush.flushAll(1 << vcpu);
}

/**
 * MMUEXT_NEW_USER_BASEPTR: installs (mfn != 0) or removes (0) the vcpu's user-mode L4;
 * with m2p_strict the L4 loses the read-only M2P slot.
 * @returns 0, -EINVAL for a 32-bit domain, or the validation errno
 */
export function newUserBaseptr64(d: PagingDomain, vcpu: number, mfn: number): number {
  if (!d.pv64) return -EINVAL;
  const f = d.frames;
  const old = d.userBaseMfn[vcpu];
  if (old === mfn) return 0;
  if (mfn !== 0) {
    const rc = getPageAndType(f, mfn, PGT_l4_page_table, d.domid);
    if (rc !== 0) return rc;
    if (d.m2pStrict) setRoMpt(f, mfn, false);
  }
  d.userBaseMfn[vcpu] = mfn;
  if (old !== 0) putPageAndType(f, old);
  if (!d.kernelMode[vcpu]) {
    syncWalker64(d, vcpu);
    d.flush.flushAll(1 << vcpu);
  }
  return 0;
}

/**
 * The L1 table mapping a linear address in a vcpu's kernel tables (map_guest_l1e).
 * @param lo low half of the linear address
 * @param hi high half
 * @returns the L1's mfn (its slot is l1Index(lo)), or -1 when the address is
 *   non-canonical, in Xen's L4 slots, or not mapped down to an L1
 */
export function guestL1Mfn64(d: PagingDomain, vcpu: number, lo: number, hi: number): number {
  if (!isCanonical(hi)) return -1;
  const s4 = l4Index(hi);
  if (!isGuestL4Slot(s4)) return -1;
  const l4 = d.baseMfn[vcpu];
  if (l4 === 0) return -1;
  const l3 = next(d, l4, s4);
  if (l3 < 0) return -1;
  const l2 = next(d, l3, l3Index(lo, hi));
  if (l2 < 0) return -1;
  return next(d, l2, l2Index(lo));
}

function next(d: PagingDomain, table: number, slot: number): number {
  const u32 = d.frames.u32;
  const i = table * 1024 + slot * 2;
  const e = u32[i];
  if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE)) return -1;
  const mfn = pteFrame(e, u32[i + 1]);
  return mfn < d.frames.count ? mfn : -1;
}

/**
 * update_va_mapping of a 64-bit guest.
 * @param vaLo low half of the linear address
 * @param vaHi high half
 * @param lo low dword of the new entry
 * @param hi high dword of the new entry
 * @param flags UVMF_* (see update_va_mapping.ts)
 * @param vcpuMask the vcpu bitmap for the pointer form of `flags`
 * @param pgOwner domain whose frame the entry may map
 * @returns 0; -EINVAL when no validated L1 of the domain maps that address (non-canonical,
 *   Xen's range); or the entry check's errno
 */
export function updateVaMapping64(
  d: PagingDomain,
  vcpu: number,
  vaLo: number,
  vaHi: number,
  lo: number,
  hi: number,
  flags: number,
  vcpuMask = 0,
  pgOwner: number = d.domid,
): number {
  const f = d.frames;
  const l1 = guestL1Mfn64(d, vcpu, vaLo, vaHi);
  if (l1 < 0 || !f.getPage(l1, d.domid)) return -EINVAL;
  if (!isLockedTable(d, l1) || f.type[l1] !== PGT_l1_page_table) {
    f.putPage(l1);
    return -EINVAL;
  }
  const rc = modL1Entry64(f, l1, l1Index(vaLo), lo, hi, d.domid, pgOwner);
  f.putPage(l1);
  if (rc !== 0) return rc;
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
      if (vaHi === 0) d.flush.invlpg(mask, vaLo);
      else d.flush.flushAll(mask); // the flush model keeps 32-bit page numbers
      break;
  }
  return 0;
}
