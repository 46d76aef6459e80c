/*
 * xen_abi.h: pvx-guest's own freestanding definitions of the Xen PV ABI, for x86_32 PAE
 * and x86_64 (__x86_64__). Numbers and layouts follow Xen's public headers (xen.h,
 * arch-x86/xen-x86_32.h, arch-x86/xen-x86_64.h, event_channel.h, grant_table.h,
 * memory.h, sched.h, vcpu.h, callback.h, io/ring headers). Structures are written with
 * ulong (= xen_ulong_t, xen_pfn_t) and natural alignment so one definition has the
 * layout of either ABI; the few that differ are under #ifdef __x86_64__.
 */
#ifndef PVX_XEN_ABI_H
#define PVX_XEN_ABI_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef unsigned long ulong;
typedef unsigned long size_t;
#define BITS_PER_LONG (8 * (int)sizeof(ulong))

/* hypercall numbers (xen.h) */
#define __HYPERVISOR_set_trap_table 0
#define __HYPERVISOR_mmu_update 1
#define __HYPERVISOR_set_gdt 2
#define __HYPERVISOR_stack_switch 3
#define __HYPERVISOR_set_callbacks 4
#define __HYPERVISOR_fpu_taskswitch 5
#define __HYPERVISOR_update_descriptor 10
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_multicall 13
#define __HYPERVISOR_update_va_mapping 14
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_console_io 18
#define __HYPERVISOR_grant_table_op 20
#define __HYPERVISOR_vm_assist 21
#define __HYPERVISOR_iret 23
#define __HYPERVISOR_set_segment_base 25 /* x86_64 only */
#define __HYPERVISOR_vcpu_op 24
#define __HYPERVISOR_mmuext_op 26
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_callback_op 30
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_physdev_op 33

#ifdef __x86_64__
/* segment selectors (arch-x86/xen-x86_64.h): kernel and user both run in ring 3 */
#define FLAT_KERNEL_CS 0xe033
#define FLAT_KERNEL_DS 0x0000
#define FLAT_KERNEL_SS 0xe02b
#define FLAT_USER_CS 0xe033
#define FLAT_USER_DS 0x0000
#define FLAT_USER_SS 0xe02b
#define HYPERVISOR_VIRT_START 0xFFFF800000000000ul
#define MACH2PHYS_VIRT_START 0xFFFF800000000000ul
#define SEGBASE_FS 0
#define SEGBASE_GS_USER 1
#define SEGBASE_GS_KERNEL 2
#define VGCF_in_syscall (1 << 8)
#else
/* segment selectors (arch-x86/xen-x86_32.h) */
#define FLAT_KERNEL_CS 0xe019
#define FLAT_KERNEL_DS 0xe021
#define FLAT_KERNEL_SS FLAT_KERNEL_DS
#define FLAT_USER_CS 0xe02b
#define FLAT_USER_DS 0xe033
#define FLAT_USER_SS FLAT_USER_DS
#define HYPERVISOR_VIRT_START 0xF5800000u
#define MACH2PHYS_VIRT_START 0xF5800000u
#endif
#define FIRST_RESERVED_GDT_ENTRY 14 /* FIRST_RESERVED_GDT_PAGE 14 * 512 entries */
#define FIRST_RESERVED_GDT_PAGE 14

#define DOMID_SELF 0x7FF0

/* console_io */
#define CONSOLEIO_write 0
#define CONSOLEIO_read 1

/* sched_op */
#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_crash 3
struct sched_shutdown { u32 reason; };
struct sched_poll { u32 *ports; u32 nr_ports; u64 timeout; };

/* xen_version */
#define XENVER_version 0
#define XENVER_extraversion 1
#define XENVER_capabilities 3
#define XENVER_get_features 6
#define XENVER_pagesize 7
struct xen_feature_info { u32 submap_idx; u32 submap; };
#define XENFEAT_writable_page_tables 0
#define XENFEAT_auto_translated_physmap 2
#define XENFEAT_pae_pgdir_above_4gb 4

/* mmu_update / mmuext_op / update_va_mapping */
#define MMU_NORMAL_PT_UPDATE 0
#define MMU_MACHPHYS_UPDATE 1
struct mmu_update { u64 ptr; u64 val; };
#define MMUEXT_PIN_L1_TABLE 0
#define MMUEXT_PIN_L2_TABLE 1
#define MMUEXT_PIN_L3_TABLE 2
#define MMUEXT_PIN_L4_TABLE 3
#define MMUEXT_UNPIN_TABLE 4
#define MMUEXT_NEW_BASEPTR 5
#define MMUEXT_TLB_FLUSH_LOCAL 6
#define MMUEXT_INVLPG_LOCAL 7
#define MMUEXT_SET_LDT 13
#define MMUEXT_NEW_USER_BASEPTR 15 /* x86_64 only */
struct mmuext_op { u32 cmd; ulong arg1; ulong arg2; };
#define UVMF_NONE 0
#define UVMF_TLB_FLUSH 1
#define UVMF_INVLPG 2

