/**
 * Page-table entry bits, page types and the 32-bit PAE PV address layout
 * (public/xen.h, public/arch-x86/xen-x86_32.h; Xen's asm/page.h and asm/mm.h for PGT_*).
 * @module
 */

/** Present. */
export const _PAGE_PRESENT = 0x001;
/** Writable. */
export const _PAGE_RW = 0x002;
/** User-accessible. */
export const _PAGE_USER = 0x004;
/** Page-level write-through. */
export const _PAGE_PWT = 0x008;
/** Page-level cache disable. */
export const _PAGE_PCD = 0x010;
/** Accessed. */
export const _PAGE_ACCESSED = 0x020;
/** Dirty. */
export const _PAGE_DIRTY = 0x040;
/** Page size (in an L2 entry) / PAT (in an L1 entry). */
export const _PAGE_PSE = 0x080;
/** PAT bit of an L1 entry. */
export const _PAGE_PAT = 0x080;
/** Global. */
export const _PAGE_GLOBAL = 0x100;
/** The three software-available bits 9..11. */
export const _PAGE_AVAIL = 0xe00;
/**
 * No-execute, in Xen's 24-bit flag form (get_pte_flags: entry bits 52..63 become flag
 * bits 12..23). In the high dword of an entry it is bit 31.
 */
export const _PAGE_NX = 0x800000;
/** Entry bits 52..62 (software-available under a 64-bit hypervisor), in flag form. */
export const _PAGE_AVAIL_HIGH = 0x7ff000;
/** NX in the high dword of an entry. */
export const PTE_HI_NX = 0x80000000;

/**
 * Flags Xen lets a PV guest use anywhere (arch_init_memory's base_disallow_mask is the
 * complement): P, RW, US, A, D, AVAIL, AVAIL_HIGH, NX. Cache attributes (PWT, PCD,
 * PAT), PSE and G are disallowed.
 */
export const BASE_DISALLOW_MASK: number = 0xffffff &
  ~(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_AVAIL |
    _PAGE_AVAIL_HIGH | _PAGE_NX);
/** L1: as base, but the global bit is allowed (Xen's L1_DISALLOW_MASK for a plain domU). */
export const L1_DISALLOW_MASK: number = BASE_DISALLOW_MASK & ~_PAGE_GLOBAL;
/** L2: base (so PSE superpages are refused). */
export const L2_DISALLOW_MASK: number = BASE_DISALLOW_MASK;
/** L3 of a 32-bit PV guest (l3_disallow_mask: 0xFFFFF198, NX and bits 52..62 included). */
export const L3_DISALLOW_MASK = 0xfff198;

/** Page types (Xen's PGT_* values shifted down to small integers). */
export const PGT_none = 0;
/** An L1 page table (PTEs). */
export const PGT_l1_page_table = 1;
/** An L2 page table (PDEs). */
export const PGT_l2_page_table = 2;
/** An L3 page table (the PAE PDPT; Xen keeps it as a full page). */
export const PGT_l3_page_table = 3;
/** An L4 page table (never used by a 32-bit guest). */
export const PGT_l4_page_table = 4;
/** A GDT/LDT page. */
export const PGT_seg_desc_page = 5;
/** A shared page (mem-sharing; unused by pvx). */
export const PGT_shared_page = 6;
/** An ordinary writable page. */
export const PGT_writable_page = 7;

/** type flags (per frame, Uint8): the type is pinned (MMUEXT_PIN_*). */
export const PGT_pinned = 1;
/** type flags: the frame has been validated for its current type. */
export const PGT_validated = 2;
/** type flags: the L2 is the one in slot 3 of a PAE L3 and carries Xen's own slots. */
export const PGT_pae_xen_l2 = 4;

/** count flags (per frame, Uint8): the frame is allocated to its owner (PGC_allocated). */
export const PGC_allocated = 1;

/** Xen ABI numbers the paging model uses, from lib/abi (defined there once). */
import {
  DOMID_INVALID,
  DOMID_IO,
  DOMID_SELF,
  DOMID_XEN,
  HYPERVISOR_VIRT_START,
  MACH2PHYS_NR_ENTRIES,
  MACH2PHYS_VIRT_END,
  MACH2PHYS_VIRT_START,
} from "../abi/mod.ts";
import { XENFEAT_auto_translated_physmap } from "../abi/mod.ts";
export {
  DOMID_INVALID,
  DOMID_IO,
  DOMID_SELF,
  DOMID_XEN,
  HYPERVISOR_VIRT_START,
  MACH2PHYS_NR_ENTRIES,
  MACH2PHYS_VIRT_END,
  MACH2PHYS_VIRT_START,
  XENFEAT_auto_translated_physmap,
};
export {
  MMU_MACHPHYS_UPDATE,
  MMU_NORMAL_PT_UPDATE,
  MMU_PT_UPDATE_NO_TRANSLATE,
  MMU_PT_UPDATE_PRESERVE_AD,
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
  UVMF_ALL,
  UVMF_FLUSHTYPE_MASK,
  UVMF_INVLPG,
  UVMF_LOCAL,
  UVMF_MULTI,
  UVMF_NONE,
  UVMF_TLB_FLUSH,
} from "../abi/mod.ts";

/** Owner value of a frame that nobody owns (free). */
export const OWNER_NONE = 0xffff;

/**
 * First L2 slot owned by Xen in the slot-3 L2 (COMPAT_L2_PAGETABLE_FIRST_XEN_SLOT):
 * l2_table_offset(HYPERVISOR_VIRT_START) within the top 1 GiB.
 */
export const L2_FIRST_XEN_SLOT = (HYPERVISOR_VIRT_START >>> 21) & 511;

/** An invalid MFN / PFN (Xen's INVALID_MFN, as a u32 here). */
export const INVALID_MFN = 0xffffffff;
/** An M2P entry that maps to no PFN. */
export const INVALID_M2P_ENTRY = 0xffffffff;
/** An invalid P2M entry (Linux's INVALID_P2M_ENTRY). */
export const INVALID_P2M_ENTRY = 0xffffffff;

/**
 * Xen's 24-bit flag form of a PAE entry (get_pte_flags).
 * @param lo low dword of the entry
 * @param hi high dword of the entry
 */
export function pteFlags(lo: number, hi: number): number {
  return (lo & 0xfff) | ((hi >>> 20) << 12);
}

/**
 * The frame number held in a PAE entry (bits 12..51).
 * @param lo low dword of the entry
 * @param hi high dword of the entry
 */
export function pteFrame(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & 0xfffff) * 0x100000;
}
