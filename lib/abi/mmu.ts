/**
 * The page-table update interface of Xen's public xen.h: mmu_update commands, mmuext_op
 * commands and update_va_mapping flags.
 * @module
 */

/** mmu_update commands (ptr & 3). */
export const MMU_NORMAL_PT_UPDATE = 0;
/** Update the M2P entry of a frame. */
export const MMU_MACHPHYS_UPDATE = 1;
/** A checked PTE write that keeps the old A/D bits. */
export const MMU_PT_UPDATE_PRESERVE_AD = 2;
/** A checked PTE write with no P2M translation of the value. */
export const MMU_PT_UPDATE_NO_TRANSLATE = 3;

/** mmuext_op commands. */
export const MMUEXT_PIN_L1_TABLE = 0;
/** Pin an L2 table. */
export const MMUEXT_PIN_L2_TABLE = 1;
/** Pin an L3 (PAE PDPT) table. */
export const MMUEXT_PIN_L3_TABLE = 2;
/** Pin an L4 table (a no-op for a 32-bit guest). */
export const MMUEXT_PIN_L4_TABLE = 3;
/** Unpin a table. */
export const MMUEXT_UNPIN_TABLE = 4;
/** Install a new page-table base (cr3). */
export const MMUEXT_NEW_BASEPTR = 5;
/** Flush this vcpu's TLB. */
export const MMUEXT_TLB_FLUSH_LOCAL = 6;
/** Invalidate one page in this vcpu's TLB. */
export const MMUEXT_INVLPG_LOCAL = 7;
/** Flush the TLBs of a vcpu set. */
export const MMUEXT_TLB_FLUSH_MULTI = 8;
/** Invalidate one page in the TLBs of a vcpu set. */
export const MMUEXT_INVLPG_MULTI = 9;
/** Flush every vcpu's TLB. */
export const MMUEXT_TLB_FLUSH_ALL = 10;
/** Invalidate one page in every vcpu's TLB. */
export const MMUEXT_INVLPG_ALL = 11;
/** wbinvd (needs I/O privilege). */
export const MMUEXT_FLUSH_CACHE = 12;
/** Set the vcpu's LDT (linear base, entry count). */
export const MMUEXT_SET_LDT = 13;
/** 64-bit guests' user base pointer. */
export const MMUEXT_NEW_USER_BASEPTR = 15;
/** Zero a frame. */
export const MMUEXT_CLEAR_PAGE = 16;
/** Copy a frame. */
export const MMUEXT_COPY_PAGE = 17;
/** wbinvd on every CPU. */
export const MMUEXT_FLUSH_CACHE_GLOBAL = 18;
/** Superpage marking (unsupported). */
export const MMUEXT_MARK_SUPER = 19;
/** Superpage unmarking (unsupported). */
export const MMUEXT_UNMARK_SUPER = 20;

/** update_va_mapping flags. */
export const UVMF_NONE = 0;
/** Flush whole TLB(s). */
export const UVMF_TLB_FLUSH = 1;
/** Flush one entry. */
export const UVMF_INVLPG = 2;
/** The flush-type bits. */
export const UVMF_FLUSHTYPE_MASK = 3;
/** Flush the vcpus of a bitmap (flags holds its pointer). */
export const UVMF_MULTI = 0;
/** Flush the calling vcpu. */
export const UVMF_LOCAL = 0;
/** Flush every vcpu. */
export const UVMF_ALL = 4;
