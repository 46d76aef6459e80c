/**
 * The per-op model of HYPERVISOR_mmuext_op (do_mmuext_op's switch): pin/unpin, new base
 * pointer, TLB flushes (recorded in the domain's FlushQueue), SET_LDT, CLEAR_PAGE and
 * COPY_PAGE, with Xen 4.17's error codes.
 * @module
 */

import {
  MMUEXT_CLEAR_PAGE,
  MMUEXT_COPY_PAGE,
  MMUEXT_FLUSH_CACHE,
  MMUEXT_FLUSH_CACHE_GLOBAL,
  MMUEXT_INVLPG_ALL,
  MMUEXT_INVLPG_LOCAL,
  MMUEXT_INVLPG_MULTI,
  MMUEXT_MARK_SUPER,
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
  MMUEXT_UNMARK_SUPER,
  MMUEXT_UNPIN_TABLE,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_pinned,
  PGT_writable_page,
} from "./constants.ts";
import { EACCES, EINVAL, ENOSYS, EOPNOTSUPP } from "../abi/mod.ts";
import { getPageAndType, getPageType, putPageAndType } from "./page_type.ts";
import type { PagingDomain } from "./paging_domain.ts";

/**
 * One mmuext_op.
 * @param d the calling domain
 * @param vcpu the calling vcpu
 * @param cmd MMUEXT_*
 * @param arg1 mfn (pin, unpin, base pointer, clear/copy destination) or linear address
 *   (invlpg, SET_LDT); in translated mode frame numbers are pfns
 * @param arg2 SET_LDT entry count; COPY_PAGE source frame; for the *_MULTI ops the vcpu
 *   bitmap the shell read from the guest (bit v = vcpu v)
 * @returns 0 or a negative errno (see the per-op functions); -ENOSYS for an unknown cmd
 */
export function mmuextOp(
  d: PagingDomain,
  vcpu: number,
  cmd: number,
  arg1: number,
  arg2 = 0,
): number {
  switch (cmd) {
    case MMUEXT_PIN_L1_TABLE:
      return pinTable(d, arg1, PGT_l1_page_table);
    case MMUEXT_PIN_L2_TABLE:
      return pinTable(d, arg1, PGT_l2_page_table);
    case MMUEXT_PIN_L3_TABLE:
      return pinTable(d, arg1, PGT_l3_page_table);
    case MMUEXT_PIN_L4_TABLE:
      return 0; // a 32-bit guest has no L4: Xen does nothing and reports success
    case MMUEXT_UNPIN_TABLE:
      return unpinTable(d, arg1);
    case MMUEXT_NEW_BASEPTR:
      return newBaseptr(d, vcpu, arg1);
    case MMUEXT_NEW_USER_BASEPTR:
      return -EINVAL; // 32-bit PV guests have a single base pointer
    case MMUEXT_TLB_FLUSH_LOCAL:
      d.flush.flushAll(1 << vcpu);
      return 0;
    case MMUEXT_INVLPG_LOCAL:
      d.flush.invlpg(1 << vcpu, arg1);
      return 0;
    case MMUEXT_TLB_FLUSH_MULTI:
      d.flush.flushAll(arg2 & d.flush.allMask);
      return 0;
    case MMUEXT_INVLPG_MULTI:
      d.flush.invlpg(arg2 & d.flush.allMask, arg1);
      return 0;
    case MMUEXT_TLB_FLUSH_ALL:
      d.flush.flushAll(d.flush.allMask);
      return 0;
    case MMUEXT_INVLPG_ALL:
      d.flush.invlpg(d.flush.allMask, arg1);
      return 0;
    case MMUEXT_FLUSH_CACHE:
      return -EACCES; // cache_flush_permitted() is false for a domain without I/O rights
    case MMUEXT_FLUSH_CACHE_GLOBAL:
      return -EINVAL;
    case MMUEXT_SET_LDT:
      return setLdt(d, vcpu, arg1, arg2);
    case MMUEXT_CLEAR_PAGE:
      return clearPage(d, arg1);
    case MMUEXT_COPY_PAGE:
      return copyPage(d, arg1, arg2);
    case MMUEXT_MARK_SUPER:
    case MMUEXT_UNMARK_SUPER:
      return -EOPNOTSUPP;
    default:
      return -ENOSYS;
  }
}

/**
 * MMUEXT_PIN_L1/L2/L3_TABLE: validates the frame as `type` (if not yet) and pins it, so it
 * keeps the type while no other reference holds it.
 * @returns 0 (also, doing nothing, for a translated domain); -EINVAL when the frame is not
 *   the domain's, is already pinned, is in use as another type, or fails validation (the
 *   bad entry's errno: -EINVAL, -EPERM, -EBUSY)
 */
export function pinTable(d: PagingDomain, gfn: number, type: number): number {
  if (d.translated) return 0; // paging_mode_refcounts: pins are meaningless
  const f = d.frames;
  const mfn = gfn;
  const rc = getPageAndType(f, mfn, type, d.domid);
  if (rc !== 0) return rc;
  if (f.tflags[mfn] & PGT_pinned) {
    putPageAndType(f, mfn);
    f.reason = "mfn already pinned";
    return -EINVAL;
  }
  f.tflags[mfn] |= PGT_pinned;
  return 0;
}

