/**
 * Numbers from Xen's public xen.h and arch-x86 headers as a 32-bit PAE PV guest sees them:
 * hypercall numbers, VIRQs, flat selectors, hypervisor-hole bounds, vm_assist types.
 * @module
 */

/** Hypercall numbers (xen.h `__HYPERVISOR_*`). */
export const __HYPERVISOR_set_trap_table = 0;
export const __HYPERVISOR_mmu_update = 1;
export const __HYPERVISOR_set_gdt = 2;
export const __HYPERVISOR_stack_switch = 3;
export const __HYPERVISOR_set_callbacks = 4;
export const __HYPERVISOR_fpu_taskswitch = 5;
export const __HYPERVISOR_sched_op_compat = 6;
export const __HYPERVISOR_platform_op = 7;
export const __HYPERVISOR_set_debugreg = 8;
export const __HYPERVISOR_get_debugreg = 9;
export const __HYPERVISOR_update_descriptor = 10;
export const __HYPERVISOR_memory_op = 12;
export const __HYPERVISOR_multicall = 13;
export const __HYPERVISOR_update_va_mapping = 14;
export const __HYPERVISOR_set_timer_op = 15;
export const __HYPERVISOR_event_channel_op_compat = 16;
export const __HYPERVISOR_xen_version = 17;
export const __HYPERVISOR_console_io = 18;
export const __HYPERVISOR_physdev_op_compat = 19;
export const __HYPERVISOR_grant_table_op = 20;
export const __HYPERVISOR_vm_assist = 21;
export const __HYPERVISOR_update_va_mapping_otherdomain = 22;
export const __HYPERVISOR_iret = 23;
export const __HYPERVISOR_vcpu_op = 24;
export const __HYPERVISOR_set_segment_base = 25;
export const __HYPERVISOR_mmuext_op = 26;
export const __HYPERVISOR_xsm_op = 27;
export const __HYPERVISOR_nmi_op = 28;
export const __HYPERVISOR_sched_op = 29;
export const __HYPERVISOR_callback_op = 30;
export const __HYPERVISOR_xenoprof_op = 31;
export const __HYPERVISOR_event_channel_op = 32;
export const __HYPERVISOR_physdev_op = 33;
export const __HYPERVISOR_hvm_op = 34;
export const __HYPERVISOR_sysctl = 35;
export const __HYPERVISOR_domctl = 36;
export const __HYPERVISOR_kexec_op = 37;
export const __HYPERVISOR_tmem_op = 38;
export const __HYPERVISOR_argo_op = 39;
export const __HYPERVISOR_xenpmu_op = 40;
export const __HYPERVISOR_dm_op = 41;
export const __HYPERVISOR_hypfs_op = 42;
/** Hypercall numbers are below this (Xen's NR_hypercalls). */
export const NR_hypercalls = 64;

/** The software-interrupt vector of a 32-bit PV hypercall (`int $0x82`). */
export const HYPERCALL_VECTOR = 0x82;

/** VIRQs (xen.h). */
export const VIRQ_TIMER = 0;
export const VIRQ_DEBUG = 1;
export const VIRQ_CONSOLE = 2;
export const VIRQ_DOM_EXC = 3;
export const VIRQ_TBUF = 4;
export const VIRQ_DEBUGGER = 6;
export const VIRQ_XENOPROF = 7;
export const VIRQ_CON_RING = 8;
export const VIRQ_PCPU_STATE = 9;
export const VIRQ_MEM_EVENT = 10;
export const VIRQ_ARGO = 11;
export const VIRQ_ENOMEM = 12;
export const VIRQ_XENPMU = 13;
/** Number of VIRQs (NR_VIRQS). */
export const NR_VIRQS = 24;

