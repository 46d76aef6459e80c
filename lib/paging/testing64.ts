/**
 * Test builders for 64-bit PV paging: a host with one 64-bit guest whose 4-level tables
 * map pfn p at linear p * 4096, pinned and installed as the builder would, and a software
 * 4-level walk over machine memory (no accessed/dirty updates) to check what a guest sees.
 * @module
 */

import { PhysMemory } from "../cpu/mod.ts";
import { _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, MMUEXT_PIN_L4_TABLE, pteFrame } from "./constants.ts";
import { l1Index, l2Index, l3Index, l4Index } from "./constants64.ts";
import { MachineFrames } from "./machine_frames.ts";
import { mmuextOp64, newBaseptr64 } from "./paging64.ts";
import { PagingDomain } from "./paging_domain.ts";
import { asGfn } from "../abi/mod.ts";
import { pokeEntry } from "./testing.ts";

/** pfns of the 64-bit test guest's tables (L4, L3, L2, L1); data from pfn 4. */
export const PFN64_L4 = 0, PFN64_L3 = 1, PFN64_L2 = 2, PFN64_L1 = 3;

/** A built 64-bit test guest. */
export interface TestGuest64 {
  /** The host's frames. */
  frames: MachineFrames;
  /** The guest (domid 1, pv64). */
  dom: PagingDomain;
  /** mfns of its tables. */
  l4: number;
  l3: number;
  l2: number;
  l1: number;
  /** pfns populated. */
  pages: number;
}

/**
 * Builds a 64-bit guest: L4 -> L3 -> L2 -> L1 mapping pfn p at linear p * 4096 (tables
 * read-only, data read-write, kernel pages: no USER bit), the L4 pinned and installed as
 * vcpu 0's kernel base.
 * @param pages pfns (5..512)
 * @param hostFrames machine frames
 * @param m2pStrict VMASST m2p_strict before the L4 is validated
 */
export function makeTestGuest64(pages = 64, hostFrames = 2048, m2pStrict = false): TestGuest64 {
  const frames = new MachineFrames(new PhysMemory(hostFrames));
  const dom = new PagingDomain(frames, 1, { pv64: true });
  dom.m2pStrict = m2pStrict;
  if (dom.populatePhysmap(0, pages) !== 0) throw new Error("populate failed");
  const m = (pfn: number) => dom.p2m.get(asGfn(pfn));
  const l4 = m(PFN64_L4), l3 = m(PFN64_L3), l2 = m(PFN64_L2), l1 = m(PFN64_L1);
  pokeEntry(frames, l4, 0, (l3 << 12) | _PAGE_PRESENT | _PAGE_RW);
  pokeEntry(frames, l3, 0, (l2 << 12) | _PAGE_PRESENT | _PAGE_RW);
  pokeEntry(frames, l2, 0, (l1 << 12) | _PAGE_PRESENT | _PAGE_RW);
  for (let p = 0; p < pages && p < 512; p++) {
    pokeEntry(frames, l1, p, (m(p) << 12) | _PAGE_PRESENT | (p < 4 ? 0 : _PAGE_RW));
  }
  let rc = mmuextOp64(dom, 0, MMUEXT_PIN_L4_TABLE, l4);
  if (rc !== 0) throw new Error(`pin failed: ${rc} (${frames.reason})`);
  rc = newBaseptr64(dom, 0, l4);
  if (rc !== 0) throw new Error(`new_baseptr failed: ${rc}`);
  frames.tlbFlushedAll();
  dom.flush.clear(0);
  return { frames, dom, l4, l3, l2, l1, pages };
}

/**
 * A software 4-level walk from an L4 (4 KiB pages only), for tests.
 * @param f the frames
 * @param l4 the root table's mfn
 * @param lo low half of the linear address
 * @param hi high half
 * @param user require USER at every level
 * @param write require RW at every level
 * @returns the machine byte address, or -1
 */
export function softWalk64(
  f: MachineFrames,
  l4: number,
  lo: number,
  hi: number,
  user = true,
  write = false,
): number {
  const slots = [l4Index(hi), l3Index(lo, hi), l2Index(lo), l1Index(lo)];
  let table = l4;
  for (const slot of slots) {
    const e = f.u32[table * 1024 + slot * 2];
    if (!(e & _PAGE_PRESENT)) return -1;
    if (user && !(e & _PAGE_USER)) return -1;
    if (write && !(e & _PAGE_RW)) return -1;
    table = pteFrame(e, f.u32[table * 1024 + slot * 2 + 1]);
    if (table >= f.count) return -1;
  }
  return table * 4096 + (lo & 0xfff);
}
