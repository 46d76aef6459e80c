/**
 * Writable page-table emulation (Xen's pv/ro-page-fault.c, ptwr_emulated_update): a
 * guest kernel's store through a read-only mapping of one of its own L1 tables faults;
 * the hypervisor decodes the store and hands it here to be validated and applied.
 * @module
 */

import { _PAGE_PRESENT, _PAGE_RW, PGT_l1_page_table, pteFrame } from "./constants.ts";
import { EINVAL } from "../abi/mod.ts";
import { guestL1Mfn } from "./guest_l1e.ts";
import { writeEntry } from "./mod_entry.ts";
import { isLockedTable } from "./mmu_update.ts";
import type { PagingDomain } from "./paging_domain.ts";
import { getPageFromL1e, putPageFromL1e } from "./validate_pte.ts";

/**
 * The L1 table a write to `linear` would land in, if this is a ptwr case: `linear` is
 * mapped present and read-only, onto a validated L1 table the domain owns.
 * @param d the domain (direct mode)
 * @param vcpu the faulting vcpu
 * @param linear the faulting address (cr2)
 * @returns the mfn of the target L1 table, or -1 (deliver the #PF to the guest)
 */
export function ptwrTarget(d: PagingDomain, vcpu: number, linear: number): number {
  if (d.translated) return -1;
  const f = d.frames;
  const l1 = guestL1Mfn(d, vcpu, linear);
  if (l1 < 0) return -1;
  const i = l1 * 1024 + ((linear >>> 12) & 511) * 2;
  const lo = f.u32[i];
  if ((lo & (_PAGE_PRESENT | _PAGE_RW)) !== _PAGE_PRESENT) return -1;
  const mfn = pteFrame(lo, f.u32[i + 1]);
  if (!f.isOwnedBy(mfn, d.domid)) return -1;
  if (!isLockedTable(d, mfn) || f.type[mfn] !== PGT_l1_page_table) return -1;
  return mfn;
}

/** Scratch for the merged value of a sub-entry store (no allocation per emulation). */
export const merged: Uint32Array = new Uint32Array(2);

/**
 * Merges a store of `bytes` bytes of (lo, hi) at byte `linear & 7` into the entry
 * (olo, ohi), leaving the result in {@link merged}.
 */
export function mergeStore(
  linear: number,
  lo: number,
  hi: number,
  bytes: number,
  olo: number,
  ohi: number,
): void {
  if (bytes === 8) {
    merged[0] = lo;
    merged[1] = hi;
    return;
  }
  const shift = (linear & 3) * 8;
  const mask = bytes === 4 ? 0xffffffff : ((1 << (bytes * 8)) - 1) << shift;
  const v = bytes === 4 ? lo : (lo << shift) & mask;
  merged[0] = linear & 4 ? olo : (olo & ~mask) | v;
  merged[1] = linear & 4 ? (ohi & ~mask) | v : ohi;
}

/**
 * Emulates a guest store of `bytes` bytes of (lo, hi) at `linear` into one of its L1
 * tables, validating the resulting entry. A 4-byte store to the upper half of a present
 * entry that does not validate clears its present bit instead of failing, as Xen does for
 * guests writing the two halves "the wrong way round".
 * @param d the domain
 * @param vcpu the faulting vcpu
 * @param linear the store's linear address
 * @param lo the stored value's low dword (the whole value for bytes <= 4)
 * @param hi the stored value's high dword (bytes = 8)
 * @param bytes 1, 2, 4 or 8, naturally aligned
 * @returns 0 when emulated; a negative errno (-EINVAL, -EPERM, -EBUSY) when not: the
 *   hypervisor then delivers the original #PF to the guest
 */
export function ptwrEmulate(
  d: PagingDomain,
  vcpu: number,
  linear: number,
  lo: number,
  hi: number,
  bytes: number,
): number {
  return ptwrUpdate(d, vcpu, linear, lo, hi, bytes, false, 0, 0, null);
}

/**
 * Emulates a locked compare-exchange (cmpxchg, cmpxchg8b: Linux's set_pte_atomic) into
 * one of the guest's L1 tables: the new entry is validated first; it is written only when
 * the current value equals the expected one.
 * @param d the domain
 * @param vcpu the faulting vcpu
 * @param linear the operand's linear address
 * @param oldLo expected value, low dword (the whole value for bytes <= 4)
 * @param oldHi expected value, high dword (bytes = 8)
 * @param lo new value, low dword
 * @param hi new value, high dword
 * @param bytes 4 or 8, naturally aligned
 * @param current receives the operand's value before the operation ([lo, hi] of the
 *   operand; for bytes = 4 only current[0] matters): what the instruction loads into
 *   eax(:edx) when the comparison fails
 * @returns 0 when exchanged; 1 when the comparison failed (nothing written); a negative
 *   errno when not emulated (deliver the #PF)
 */
export function ptwrCmpxchg(
  d: PagingDomain,
  vcpu: number,
  linear: number,
  oldLo: number,
  oldHi: number,
  lo: number,
  hi: number,
  bytes: number,
  current: Uint32Array,
): number {
  if (bytes !== 4 && bytes !== 8) return -EINVAL;
  return ptwrUpdate(d, vcpu, linear, lo, hi, bytes, true, oldLo, oldHi, current);
}

function ptwrUpdate(
  d: PagingDomain,
  vcpu: number,
  linear: number,
  lo: number,
  hi: number,
  bytes: number,
  cmpxchg: boolean,
  oldLo: number,
  oldHi: number,
  current: Uint32Array | null,
): number {
  if (!(bytes === 1 || bytes === 2 || bytes === 4 || bytes === 8)) return -EINVAL;
  if ((linear & (bytes - 1)) !== 0) return -EINVAL;
  const mfn = ptwrTarget(d, vcpu, linear);
  if (mfn < 0) return -EINVAL;
  const f = d.frames;
  const slot = (linear & 0xfff) >>> 3;
  const i = mfn * 1024 + slot * 2;
  const olo = f.u32[i], ohi = f.u32[i + 1];
  mergeStore(linear, lo, hi, bytes, olo, ohi);
  let nlo = merged[0];
  const nhi = merged[1];
  let took = false;
  if (nlo & _PAGE_PRESENT) {
    const rc = getPageFromL1e(f, nlo, nhi, d.domid, d.domid);
    if (rc === 0) took = true;
    else if (!cmpxchg && bytes === 4 && (linear & 4)) {
      nlo &= ~_PAGE_PRESENT; // upper half first: the lower half follows
    } else return rc;
  }
  if (cmpxchg) {
    const curLo = bytes === 8 || !(linear & 4) ? olo : ohi;
    if (current !== null) {
      current[0] = curLo;
      current[1] = bytes === 8 ? ohi : 0;
    }
    if (curLo !== (oldLo >>> 0) || (bytes === 8 && ohi !== (oldHi >>> 0))) {
      if (took) putPageFromL1e(f, nlo, nhi);
      return 1;
    }
  }
  writeEntry(f, mfn, slot, nlo, nhi);
  putPageFromL1e(f, olo, ohi);
  return 0;
}
