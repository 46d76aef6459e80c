/**
 * Trace event ids: those of Xen's public trace.h that pvx emits, and pvx's own class for
 * what Xen has no event for (ring notifications, event-channel sends and upcalls, grant
 * copies, bounces, mmu updates). Also the names the decoder prints.
 *
 * pvx's events have one subclass per concern, under TRC_HW (see TRC_PVX); the words of
 * each record (all u32):
 * - 0x00808xxx event channels: EVTCHN_SEND (domid, port, remote domid, remote port),
 *   EVTCHN_UPCALL (domid, vcpu, port: an upcall was requested), EVTCHN_FAIL (domid, op,
 *   argument, errno)
 * - 0x00809xxx grant tables: GNTTAB_COPY (domid, source domid, dest domid, length,
 *   -status), GNTTAB_FAIL (domid, op, argument, -status)
 * - 0x0080axxx rings: RING_NOTIFY (ring id, see RING_* below; domid; direction 0
 *   front->back, 1 back->front; producer index)
 * - 0x0080bxxx traps: BOUNCE (bounce flags, handler cs, handler eip, error code),
 *   UPCALL (domid, vcpu, callback eip: the event callback was entered)
 * - 0x0080cxxx memory: MMU_UPDATE (ptr low, ptr high, val low, val high, result)
 * @module
 */
import { UsageError } from "../errors.ts";

/** Trace class of the generic records. */
export const TRC_GEN = 0x0001f000;
/** Scheduler class. */
export const TRC_SCHED = 0x0002f000;
/** Memory class. */
export const TRC_MEM = 0x0010f000;
/** PV class. */
export const TRC_PV = 0x0020f000;
/** Hardware-related class. */
export const TRC_HW = 0x0080f000;
/**
 * pvx's own events: subclasses 0x8-0xc of TRC_HW (Xen uses 1 and 2 there). They live in a
 * class of Xen's because xenalyze refuses any class bit outside the low eight, and skips
 * unknown subclasses of a known class.
 */
export const TRC_PVX = 0x0080f000;

export const TRC_LOST_RECORDS = TRC_GEN + 1;
export const TRC_TRACE_WRAP_BUFFER = TRC_GEN + 2;
export const TRC_TRACE_CPU_CHANGE = TRC_GEN + 3;

export const TRC_SCHED_MIN = 0x00021000;
export const TRC_SCHED_VERBOSE = 0x00028000;
export const TRC_SCHED_RUNSTATE_CHANGE = TRC_SCHED_MIN + 1;

/**
 * The event id of a runstate change as Xen writes it: the old state in bits 8-11 and the
 * new one in bits 4-7 of TRC_SCHED_RUNSTATE_CHANGE (xenalyze reads them there).
 */
export function runstateEvent(oldState: number, newState: number): number {
  return TRC_SCHED_RUNSTATE_CHANGE | ((oldState & 0xf) << 8) | ((newState & 0xf) << 4);
}

/** Whether an event id is a runstate change (any old/new states). */
export function isRunstateEvent(event: number): boolean {
  return (event & ~0xff0) === TRC_SCHED_RUNSTATE_CHANGE;
}
export const TRC_SCHED_CONTINUE_RUNNING = TRC_SCHED_MIN + 2;
export const TRC_SCHED_DOM_ADD = TRC_SCHED_VERBOSE + 1;
export const TRC_SCHED_DOM_REM = TRC_SCHED_VERBOSE + 2;
export const TRC_SCHED_SLEEP = TRC_SCHED_VERBOSE + 3;
export const TRC_SCHED_WAKE = TRC_SCHED_VERBOSE + 4;
export const TRC_SCHED_YIELD = TRC_SCHED_VERBOSE + 5;
export const TRC_SCHED_BLOCK = TRC_SCHED_VERBOSE + 6;
export const TRC_SCHED_SHUTDOWN = TRC_SCHED_VERBOSE + 7;
export const TRC_SCHED_SWITCH = TRC_SCHED_VERBOSE + 10;
export const TRC_SCHED_SHUTDOWN_CODE = TRC_SCHED_VERBOSE + 16;

export const TRC_MEM_PAGE_GRANT_MAP = TRC_MEM + 1;
export const TRC_MEM_PAGE_GRANT_UNMAP = TRC_MEM + 2;
export const TRC_MEM_DECREASE_RESERVATION = TRC_MEM + 5;

