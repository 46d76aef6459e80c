/**
 * The initial PAE page tables of a pv32pae domain, as setup_pgtables_x86_32_pae writes
 * them: every page from virt_base to the end of the mapped range, with the page-table
 * pages themselves read-only, and an extra L2 in L3 slot 3 when the range ends below the
 * top GiB.
 * @module
 */
import type { DomainLayout } from "./layout.ts";
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
} from "../../paging/mod.ts";

/** Xen's builder protections per level. */
export const L1_PROT = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED;
export const L2_PROT = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_USER;
export const L3_PROT = _PAGE_PRESENT;

/**
 * Writes the tables into machine memory.
 * @param u8 machine memory bytes
 * @param layout the computed layout
 * @param pfnToMfn the domain's P2M
 * @param entryFrame the frame number entries hold (default the mfn; the pfn when translated)
 */
export function writeInitialPageTables(
  u8: Uint8Array,
  layout: DomainLayout,
  pfnToMfn: (pfn: number) => number,
  entryFrame: (pfn: number) => number = pfnToMfn,
): void {
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const pt = layout.pgtables;
  const l3Maddr = pfnToMfn(pt.pfn) * 4096;
  let l2pfn = pt.pfn + layout.nrL3;
  let l1pfn = pt.pfn + layout.nrL3 + layout.nrL2;
  let l2Maddr = -1;
  let l1Maddr = -1;
  const put = (maddr: number, lo: number) => {
    dv.setUint32(maddr, lo >>> 0, true);
    dv.setUint32(maddr + 4, 0, true);
  };
  for (let va = layout.virtBase; va < layout.virtPgtabEnd; va += 4096) {
    if (l2Maddr < 0) {
      const mfn = pfnToMfn(l2pfn);
      l2Maddr = mfn * 4096;
      put(l3Maddr + Math.floor(va / 2 ** 30) * 8, entryFrame(l2pfn++) * 4096 + L3_PROT);
    }
    if (l1Maddr < 0) {
      const mfn = pfnToMfn(l1pfn);
      l1Maddr = mfn * 4096;
      const l2off = Math.floor(va / 2 ** 21) & 511;
      put(l2Maddr + l2off * 8, entryFrame(l1pfn++) * 4096 + L2_PROT);
      if (l2off === 511) l2Maddr = -1;
    }
    const l1off = Math.floor(va / 4096) & 511;
    const pfn = (va - layout.virtBase) / 4096;
    let flags = L1_PROT;
    if (va >= pt.vstart && va < pt.vend) flags &= ~_PAGE_RW;
    put(l1Maddr + l1off * 8, entryFrame(pfn) * 4096 + flags);
    if (l1off === 511) l1Maddr = -1;
  }
  if (layout.extraL2) {
    // The L2 for slot 3 is the last of the L2 block.
    put(l3Maddr + 3 * 8, entryFrame(pt.pfn + layout.nrL3 + layout.nrL2 - 1) * 4096 + L3_PROT);
  }
}
