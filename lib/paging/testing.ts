/**
 * Test and bench builders: a small host with one direct-mode guest whose page tables are
 * built, pinned and installed as the builder would, plus raw entry helpers.
 * @module
 */

import { PhysMemory } from "../cpu/mod.ts";
import { _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, MMUEXT_PIN_L3_TABLE } from "./constants.ts";
import { MachineFrames } from "./machine_frames.ts";
import { mmuextOp, newBaseptr } from "./mmuext_op.ts";
import { PagingDomain } from "./paging_domain.ts";
import { asGfn } from "../abi/mod.ts";

/** Present + RW + USER. */
export const PTE_PRW_U = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
/** Present + USER (read-only). */
export const PTE_PR_U = _PAGE_PRESENT | _PAGE_USER;

/** pfns of the test guest's tables. */
export const PFN_L3 = 0, PFN_L2 = 1, PFN_L2X = 2, PFN_L1 = 3;
/** First pfn of the test guest's data pages. */
export const PFN_DATA = 4;

/** A built test guest. */
export interface TestGuest {
  /** The host's frames. */
  frames: MachineFrames;
  /** The guest's paging context (domid 1). */
  dom: PagingDomain;
  /** mfn of the L3. */
  l3: number;
  /** mfn of the L2 in L3 slot 0 (0..1 GiB). */
  l2: number;
  /** mfn of the slot-3 L2 (3..4 GiB, Xen slots included). */
  l2x: number;
  /** mfn of the L1 mapping linear 0..2 MiB: pfn p at p * 4096. */
  l1: number;
  /** Number of pfns populated. */
  pages: number;
}

/**
 * Writes an entry straight into machine memory (no checks: for building tables).
 * @param f the frames
 * @param tableMfn the table frame
 * @param slot 0..511
 * @param lo low dword
 * @param hi high dword
 */
export function pokeEntry(
  f: MachineFrames,
  tableMfn: number,
  slot: number,
  lo: number,
  hi = 0,
): void {
  f.u32[tableMfn * 1024 + slot * 2] = lo;
  f.u32[tableMfn * 1024 + slot * 2 + 1] = hi;
}

/**
 * Reads an entry's low dword.
 * @param f the frames
 * @param tableMfn the table frame
 * @param slot 0..511
 */
export function peekEntry(f: MachineFrames, tableMfn: number, slot: number): number {
  return f.u32[tableMfn * 1024 + slot * 2];
}

/**
 * Builds a host of `hostFrames` frames and a guest of `pages` pfns: L3 (pfn 0) -> L2
 * (pfn 1, slot 0) -> L1 (pfn 3) mapping every pfn p at linear p * 4096 (tables read-only,
 * data pages read-write, all user), and the slot-3 L2 (pfn 2) with no guest mappings.
 * The L3 is pinned and installed on vcpu 0.
 * @param pages pfns to populate (5..512)
 * @param hostFrames machine frames
 * @param vcpus vcpus of the guest
 */
export function makeTestGuest(pages = 64, hostFrames = 2048, vcpus = 1): TestGuest {
  const frames = new MachineFrames(new PhysMemory(hostFrames));
  const dom = new PagingDomain(frames, 1, { vcpus });
  if (dom.populatePhysmap(0, pages) !== 0) throw new Error("populate failed");
  const m = (pfn: number) => dom.p2m.get(asGfn(pfn));
  const l3 = m(PFN_L3), l2 = m(PFN_L2), l2x = m(PFN_L2X), l1 = m(PFN_L1);
  pokeEntry(frames, l3, 0, (l2 << 12) | _PAGE_PRESENT);
  pokeEntry(frames, l3, 3, (l2x << 12) | _PAGE_PRESENT);
  pokeEntry(frames, l2, 0, (l1 << 12) | PTE_PRW_U);
  for (let p = 0; p < pages && p < 512; p++) {
    pokeEntry(frames, l1, p, (m(p) << 12) | (p < PFN_DATA ? PTE_PR_U : PTE_PRW_U));
  }
  let rc = mmuextOp(dom, 0, MMUEXT_PIN_L3_TABLE, l3);
  if (rc !== 0) throw new Error(`pin failed: ${rc}`);
  for (let v = 0; v < vcpus; v++) {
    rc = newBaseptr(dom, v, l3);
    if (rc !== 0) throw new Error(`new_baseptr failed: ${rc}`);
  }
  frames.tlbFlushedAll();
  for (let v = 0; v < vcpus; v++) dom.flush.clear(v);
  return { frames, dom, l3, l2, l2x, l1, pages };
}