export const TRC_PV_ENTRY = 0x00201000;
export const TRC_PV_SUBCALL = 0x00202000;
export const TRC_PV_HYPERCALL = TRC_PV_ENTRY + 1;
export const TRC_PV_TRAP = TRC_PV_ENTRY + 3;
export const TRC_PV_PAGE_FAULT = TRC_PV_ENTRY + 4;
export const TRC_PV_FORCED_INVALID_OP = TRC_PV_ENTRY + 5;
export const TRC_PV_EMULATE_PRIVOP = TRC_PV_ENTRY + 6;
export const TRC_PV_MATH_STATE_RESTORE = TRC_PV_ENTRY + 8;
export const TRC_PV_PTWR_EMULATION = TRC_PV_ENTRY + 11;
export const TRC_PV_PTWR_EMULATION_PAE = TRC_PV_ENTRY + 12;
/**
 * Or'ed into a PV event of a 64-bit guest whose record carries 64-bit addresses as
 * (lo, hi) word pairs (Xen's trace.h; not on TRC_PV_HYPERCALL_V2).
 */
export const TRC_64_FLAG = 0x100;
export const TRC_PV_HYPERCALL_V2 = TRC_PV_ENTRY + 13;
export const TRC_PV_HYPERCALL_SUBCALL = TRC_PV_SUBCALL + 14;
/** Mask of the argument-presence bits in TRC_PV_HYPERCALL_V2's first word. */
export const TRC_PV_HYPERCALL_V2_ARG_MASK = 0xfff00000;
/** The presence bits for a 32-bit argument `i` (0..5). */
export function hypercallArg32(i: number): number {
  return 1 << (20 + 2 * i);
}

export const TRC_PVX_EVTCHN_SEND = 0x00808001;
export const TRC_PVX_EVTCHN_UPCALL = 0x00808002;
export const TRC_PVX_EVTCHN_FAIL = 0x00808003;
export const TRC_PVX_GNTTAB_COPY = 0x00809001;
export const TRC_PVX_GNTTAB_FAIL = 0x00809002;
export const TRC_PVX_RING_NOTIFY = 0x0080a001;
export const TRC_PVX_BOUNCE = 0x0080b001;
export const TRC_PVX_UPCALL = 0x0080b002;
export const TRC_PVX_MMU_UPDATE = 0x0080c001;

/** Ring ids of TRC_PVX_RING_NOTIFY. */
export const RING_CONSOLE = 1, RING_XENSTORE = 2, RING_VBD = 3, RING_VIF_TX = 4, RING_VIF_RX = 5;

/** Runstates of vcpu.h (RUNSTATE_*), used in TRC_SCHED_RUNSTATE_CHANGE. */
export { RUNSTATE_blocked, RUNSTATE_runnable, RUNSTATE_running } from "./sched.ts";

/** Trace classes by name, for `--trace-classes` and `--filter class=`. */
export const CLASS_BY_NAME: Record<string, number> = {
  gen: TRC_GEN,
  sched: TRC_SCHED,
  mem: TRC_MEM,
  pv: TRC_PV,
  hw: TRC_HW,
  pvx: TRC_PVX,
};

/**
 * Parses `--trace-classes`: comma-separated class names (gen, sched, mem, pv, hw, pvx).
 * @returns the class ids
 * @throws UsageError naming an unknown class
 */
export function parseTraceClasses(list: string): number[] {
  const out: number[] = [];
  for (const name of list.split(",").map((s) => s.trim()).filter(Boolean)) {
    const c = CLASS_BY_NAME[name];
    if (c === undefined) {
      throw new UsageError(
        `Unknown trace class "${name}" (known: ${Object.keys(CLASS_BY_NAME).join(", ")})`,
      );
    }
    out.push(c);
  }
  if (out.length === 0) throw new UsageError(`--trace-classes names no class`);
  return out;
}

/** The class bits of an event id (its top 12 bits of the 28, with the 0xf000 wildcard). */
export function eventClass(event: number): number {
  return ((event & 0x0fff0000) | 0xf000) >>> 0;
}