/* page-table entry bits (PAE and x86_64 entries are both 64-bit) */
#define _PAGE_PRESENT 0x001
#define _PAGE_RW 0x002
#define _PAGE_USER 0x004
#define _PAGE_ACCESSED 0x020
#define _PAGE_DIRTY 0x040
#define PTE_KERNEL (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_KERNEL_RO (_PAGE_PRESENT | _PAGE_ACCESSED)
#define PTE_USER (PTE_KERNEL | _PAGE_USER)
#define PTE_TABLE (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)
#ifdef __x86_64__
#define PTE_XEN_ADJUSTED (_PAGE_USER | (1ull << 52)) /* _PAGE_GUEST_KERNEL: pte bit 52 */
#else
#define PTE_XEN_ADJUSTED 0ull
#endif
#define PTE_MFN(e) ((ulong)(((e) & 0x000FFFFFFFFFF000ull) >> 12)) /* address bits 12..51 */

/* memory_op */
#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_current_reservation 3
#define XENMEM_maximum_reservation 4
#define XENMEM_populate_physmap 6
#define XENMEM_add_to_physmap 7
#define XENMEM_machphys_mapping 12
struct xen_machphys_mapping { ulong v_start, v_end; ulong max_mfn; };
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
struct xen_memory_reservation {
  ulong *extent_start;
  ulong nr_extents;
  u32 extent_order;
  u32 mem_flags;
  u16 domid;
};
struct xen_add_to_physmap {
  u16 domid;
  u16 size;
  u32 space;
  ulong idx;
  ulong gpfn;
};

/* multicall */
struct multicall_entry { ulong op, result; ulong args[6]; };

/* trap table */
struct trap_info { u8 vector; u8 flags; u16 cs; ulong address; };

/* event channels */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_unmask 9
#define VIRQ_TIMER 0
#define VIRQ_DEBUG 1
struct evtchn_bind_virq { u32 virq; u32 vcpu; u32 port; };
struct evtchn_alloc_unbound { u16 dom; u16 remote_dom; u32 port; };
struct evtchn_bind_interdomain { u16 remote_dom; u16 pad; u32 remote_port; u32 local_port; };
struct evtchn_bind_ipi { u32 vcpu; u32 port; };
struct evtchn_port_op { u32 port; };

/* vcpu_op */
#define VCPUOP_is_up 3
#define VCPUOP_get_runstate_info 4
#define VCPUOP_set_periodic_timer 6
#define VCPUOP_stop_periodic_timer 7
#define VCPUOP_set_singleshot_timer 8
#define VCPUOP_stop_singleshot_timer 9
struct vcpu_runstate_info { s32 state; u64 state_entry_time; u64 time[4]; };
struct vcpu_set_periodic_timer { u64 period_ns; };

/* callback_op */
#define CALLBACKOP_register 0
#define CALLBACKTYPE_event 0
#define CALLBACKTYPE_failsafe 1
#define CALLBACKTYPE_syscall 2 /* x86_64 only */
#ifdef __x86_64__
struct callback_register { u16 type; u16 flags; ulong address; };
#define CALLBACK(type, addr) {type, 0, (ulong)(addr)}
#else
struct callback_register { u16 type; u16 flags; ulong cs; ulong eip; };
#define CALLBACK(type, addr) {type, 0, FLAT_KERNEL_CS, (ulong)(addr)}
#endif

/* grant tables (v1) */
#define GNTTABOP_map_grant_ref 0
#define GNTTABOP_unmap_grant_ref 1
#define GNTTABOP_setup_table 2
#define GNTTABOP_query_size 6
#define GTF_permit_access 1
#define GTF_readonly 4
#define GTF_reading 8
#define GTF_writing 16
#define GNTMAP_host_map 2
#define GNTMAP_readonly 4
struct grant_entry_v1 { u16 flags; u16 domid; u32 frame; };
struct gnttab_setup_table { u16 dom; u32 nr_frames; s16 status; ulong *frame_list; };
struct gnttab_query_size { u16 dom; u32 nr_frames; u32 max_nr_frames; s16 status; };
struct gnttab_map_grant_ref {
  u64 host_addr; u32 flags; u32 ref; u16 dom; s16 status; u32 handle; u64 dev_bus_addr;
} __attribute__((packed));
struct gnttab_unmap_grant_ref { u64 host_addr; u64 dev_bus_addr; u32 handle; s16 status; };

