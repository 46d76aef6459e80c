/**
 * sched_op, vcpu_op, callback, nmi, physdev and xen_version command numbers (sched.h,
 * vcpu.h, callback.h, nmi.h, physdev.h, version.h, features.h).
 * @module
 */

export const SCHEDOP_yield = 0;
export const SCHEDOP_block = 1;
export const SCHEDOP_shutdown = 2;
export const SCHEDOP_poll = 3;
export const SCHEDOP_remote_shutdown = 4;
export const SCHEDOP_shutdown_code = 5;
export const SCHEDOP_watchdog = 6;
export const SCHEDOP_pin_override = 7;

export const SHUTDOWN_poweroff = 0;
export const SHUTDOWN_reboot = 1;
export const SHUTDOWN_suspend = 2;
export const SHUTDOWN_crash = 3;
export const SHUTDOWN_watchdog = 4;
export const SHUTDOWN_soft_reset = 5;
export const SHUTDOWN_MAX = 5;

export const VCPUOP_initialise = 0;
export const VCPUOP_up = 1;
export const VCPUOP_down = 2;
export const VCPUOP_is_up = 3;
export const VCPUOP_get_runstate_info = 4;
export const VCPUOP_register_runstate_memory_area = 5;
export const VCPUOP_set_periodic_timer = 6;
export const VCPUOP_stop_periodic_timer = 7;
export const VCPUOP_set_singleshot_timer = 8;
export const VCPUOP_stop_singleshot_timer = 9;
export const VCPUOP_register_vcpu_info = 10;
export const VCPUOP_send_nmi = 11;
export const VCPUOP_get_physid = 12;
export const VCPUOP_register_vcpu_time_memory_area = 13;
/** set_singleshot_timer flag: fail with -ETIME if the deadline is in the past. */
export const VCPU_SSHOTTMR_future = 1;

/** vcpu runstates (vcpu.h). */
export const RUNSTATE_running = 0;
export const RUNSTATE_runnable = 1;
export const RUNSTATE_blocked = 2;
export const RUNSTATE_offline = 3;

export const CALLBACKTYPE_event = 0;
export const CALLBACKTYPE_failsafe = 1;
export const CALLBACKTYPE_syscall = 2;
export const CALLBACKTYPE_sysenter_deprecated = 3;
export const CALLBACKTYPE_nmi = 4;
export const CALLBACKTYPE_sysenter = 5;
export const CALLBACKTYPE_syscall32 = 7;
/** callback_register flag: the callback masks events on entry. */
export const CALLBACKF_mask_events = 1;
export const CALLBACKOP_register = 0;
export const CALLBACKOP_unregister = 1;

export const XENNMI_register_callback = 0;
export const XENNMI_unregister_callback = 1;

export const PHYSDEVOP_IRQ_UNMASK_NOTIFY = 4;
export const PHYSDEVOP_irq_status_query = 5;
export const PHYSDEVOP_set_iopl = 6;
export const PHYSDEVOP_set_iobitmap = 7;
export const PHYSDEVOP_apic_read = 8;
export const PHYSDEVOP_apic_write = 9;
export const PHYSDEVOP_alloc_irq_vector = 10;
export const PHYSDEVOP_free_irq_vector = 11;
export const PHYSDEVOP_eoi = 12;
export const PHYSDEVOP_map_pirq = 13;
export const PHYSDEVOP_unmap_pirq = 14;
export const PHYSDEVOP_pirq_eoi_gmfn_v1 = 17;
export const PHYSDEVOP_get_free_pirq = 23;
export const PHYSDEVOP_pirq_eoi_gmfn_v2 = 28;

export const XENVER_version = 0;
export const XENVER_extraversion = 1;
export const XENVER_compile_info = 2;
export const XENVER_capabilities = 3;
export const XENVER_changeset = 4;
export const XENVER_platform_parameters = 5;
export const XENVER_get_features = 6;
export const XENVER_pagesize = 7;
export const XENVER_guest_handle = 8;
export const XENVER_commandline = 9;
export const XENVER_build_id = 10;

export const XENFEAT_writable_page_tables = 0;
export const XENFEAT_writable_descriptor_tables = 1;
export const XENFEAT_auto_translated_physmap = 2;
export const XENFEAT_supervisor_mode_kernel = 3;
export const XENFEAT_pae_pgdir_above_4gb = 4;
export const XENFEAT_mmu_pt_update_preserve_ad = 5;
export const XENFEAT_highmem_assist = 6;
export const XENFEAT_gnttab_map_avail_bits = 7;