/**
 * MMUEXT_UNPIN_TABLE: drops the pin's references; the table is torn down (its entries'
 * references dropped) when nothing else uses it.
 * @returns 0 (also for a translated domain); -EINVAL when the frame is not the domain's
 *   or not pinned
 */
export function unpinTable(d: PagingDomain, gfn: number): number {
  if (d.translated) return 0;
  const f = d.frames;
  const mfn = gfn;
  if (!f.getPage(mfn, d.domid)) return -EINVAL;
  if (!(f.tflags[mfn] & PGT_pinned)) {
    f.putPage(mfn);
    f.reason = "mfn not pinned";
    return -EINVAL;
  }
  f.tflags[mfn] &= ~PGT_pinned;
  putPageAndType(f, mfn);
  f.putPage(mfn);
  return 0;
}

/**
 * MMUEXT_NEW_BASEPTR (and the emulated `mov cr3` of a direct-mode guest): installs a
 * validated L3 as the vcpu's page-table base, holding a type reference on it, and asks
 * for a TLB flush of the vcpu. The vcpu's walker follows at once.
 * @returns 0; -EINVAL for a translated domain, a frame not the domain's, or one that is not
 *   (and cannot be validated as) an L3; or the validation errno
 */
export function newBaseptr(d: PagingDomain, vcpu: number, mfn: number): number {
  if (d.translated) return -EINVAL;
  const f = d.frames;
  const old = d.baseMfn[vcpu];
  if (old !== mfn) {
    const rc = getPageAndType(f, mfn, PGT_l3_page_table, d.domid);
    if (rc !== 0) return rc;
    d.baseMfn[vcpu] = mfn;
    if (old !== 0) putPageAndType(f, old);
  }
  d.walkers[vcpu].cr3 = mfn * 4096;
  d.flush.flushAll(1 << vcpu);
  return 0;
}

/**
 * Drops a vcpu's base pointer (vcpu teardown), releasing its type reference.
 * @param d the domain
 * @param vcpu the vcpu
 */
export function dropBaseptr(d: PagingDomain, vcpu: number): void {
  const old = d.baseMfn[vcpu];
  if (old === 0) return;
  d.baseMfn[vcpu] = 0;
  d.walkers[vcpu].cr3 = -1;
  putPageAndType(d.frames, old);
  d.flush.flushAll(1 << vcpu);
}

/**
 * MMUEXT_SET_LDT: records the vcpu's LDT (the hypervisor maps its pages on use).
 * @param linear page-aligned base (ignored when ents is 0)
 * @param ents entry count, at most 8192
 * @returns 0 or -EINVAL ("Bad args to SET_LDT")
 */
export function setLdt(d: PagingDomain, vcpu: number, linear: number, ents: number): number {
  const ptr = ents !== 0 ? linear >>> 0 : 0;
  if ((ptr & 0xfff) !== 0 || !(ents >= 0 && ents <= 8192)) return -EINVAL;
  if (d.ldtEnts[vcpu] !== ents || d.ldtBase[vcpu] !== ptr) {
    d.ldtBase[vcpu] = ptr;
    d.ldtEnts[vcpu] = ents;
    d.flush.flushAll(1 << vcpu);
  }
  return 0;
}

/**
 * MMUEXT_CLEAR_PAGE: zeroes one of the domain's frames, which must be able to take the
 * writable type (not a page table or descriptor page in use).
 * @returns 0 or -EINVAL
 */
export function clearPage(d: PagingDomain, gfn: number): number {
  const f = d.frames;
  const mfn = d.gfnToMfn(gfn);
  if (!f.getPage(mfn, d.domid)) return -EINVAL;
  if (getPageType(f, mfn, PGT_writable_page) !== 0) {
    f.putPage(mfn);
    return -EINVAL;
  }
  f.mem.u8.fill(0, mfn * 4096, mfn * 4096 + 4096);
  f.mem.noteWrite(mfn * 4096, 4096);
  putPageAndType(f, mfn);
  return 0;
}

/**
 * MMUEXT_COPY_PAGE: copies a frame of the domain's onto another that can take the
 * writable type.
 * @returns 0 or -EINVAL
 */
export function copyPage(d: PagingDomain, dstGfn: number, srcGfn: number): number {
  const f = d.frames;
  const src = d.gfnToMfn(srcGfn);
  if (!f.getPage(src, d.domid)) return -EINVAL;
  const dst = d.gfnToMfn(dstGfn);
  if (!f.getPage(dst, d.domid)) {
    f.putPage(src);
    return -EINVAL;
  }
  if (getPageType(f, dst, PGT_writable_page) !== 0) {
    f.putPage(dst);
    f.putPage(src);
    return -EINVAL;
  }
  f.mem.u8.copyWithin(dst * 4096, src * 4096, src * 4096 + 4096);
  f.mem.noteWrite(dst * 4096, 4096);
  putPageAndType(f, dst);
  f.putPage(src);
  return 0;
}
