/**
 * lib/paging: machine frames and their page_info, P2M/M2P, the PAE walker, and Xen's
 * page-type and validation rules for 32-bit PAE PV guests (arch/x86/mm.c semantics).
 *
 * The hypervisor creates one {@link MachineFrames} per host and one {@link PagingDomain}
 * per domain, then calls the model functions from its hypercall shells. Every model
 * function takes decoded values, checks everything before it mutates, and returns 0 or a
 * negative Xen errno (errno.ts). TLB flushes an operation needs are left in
 * `dom.flush` (per vcpu) and, when a frame changed type or owner while a stale TLB entry
 * could survive, in `frames.needFlushAll`: apply them, then `flush.clear(v)` /
 * `frames.tlbFlushedAll()`.
 *
 * The hypervisor hole: an L2 validated as the slot-3 L2 of a PAE L3 (PGT_pae_xen_l2) gets
 * Xen's slots L2_FIRST_XEN_SLOT..511 written with read-only, user-readable mappings of
 * the M2P table (through Xen-owned L1 frames), so the guest reads `machine_to_phys_mapping`
 * at MACH2PHYS_VIRT_START; those slots cannot be changed (-EPERM), the L2 cannot be shared
 * or pinned as an ordinary L2 (-EINVAL), and Xen's frames cannot be mapped (-EBUSY).
 *
 * A 64-bit PV domain (`new PagingDomain(frames, id, { pv64: true })`) follows Xen's
 * 64-bit rules instead (validate_pte64.ts, paging64.ts, ptwr64.ts): 4-level tables, L4
 * slots 256..271 Xen's (slot 256 the read-only 64-bit M2P, m2p64.ts), linear page tables
 * at every level, USER/GUEST_KERNEL added to entries, and kernel/user base pointers.
 *
 * Beyond Linux's needs, Xen 4.17's defaults are kept: read-only L2 linear page tables
 * (pv-linear-pt), no superpages (PSE -> -EINVAL), cache attributes refused for a domain
 * without I/O rights (-EINVAL). Failing checks leave Xen's gdprintk wording in
 * `frames.reason` for traces.
 *
 * @example
 * ```ts
 * import { PhysMemory } from "../cpu/phys_memory.ts";
 * import { MachineFrames, PagingDomain, mmuextOp, MMUEXT_PIN_L3_TABLE } from "./mod.ts";
 * const frames = new MachineFrames(new PhysMemory(4096));
 * const dom = new PagingDomain(frames, 1);
 * dom.populatePhysmap(0, 256);
 * // ... the builder writes page tables into frames dom.p2m.get(pfn) ...
 * // mmuextOp(dom, 0, MMUEXT_PIN_L3_TABLE, l3Mfn); mmuextOp(dom, 0, MMUEXT_NEW_BASEPTR, l3Mfn);
 * const walker = dom.walkers[0]; // the CPU's PageWalker for vcpu 0
 * ```
 * @module
 */

export * from "./constants.ts";
export * from "./constants64.ts";
export { FLUSH_ALL, FLUSH_MAX_PAGES, FLUSH_NONE, FLUSH_PAGES, FlushQueue } from "./flush_queue.ts";
export { guestL1Mfn } from "./guest_l1e.ts";
export { M2p } from "./m2p.ts";
export { isCanonical, LongModeWalker, WALK_NONCANONICAL } from "./lm_walk.ts";
export { M2p64 } from "./m2p64.ts";
export { type DescriptorCheck, type ForeignMapCheck, MachineFrames } from "./machine_frames.ts";
export { isLockedTable, mmuMachphysUpdate, mmuUpdate, mmuUpdateNormalPt } from "./mmu_update.ts";
export {
  clearPage,
  copyPage,
  dropBaseptr,
  mmuextOp,
  newBaseptr,
  pinTable,
  setLdt,
  unpinTable,
} from "./mmuext_op.ts";
export { modL1Entry, modL2Entry, modL3Entry } from "./mod_entry.ts";
export { modL1Entry64, modUpperEntry64 } from "./mod_entry64.ts";
export {
  addrOk64,
  guestL1Mfn64,
  mmuextOp64,
  mmuUpdate64,
  mmuUpdateNormalPt64,
  newBaseptr64,
  newUserBaseptr64,
  setGuestMode64,
  setLdt64,
  syncWalker64,
  updateVaMapping64,
} from "./paging64.ts";
export { ptwrTarget64, ptwrUpdate64 } from "./ptwr64.ts";
export { P2m } from "./p2m.ts";
export {
  PaeWalker,
  PFEC_FETCH,
  PFEC_PRESENT,
  PFEC_RSVD,
  PFEC_USER,
  PFEC_WRITE,
  WALK_BAD_GFN,
  WALK_FAULT,
  WALK_OK,
} from "./pae_walk.ts";
export { dropPin, getPageAndType, getPageType, putPageAndType, putPageType } from "./page_type.ts";
export { PagingDomain, type PagingDomainOptions } from "./paging_domain.ts";
export { showPageWalk } from "./show_page_walk.ts";
export { ptwrCmpxchg, ptwrEmulate, ptwrTarget } from "./ptwr.ts";
export { updateVaMapping } from "./update_va_mapping.ts";
export { getPageFromL1e, isGuestL2Slot, putPageFromL1e } from "./validate_pte.ts";
export { writeEntry } from "./mod_entry.ts";
export { adjustL1e64, adjustUpperLo64, isGuestSlot64, setRoMpt } from "./validate_pte64.ts";