/** Names of the events pvx knows (Xen's spelling without the TRC_ prefix). */
export const EVENT_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [TRC_LOST_RECORDS, "lost_records"],
  [TRC_TRACE_WRAP_BUFFER, "trace_wrap_buffer"],
  [TRC_TRACE_CPU_CHANGE, "cpu_change"],
  [TRC_SCHED_RUNSTATE_CHANGE, "sched_runstate_change"],
  [TRC_SCHED_CONTINUE_RUNNING, "sched_continue_running"],
  [TRC_SCHED_DOM_ADD, "sched_dom_add"],
  [TRC_SCHED_DOM_REM, "sched_dom_rem"],
  [TRC_SCHED_SLEEP, "sched_sleep"],
  [TRC_SCHED_WAKE, "sched_wake"],
  [TRC_SCHED_YIELD, "sched_yield"],
  [TRC_SCHED_BLOCK, "sched_block"],
  [TRC_SCHED_SHUTDOWN, "sched_shutdown"],
  [TRC_SCHED_SWITCH, "sched_switch"],
  [TRC_SCHED_SHUTDOWN_CODE, "sched_shutdown_code"],
  [TRC_MEM_PAGE_GRANT_MAP, "mem_page_grant_map"],
  [TRC_MEM_PAGE_GRANT_UNMAP, "mem_page_grant_unmap"],
  [TRC_MEM_DECREASE_RESERVATION, "mem_decrease_reservation"],
  [TRC_PV_HYPERCALL, "pv_hypercall"],
  [TRC_PV_TRAP, "pv_trap"],
  [TRC_PV_PAGE_FAULT, "pv_page_fault"],
  [TRC_PV_FORCED_INVALID_OP, "pv_forced_invalid_op"],
  [TRC_PV_EMULATE_PRIVOP, "pv_emulate_privop"],
  [TRC_PV_MATH_STATE_RESTORE, "pv_math_state_restore"],
  [TRC_PV_PTWR_EMULATION_PAE, "pv_ptwr_emulation_pae"],
  [TRC_PV_TRAP | TRC_64_FLAG, "pv_trap64"],
  [TRC_PV_PAGE_FAULT | TRC_64_FLAG, "pv_page_fault64"],
  [TRC_PV_FORCED_INVALID_OP | TRC_64_FLAG, "pv_forced_invalid_op64"],
  [TRC_PV_EMULATE_PRIVOP | TRC_64_FLAG, "pv_emulate_privop64"],
  [TRC_PV_PTWR_EMULATION | TRC_64_FLAG, "pv_ptwr_emulation64"],
  [TRC_PV_HYPERCALL_V2, "pv_hypercall"],
  [TRC_PV_HYPERCALL_SUBCALL, "pv_hypercall_subcall"],
  [TRC_PVX_EVTCHN_SEND, "pvx_evtchn_send"],
  [TRC_PVX_EVTCHN_UPCALL, "pvx_evtchn_upcall"],
  [TRC_PVX_EVTCHN_FAIL, "pvx_evtchn_fail"],
  [TRC_PVX_GNTTAB_COPY, "pvx_gnttab_copy"],
  [TRC_PVX_GNTTAB_FAIL, "pvx_gnttab_fail"],
  [TRC_PVX_UPCALL, "pvx_upcall"],
  [TRC_PVX_RING_NOTIFY, "pvx_ring_notify"],
  [TRC_PVX_BOUNCE, "pvx_bounce"],
  [TRC_PVX_MMU_UPDATE, "pvx_mmu_update"],
]);

/** Hypercall names by number (xen.h __HYPERVISOR_*). */
export const HYPERCALL_NAMES: readonly string[] = [
  "set_trap_table",
  "mmu_update",
  "set_gdt",
  "stack_switch",
  "set_callbacks",
  "fpu_taskswitch",
  "sched_op_compat",
  "platform_op",
  "set_debugreg",
  "get_debugreg",
  "update_descriptor",
  "ni_11",
  "memory_op",
  "multicall",
  "update_va_mapping",
  "set_timer_op",
  "event_channel_op_compat",
  "xen_version",
  "console_io",
  "physdev_op_compat",
  "grant_table_op",
  "vm_assist",
  "update_va_mapping_otherdomain",
  "iret",
  "vcpu_op",
  "set_segment_base",
  "mmuext_op",
  "xsm_op",
  "nmi_op",
  "sched_op",
  "callback_op",
  "xenoprof_op",
  "event_channel_op",
  "physdev_op",
  "hvm_op",
  "sysctl",
  "domctl",
  "kexec_op",
  "tmem_op",
  "argo_op",
  "xenpmu_op",
  "dm_op",
  "hypfs_op",
];

/** Exception names by vector. */
export const TRAP_NAMES: readonly string[] = [
  "#DE",
  "#DB",
  "NMI",
  "#BP",
  "#OF",
  "#BR",
  "#UD",
  "#NM",
  "#DF",
  "coproc",
  "#TS",
  "#NP",
  "#SS",
  "#GP",
  "#PF",
  "spurious",
  "#MF",
  "#AC",
  "#MC",
  "#XM",
];