/* start_info / shared_info */
#define SIF_MOD_START_PFN (1 << 3)
struct start_info {
  char magic[32];
  ulong nr_pages;
  ulong shared_info;
  u32 flags;
  ulong store_mfn;
  u32 store_evtchn;
  ulong console_mfn;
  u32 console_evtchn;
  ulong pt_base;
  ulong nr_pt_frames;
  ulong mfn_list;
  ulong mod_start;
  ulong mod_len;
  char cmd_line[1024];
  ulong first_p2m_pfn;
  ulong nr_p2m_frames;
};

struct vcpu_time_info {
  u32 version;
  u32 pad0;
  u64 tsc_timestamp;
  u64 system_time;
  u32 tsc_to_system_mul;
  s8 tsc_shift;
  u8 flags;
  u8 pad1[2];
};

struct vcpu_info {
  u8 evtchn_upcall_pending;
  u8 evtchn_upcall_mask;
  u16 pad;
  ulong evtchn_pending_sel;
  ulong cr2;
#ifdef __x86_64__
  ulong arch_pad[1]; /* arch_vcpu_info: cr2, pad */
#else
  ulong arch_pad[5];
#endif
  struct vcpu_time_info time;
};

struct shared_info {
  struct vcpu_info vcpu_info[32];
  ulong evtchn_pending[BITS_PER_LONG > 32 ? 64 : 32]; /* sizeof(xen_ulong_t) * 8 words */
  ulong evtchn_mask[BITS_PER_LONG > 32 ? 64 : 32];
  u32 wc_version;
  u32 wc_sec;
  u32 wc_nsec;
#ifdef __x86_64__
  u32 wc_sec_hi;
#endif
};

/* io/console.h */
struct xencons_interface {
  char in[1024];
  char out[2048];
  u32 in_cons, in_prod;
  u32 out_cons, out_prod;
};

/* io/xs_wire.h */
#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_WATCH 4
#define XS_UNWATCH 5
#define XS_WRITE 11
#define XS_RM 13
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
struct xsd_sockmsg { u32 type; u32 req_id; u32 tx_id; u32 len; };
#define XENSTORE_RING_SIZE 1024
struct xenstore_domain_interface {
  char req[XENSTORE_RING_SIZE];
  char rsp[XENSTORE_RING_SIZE];
  u32 req_cons, req_prod;
  u32 rsp_cons, rsp_prod;
};

#endif

#ifndef PVX_XEN_ABI_IO_H
#define PVX_XEN_ABI_IO_H
/* io/ring.h: a shared ring page starts with this header (64 bytes) */
struct sring_hdr { u32 req_prod, req_event, rsp_prod, rsp_event; u8 pad[48]; };

/* io/xenbus.h states */
#define XenbusStateInitialising 1
#define XenbusStateInitWait 2
#define XenbusStateInitialised 3
#define XenbusStateConnected 4
#define XenbusStateClosing 5
#define XenbusStateClosed 6

/* io/blkif.h: the x86_32 layout (64-bit fields 4-byte aligned, as gcc -m32 lays them out:
   108-byte requests) or the x86_64 one (natural alignment: 112 bytes) */
#ifdef __x86_64__
#define BLKIF_PROTOCOL "x86_64-abi"
#else
#define BLKIF_PROTOCOL "x86_32-abi"
#endif
#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
struct blkif_request_segment { u32 gref; u8 first_sect, last_sect; u16 pad; };
struct blkif_request {
  u8 operation;
  u8 nr_segments;
  u16 handle;
  u64 id;
  u64 sector_number;
  struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
struct blkif_response { u64 id; u8 operation; u8 pad; s16 status; };
#define BLK_RING_SIZE 32 /* (4096 - 64) / 108 or 112, rounded down to a power of two */

/* io/netif.h */
#define NETTXF_csum_blank 1
#define NETTXF_data_validated 2
#define NETTXF_more_data 4
struct netif_tx_request { u32 gref; u16 offset; u16 flags; u16 id; u16 size; };
struct netif_tx_response { u16 id; s16 status; };
struct netif_rx_request { u16 id; u16 pad; u32 gref; };
struct netif_rx_response { u16 id; u16 offset; u16 flags; s16 status; };
#define NET_TX_RING_SIZE 256 /* (4096 - 64) / 12 -> 256 */
#define NET_RX_RING_SIZE 256 /* (4096 - 64) / 8 -> 256 */
#endif
