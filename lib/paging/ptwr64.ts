/**
 * Writable page-table emulation for a 64-bit guest (ptwr_emulated_update with
 * !is_pv_32bit_domain): a kernel store through a read-only mapping of one of its own L1
 * tables is validated, adjusted (USER / GUEST_KERNEL) and applied. Unlike the PAE case,
 * an upper-half store that does not validate is refused (no present-bit zapping).
 * @module
 */

import { _PAGE_PRESENT, _PAGE_RW, PGT_l1_page_table, pteFrame } from "./constants.ts";
import { l1Index } from "./constants64.ts";
import { EINVAL } from "../abi/mod.ts";
import { writeEntry } from "./mod_entry.ts";
import { isLockedTable } from "./mmu_update.ts";
import { guestL1Mfn64 } from "./paging64.ts";
import type { PagingDomain } from "./paging_domain.ts";
import { merged, mergeStore } from "./ptwr.ts";
import { getPageFromL1e, putPageFromL1e } from "./validate_pte.ts";
import { adjusted, adjustL1e64 } from "./validate_pte64.ts";

/**
 * The L1 table a store to (lo, hi) would land in, if this is a ptwr case: the address
 * is mapped present and read-only onto a validated L1 of the domain.
 * @returns the target L1's mfn, or -1 (deliver the #PF)
 */
export function ptwrTarget64(d: PagingDomain, vcpu: number, lo: number, hi: number): number {
  const f = d.frames;
  const l1 = guestL1Mfn64(d, vcpu, lo, hi);
  if (l1 < 0) return -1;
  const i = l1 * 1024 + l1Index(lo) * 2;
  const e = f.u32[i];
  if ((e & (_PAGE_PRESENT | _PAGE_RW)) !== _PAGE_PRESENT) return -1;
  const mfn = pteFrame(e, f.u32[i + 1]);
  if (!f.isOwnedBy(mfn, d.domid)) return -1;
  if (!isLockedTable(d, mfn) || f.type[mfn] !== PGT_l1_page_table) return -1;
  return mfn;
}

/**
 * Emulates a store of `bytes` bytes (1, 2, 4, 8; naturally aligned) of (lo, hi) at the
 * linear address (vaLo, vaHi), or with `expect` a locked compare-exchange of 4 or 8 bytes.
 * @param expect null for a plain store; else [expected lo, expected hi] of cmpxchg
 * @param current with cmpxchg: receives the operand's old value
 * @returns 0 when written; 1 when the cmpxchg comparison failed; a negative errno when
 *   not emulated (deliver the #PF)
 */
export function ptwrUpdate64(
  d: PagingDomain,
  vcpu: number,
  vaLo: number,
  vaHi: number,
  lo: number,
  hi: number,
  bytes: number,
  expect: Uint32Array | null = null,
  current: Uint32Array | null = null,
): number {
  if (!(bytes === 1 || bytes === 2 || bytes === 4 || bytes === 8)) return -EINVAL;
  if (expect !== null && bytes < 4) return -EINVAL;
  if ((vaLo & (bytes - 1)) !== 0) return -EINVAL;
  const mfn = ptwrTarget64(d, vcpu, vaLo, vaHi);
  if (mfn < 0) return -EINVAL;
  const f = d.frames;
  const slot = (vaLo & 0xfff) >>> 3;
  const i = mfn * 1024 + slot * 2;
  const olo = f.u32[i], ohi = f.u32[i + 1];
  mergeStore(vaLo, lo, hi, bytes, olo, ohi);
  const nlo = merged[0], nhi = merged[1];
  let took = false;
  if (nlo & _PAGE_PRESENT) {
    const rc = getPageFromL1e(f, nlo, nhi, d.domid, d.domid);
    if (rc !== 0) return rc;
    took = true;
  }
  if (expect !== null) {
    const curLo = bytes === 8 || !(vaLo & 4) ? olo : ohi;
    if (current !== null) {
      current[0] = curLo;
      current[1] = bytes === 8 ? ohi : 0;
    }
    if (curLo !== (expect[0] >>> 0) || (bytes === 8 && ohi !== (expect[1] >>> 0))) {
      if (took) putPageFromL1e(f, nlo, nhi);
      return 1;
    }
  }
  adjustL1e64(nlo, nhi);
  writeEntry(f, mfn, slot, adjusted[0], adjusted[1]);
  putPageFromL1e(f, olo, ohi);
  return 0;
}