/** Flat selectors Xen provides in its reserved GDT entries (xen-x86_32.h). */
export const FLAT_RING1_CS = 0xe019;
export const FLAT_RING1_DS = 0xe021;
export const FLAT_RING1_SS = 0xe021;
export const FLAT_RING3_CS = 0xe02b;
export const FLAT_RING3_DS = 0xe033;
export const FLAT_RING3_SS = 0xe033;
export const FLAT_KERNEL_CS = FLAT_RING1_CS;
export const FLAT_KERNEL_DS = FLAT_RING1_DS;
export const FLAT_KERNEL_SS = FLAT_RING1_SS;
export const FLAT_USER_CS = FLAT_RING3_CS;
export const FLAT_USER_DS = FLAT_RING3_DS;
export const FLAT_USER_SS = FLAT_RING3_SS;

/** The first GDT page Xen reserves for itself (arch-x86/xen.h). */
export const FIRST_RESERVED_GDT_PAGE = 14;
/** FIRST_RESERVED_GDT_PAGE * 4096. */
export const FIRST_RESERVED_GDT_BYTE = FIRST_RESERVED_GDT_PAGE * 4096;
/** The first GDT entry Xen reserves (7168). */
export const FIRST_RESERVED_GDT_ENTRY = FIRST_RESERVED_GDT_BYTE / 8;

/** Start of the hypervisor hole of a PAE guest. */
export const HYPERVISOR_VIRT_START = 0xf5800000;
/** Where the read-only M2P table is mapped. */
export const MACH2PHYS_VIRT_START = 0xf5800000;
/** End of the M2P mapping. */
export const MACH2PHYS_VIRT_END = 0xf6800000;
/** Entries of the M2P mapping. */
export const MACH2PHYS_NR_ENTRIES = (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) >>> 2;

/** Legacy vcpu_info slots in shared_info. */
export const XEN_LEGACY_MAX_VCPUS = 32;

/** Domain ids (xen.h). */
export const DOMID_FIRST_RESERVED = 0x7ff0;
export const DOMID_SELF = 0x7ff0;
export const DOMID_IO = 0x7ff1;
export const DOMID_XEN = 0x7ff2;
export const DOMID_COW = 0x7ff3;
export const DOMID_INVALID = 0x7ff4;
export const DOMID_IDLE = 0x7fff;

/** console_io commands. */
export const CONSOLEIO_write = 0;
export const CONSOLEIO_read = 1;

/** vm_assist commands and types. */
export const VMASST_CMD_enable = 0;
export const VMASST_CMD_disable = 1;
export const VMASST_TYPE_4gb_segments = 0;
export const VMASST_TYPE_4gb_segments_notify = 1;
export const VMASST_TYPE_writable_pagetables = 2;
export const VMASST_TYPE_pae_extended_cr3 = 3;
export const VMASST_TYPE_architectural_iopl = 4;
export const VMASST_TYPE_runstate_update_flag = 5;
export const VMASST_TYPE_m2p_strict = 32;
/** The vm_assist types a 32-bit PV guest may set (Xen's VM_ASSIST_VALID for compat). */
export const VM_ASSIST_VALID_MASK = (1 << VMASST_TYPE_4gb_segments) |
  (1 << VMASST_TYPE_4gb_segments_notify) | (1 << VMASST_TYPE_writable_pagetables) |
  (1 << VMASST_TYPE_pae_extended_cr3) | (1 << VMASST_TYPE_architectural_iopl) |
  (1 << VMASST_TYPE_runstate_update_flag);

/** mmu_update and mmuext_op commands, update_va_mapping flags (defined in ./mmu.ts). */
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
} from "./mmu.ts";

/** start_info flags. */
export const SIF_PRIVILEGED = 1 << 0;
export const SIF_INITDOMAIN = 1 << 1;
export const SIF_MULTIBOOT_MOD = 1 << 2;
export const SIF_MOD_START_PFN = 1 << 3;
export const SIF_VIRT_P2M_4TOOLS = 1 << 4;

/** EFLAGS bits used by the PV trap and iret paths. */
export const X86_EFLAGS_TF = 1 << 8;
export const X86_EFLAGS_IF = 1 << 9;
export const X86_EFLAGS_IOPL = 3 << 12;
export const X86_EFLAGS_NT = 1 << 14;
export const X86_EFLAGS_RF = 1 << 16;
export const X86_EFLAGS_VM = 1 << 17;
