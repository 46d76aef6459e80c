/**
 * The x86_64 PV address layout and Xen's page-table rules for a 64-bit PV guest
 * (public/arch-x86/xen-x86_64.h; Xen's asm/config.h, asm/x86_64/page.h, pv/mm.h).
 *
 * 64-bit linear addresses cross the paging API as two u32 halves (lo, hi) of the
 * sign-extended canonical value; page-table entries as (lo, hi) like the PAE ones.
 * @module
 */

import { BASE_DISALLOW_MASK } from "./constants.ts";

export {
  MACH2PHYS_NR_ENTRIES_64,
  MACH2PHYS_VIRT_END_64,
  MACH2PHYS_VIRT_START_64,
  MACHPHYS_MAPPING_64,
} from "../abi/mod.ts";

/** First L4 slot Xen reserves in every 64-bit PV guest's L4 (ROOT_PAGETABLE_FIRST_XEN_SLOT). */
export const L4_FIRST_XEN_SLOT = 256;
/** Last L4 slot Xen reserves (ROOT_PAGETABLE_LAST_XEN_SLOT): the guest owns 0..255, 272..511. */
export const L4_LAST_XEN_SLOT = 271;
/** L4 slot of the read-only M2P (RO_MPT_VIRT_START, 0xffff800000000000). */
export const L4_RO_MPT_SLOT = 256;
/** L4 slot of Xen's linear page-table self map (LINEAR_PT_VIRT_START, 0xffff810000000000). */
export const L4_LINEAR_PT_SLOT = 258;

/** L3 slots (of the slot-256 L3) the read-only M2P window spans: 256 GiB. */
export const RO_MPT_L3_SLOTS = 256;

/**
 * _PAGE_GUEST_KERNEL in Xen's 24-bit flag form (entry bit 52): Xen marks a 64-bit guest's
 * kernel pages with it when it adds _PAGE_USER to them (adjust_guest_l1e), since the
 * guest kernel runs in ring 3.
 */
export const _PAGE_GUEST_KERNEL = 0x1000;
/** _PAGE_GUEST_KERNEL in the high dword of an entry. */
export const PTE_HI_GUEST_KERNEL = 0x100000;

/** L3 of a 64-bit guest: the base mask (1 GiB pages refused: PSE is disallowed). */
export const L3_DISALLOW_MASK_64: number = BASE_DISALLOW_MASK;
/** L4: the base mask. */
export const L4_DISALLOW_MASK: number = BASE_DISALLOW_MASK;

/**
 * is_guest_l4_slot for a 64-bit guest: every slot outside Xen's 256..271.
 * @param slot 0..511
 */
export function isGuestL4Slot(slot: number): boolean {
  return slot < L4_FIRST_XEN_SLOT || slot > L4_LAST_XEN_SLOT;
}

/** L4 index (bits 39..47) of a linear address's high half. */
export function l4Index(hi: number): number {
  return (hi >>> 7) & 511;
}

/** L3 index (bits 30..38). */
export function l3Index(lo: number, hi: number): number {
  return ((hi & 0x7f) << 2) | (lo >>> 30);
}

/** L2 index (bits 21..29). */
export function l2Index(lo: number): number {
  return (lo >>> 21) & 511;
}

/** L1 index (bits 12..20). */
export function l1Index(lo: number): number {
  return (lo >>> 12) & 511;
}

/**
 * The (lo, hi) halves of a 64-bit value given as a bigint (test and builder helper, not
 * for hot paths).
 */
export function split64(v: bigint): [number, number] {
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffffffffn), Number(u >> 32n)];
}
