/**
 * Page types and type counts: get_page_type / put_page_type, which validate a frame the
 * first time it is used as a page table (or descriptor page) and tear the validation down
 * when its last type reference goes. Mirrors _get_page_type/_put_page_type of Xen's
 * arch/x86/mm.c, without preemption (pvx validates a table in one go).
 * @module
 */

import { assert } from "../errors.ts";
import {
  PGT_l1_page_table,
  PGT_l4_page_table,
  PGT_pae_xen_l2,
  PGT_pinned,
  PGT_seg_desc_page,
  PGT_shared_page,
  PGT_validated,
  PGT_writable_page,
} from "./constants.ts";
import { EINVAL } from "../abi/mod.ts";
import type { MachineFrames } from "./machine_frames.ts";
import { allocPageTable, allocSegdescPage, freePageTable } from "./validate_pte.ts";
import { allocPageTable64, freePageTable64 } from "./validate_pte64.ts";

/**
 * get_page_type: takes a type reference on `mfn` as `type`, changing the frame's type when
 * no type reference is held, and validating it (every entry, recursively) when it is not
 * validated for that type yet. The caller holds a general reference.
 * @param f the frames
 * @param mfn machine frame
 * @param type PGT_* type wanted
 * @param paeXenL2 for PGT_l2_page_table: the L2 is wanted as the slot-3 L2 of a PAE L3
 * @returns 0, or -EINVAL (type conflict, count overflow, or a validation error's errno)
 */
export function getPageType(
  f: MachineFrames,
  mfn: number,
  type: number,
  paeXenL2 = false,
): number {
  const tc = f.typeCount[mfn];
  const want = paeXenL2 ? PGT_pae_xen_l2 : 0;
  if (tc === 0xffffffff) {
    f.reason = "Type count overflow";
    return -EINVAL;
  }
  if (tc === 0) {
    if (f.type[mfn] !== type || (f.tflags[mfn] & PGT_pae_xen_l2) !== want) {
      // A type change: some vcpu may still cache a mapping made under the old type
      // (e.g. a writable mapping of a future page table), so it must be flushed first.
      if (f.staleEpoch[mfn] === f.epoch) f.needFlushAll = true;
      f.type[mfn] = type;
      const keep = f.tflags[mfn] & PGT_pinned;
      const valid = type === PGT_writable_page || type === PGT_shared_page ? PGT_validated : 0;
      f.tflags[mfn] = keep | want | valid;
    }
  } else if (f.type[mfn] !== type || (f.tflags[mfn] & PGT_pae_xen_l2) !== want) {
    f.reason = "Bad type"; // in use as something else
    return -EINVAL;
  } else if (!(f.tflags[mfn] & PGT_validated)) {
    // Only reachable through a table referring to itself while being validated.
    f.reason = "Bad type (table refers to itself)";
    return -EINVAL;
  }
  f.typeCount[mfn] = tc + 1;
  if (f.tflags[mfn] & PGT_validated) return 0;
  f.linear[mfn] = 0;
  const pv64 = f.pv64Domains.get(f.owner[mfn]);
  const rc = type === PGT_seg_desc_page
    ? allocSegdescPage(f, mfn)
    : pv64 !== undefined
    ? allocPageTable64(f, mfn, type, pv64.m2pStrict)
    : allocPageTable(f, mfn, type, want !== 0);
  if (rc === 0) {
    f.tflags[mfn] |= PGT_validated;
  } else {
    // alloc_page_type failure: the frame drops back to no type at all.
    f.type[mfn] = 0;
    f.typeCount[mfn] = 0;
    f.tflags[mfn] &= PGT_pinned;
  }
  return rc;
}

/**
 * put_page_type: drops a type reference; the last one of a page-table type releases every
 * reference its entries hold (free_l1/l2/l3_table) and clears the validation.
 * @param f the frames
 * @param mfn machine frame holding a type reference
 */
export function putPageType(f: MachineFrames, mfn: number): void {
  const tc = f.typeCount[mfn];
  assert(tc !== 0, `put_page_type on frame ${mfn} with no type reference`);
  if (tc === 1) {
    const t = f.type[mfn];
    if (t >= PGT_l1_page_table && t <= PGT_l4_page_table && (f.tflags[mfn] & PGT_validated)) {
      f.tflags[mfn] &= ~PGT_validated;
      if (f.pv64Domains.has(f.owner[mfn])) freePageTable64(f, mfn, t);
      else freePageTable(f, mfn, t, (f.tflags[mfn] & PGT_pae_xen_l2) !== 0);
      f.tflags[mfn] &= ~PGT_pae_xen_l2;
    }
    f.markStale(mfn);
  }
  f.typeCount[mfn] = tc - 1;
}

/**
 * get_page_and_type_from_mfn: a general reference (the domain must own the frame) plus a
 * type reference.
 * @returns 0; -EINVAL when the domain does not own the frame; or getPageType's error
 */
export function getPageAndType(
  f: MachineFrames,
  mfn: number,
  type: number,
  domid: number,
  paeXenL2 = false,
): number {
  if (!f.getPage(mfn, domid)) {
    f.reason = "Could not get page: not owned by the domain";
    return -EINVAL;
  }
  const rc = getPageType(f, mfn, type, paeXenL2);
  if (rc !== 0) f.putPage(mfn);
  return rc;
}

/**
 * put_page_and_type.
 * @param f the frames
 * @param mfn machine frame holding both references
 */
export function putPageAndType(f: MachineFrames, mfn: number): void {
  putPageType(f, mfn);
  f.putPage(mfn);
}

/**
 * Drops a pin if the frame has one (used when a pinned frame is given back).
 * @param f the frames
 * @param mfn machine frame
 */
export function dropPin(f: MachineFrames, mfn: number): void {
  if (f.tflags[mfn] & PGT_pinned) {
    f.tflags[mfn] &= ~PGT_pinned;
    putPageAndType(f, mfn);
  }
}
