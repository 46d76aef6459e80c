/**
 * Constants of Xen's x86_64 PV ABI that differ from the 32-bit ones (public/xen.h,
 * arch-x86/xen-x86_64.h): the flat ring-3 selectors a 64-bit guest kernel and its user
 * space run on, the hypervisor's address range and read-only M2P, VGCF flags.
 * @module
 */

/** FLAT_RING3_CS32: 32-bit (compat) code segment, GDT index 260. */
export const FLAT_RING3_CS32 = 0xe023;
/** FLAT_RING3_CS64: 64-bit code segment, GDT index 262 (FLAT_KERNEL_CS / FLAT_USER_CS). */
export const FLAT_RING3_CS64 = 0xe033;
/** FLAT_RING3_DS32: 32-bit data segment, GDT index 261. */
export const FLAT_RING3_DS32 = 0xe02b;
/** FLAT_RING3_DS64: the NULL selector (FLAT_KERNEL_DS / FLAT_USER_DS of a 64-bit guest). */
export const FLAT_RING3_DS64 = 0x0000;
/** FLAT_RING3_SS64: GDT index 261 (FLAT_KERNEL_SS / FLAT_USER_SS). */
export const FLAT_RING3_SS64 = 0xe02b;
/** FLAT_KERNEL_CS of a 64-bit guest. */
export const FLAT_KERNEL_CS64 = FLAT_RING3_CS64;
/** FLAT_KERNEL_DS of a 64-bit guest. */
export const FLAT_KERNEL_DS64 = FLAT_RING3_DS64;
/** FLAT_KERNEL_SS of a 64-bit guest. */
export const FLAT_KERNEL_SS64 = FLAT_RING3_SS64;

/** __HYPERVISOR_VIRT_START of a 64-bit guest. */
export const HYPERVISOR_VIRT_START_64 = 0xffff800000000000n;
/** __HYPERVISOR_VIRT_END of a 64-bit guest. */
export const HYPERVISOR_VIRT_END_64 = 0xffff880000000000n;

/** VGCF_in_syscall (bit 8 of the iret hypercall's flags / vcpu_guest_context.flags). */
export const VGCF_in_syscall = 1 << 8;
/** VGCF_in_kernel (bit 2). */
export const VGCF_in_kernel = 1 << 2;
/** VGCF_online (bit 5). */
export const VGCF_online = 1 << 5;
/** VGCF_syscall_disables_events (bit 4). */
export const VGCF_syscall_disables_events = 1 << 4;

/** MACH2PHYS_VIRT_START of a 64-bit guest: the read-only M2P (8-byte entries). */
export const MACH2PHYS_VIRT_START_64 = 0xffff800000000000n;
/** MACH2PHYS_VIRT_END of a 64-bit guest (256 GiB of entries). */
export const MACH2PHYS_VIRT_END_64 = 0xffff804000000000n;
/** MACH2PHYS_NR_ENTRIES of a 64-bit guest: 2^35. */
export const MACH2PHYS_NR_ENTRIES_64: number = Number(
  (MACH2PHYS_VIRT_END_64 - MACH2PHYS_VIRT_START_64) >> 3n,
);

/** The struct xen_machphys_mapping a 64-bit guest gets from XENMEM_machphys_mapping. */
export const MACHPHYS_MAPPING_64: Readonly<{ vStart: bigint; vEnd: bigint; maxMfn: bigint }> = {
  vStart: MACH2PHYS_VIRT_START_64,
  vEnd: MACH2PHYS_VIRT_END_64,
  maxMfn: BigInt(MACH2PHYS_NR_ENTRIES_64 - 1),
};

/** The hypercall stub of a 64-bit guest: `syscall`, 32 bytes per hypercall number. */
export const HYPERCALL_STUB_SIZE = 32;
