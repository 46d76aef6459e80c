/**
 * Byte layouts of the shared structures a 32-bit PV guest sees (xen.h, arch-x86/xen.h,
 * xen-x86_32.h; i386 ABI: 4-byte longs, 64-bit fields 4-byte aligned): shared_info,
 * vcpu_info, vcpu_time_info, start_info, trap_info, multicall_entry, mmu_update.
 * @module
 */

/** sizeof(struct vcpu_info). */
export const VCPU_INFO_SIZE = 64;
/** vcpu_info.evtchn_upcall_pending (u8). */
export const VI_UPCALL_PENDING = 0;
/** vcpu_info.evtchn_upcall_mask (u8). */
export const VI_UPCALL_MASK = 1;
/** vcpu_info.evtchn_pending_sel (u32). */
export const VI_PENDING_SEL = 4;
/** vcpu_info.arch.cr2 (u32). */
export const VI_ARCH_CR2 = 8;
/** vcpu_info.time (struct vcpu_time_info, 32 bytes). */
export const VI_TIME = 32;

/** vcpu_time_info.version (u32). */
export const VT_VERSION = 0;
/** vcpu_time_info.tsc_timestamp (u64). */
export const VT_TSC_TIMESTAMP = 8;
/** vcpu_time_info.system_time (u64, ns). */
export const VT_SYSTEM_TIME = 16;
/** vcpu_time_info.tsc_to_system_mul (u32). */
export const VT_TSC_TO_SYSTEM_MUL = 24;
/** vcpu_time_info.tsc_shift (s8). */
export const VT_TSC_SHIFT = 28;
/** vcpu_time_info.flags (u8). */
export const VT_FLAGS = 29;
/** XEN_PVCLOCK_TSC_STABLE_BIT. */
export const XEN_PVCLOCK_TSC_STABLE_BIT = 1;

/** shared_info.evtchn_pending[32] (u32 each). */
export const SI_EVTCHN_PENDING = 2048;
/** shared_info.evtchn_mask[32]. */
export const SI_EVTCHN_MASK = 2176;
/** shared_info.wc_version. */
export const SI_WC_VERSION = 2304;
/** shared_info.wc_sec. */
export const SI_WC_SEC = 2308;
/** shared_info.wc_nsec. */
export const SI_WC_NSEC = 2312;
/** shared_info.arch.max_pfn. */
export const SI_ARCH_MAX_PFN = 2316;
/** shared_info.arch.pfn_to_mfn_frame_list_list. */
export const SI_ARCH_P2M_FLL = 2320;
/** shared_info.arch.nmi_reason. */
export const SI_ARCH_NMI_REASON = 2324;
/** shared_info.arch.p2m_cr3. */
export const SI_ARCH_P2M_CR3 = 2328;
/** shared_info.arch.p2m_vaddr. */
export const SI_ARCH_P2M_VADDR = 2332;
/** shared_info.arch.p2m_generation. */
export const SI_ARCH_P2M_GENERATION = 2336;
/** shared_info.arch.wc_sec_hi (i386 only). */
export const SI_ARCH_WC_SEC_HI = 2340;

/** start_info.magic (char[32]). */
export const SI_MAGIC = 0;
/** start_info.nr_pages. */
export const SI_NR_PAGES = 32;
/** start_info.shared_info (machine address). */
export const SI_SHARED_INFO = 36;
/** start_info.flags. */
export const SI_FLAGS = 40;
/** start_info.store_mfn. */
export const SI_STORE_MFN = 44;
/** start_info.store_evtchn. */
export const SI_STORE_EVTCHN = 48;
/** start_info.console.domU.mfn. */
export const SI_CONSOLE_MFN = 52;
/** start_info.console.domU.evtchn. */
export const SI_CONSOLE_EVTCHN = 56;
/** start_info.pt_base (virtual). */
export const SI_PT_BASE = 60;
/** start_info.nr_pt_frames. */
export const SI_NR_PT_FRAMES = 64;
/** start_info.mfn_list (virtual). */
export const SI_MFN_LIST = 68;
/** start_info.mod_start. */
export const SI_MOD_START = 72;
/** start_info.mod_len. */
export const SI_MOD_LEN = 76;
/** start_info.cmd_line (int8[1024]). */
export const SI_CMD_LINE = 80;
/** MAX_GUEST_CMDLINE. */
export const MAX_GUEST_CMDLINE = 1024;
/** start_info.first_p2m_pfn. */
export const SI_FIRST_P2M_PFN = 1104;
/** start_info.nr_p2m_frames. */
export const SI_NR_P2M_FRAMES = 1108;
/** sizeof(struct start_info) for x86_32. */
export const START_INFO_SIZE = 1112;
/** The magic of a 32-bit PAE PV guest's start_info. */
export const START_INFO_MAGIC = "xen-3.0-x86_32p";

/** sizeof(struct trap_info): vector u8, flags u8, cs u16, address u32. */
export const TRAP_INFO_SIZE = 8;
/** sizeof(struct multicall_entry) for x86_32: op, result, args[6]. */
export const MULTICALL_ENTRY_SIZE = 32;
/** sizeof(struct mmu_update): ptr u64, val u64. */
export const MMU_UPDATE_SIZE = 16;
/** sizeof(struct mmuext_op) for x86_32: cmd, arg1 (u32), arg2 (u32). */
export const MMUEXT_OP_SIZE = 12;
