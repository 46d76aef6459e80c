/**
 * The hypercall table of a 32-bit PV guest: number -> handler, one row per entry of
 * xen.h (as Xen's hypercall-defs.c). Families live in their own files; absent numbers
 * answer -ENOSYS.
 * @module
 */
import * as X from "../../abi/mod.ts";
import type { HypercallFn } from "./types.ts";
import { doConsoleIo } from "./console_io.ts";
import { doSchedOp, doSchedOpCompat } from "./sched_op.ts";
import { doXenVersion } from "./xen_version.ts";
import {
  doFpuTaskswitch,
  doGetDebugreg,
  doSetDebugreg,
  doStackSwitch,
  doVmAssist,
} from "../pv/misc_hypercalls.ts";
import { doCallbackOp, doNmiOp, doSetCallbacks, doSetTrapTable } from "./callbacks.ts";
import { doVcpuOp } from "./vcpu_op.ts";
import { doPhysdevOp, doPhysdevOpCompat } from "./physdev_op.ts";
import { doMemoryOp } from "./memory_op.ts";
import { doMulticall } from "./multicall.ts";
import { doIret } from "./iret.ts";
import {
  doAbsent,
  doDmOp,
  doDomctl,
  doHypfsOp,
  doPlatformOp,
  doPrivileged,
  doSysctl,
  doXenpmuOp,
} from "./rejected.ts";
import { doMmuextOp, doMmuUpdate, doUpdateVaMapping, doUpdateVaMappingOtherdomain } from "./mmu.ts";
import { doSetGdt, doUpdateDescriptor } from "./descriptors.ts";
import { doEventChannelOp, doEventChannelOpCompat } from "./event_channel.ts";
import { doGrantTableOp } from "./grant_table.ts";
import { setTimerOp } from "./set_timer_op.ts";
import { doHvmOp } from "./hvm_op.ts";

/** The table (index = hypercall number). */
export const HYPERCALL_TABLE: (HypercallFn | undefined)[] = new Array(X.NR_hypercalls);

const T = HYPERCALL_TABLE;
T[X.__HYPERVISOR_set_trap_table] = (v, a1) => doSetTrapTable(v, a1);
T[X.__HYPERVISOR_mmu_update] = (v, a1, a2, a3, a4) => doMmuUpdate(v, a1, a2, a3, a4);
T[X.__HYPERVISOR_set_gdt] = (v, a1, a2) => doSetGdt(v, a1, a2);
T[X.__HYPERVISOR_stack_switch] = (v, a1, a2) => doStackSwitch(v, a1, a2);
T[X.__HYPERVISOR_set_callbacks] = (v, a1, a2, a3, a4) => doSetCallbacks(v, a1, a2, a3, a4);
T[X.__HYPERVISOR_fpu_taskswitch] = (v, a1) => doFpuTaskswitch(v, a1);
T[X.__HYPERVISOR_sched_op_compat] = (v, a1, a2) => doSchedOpCompat(v, a1, a2);
T[X.__HYPERVISOR_platform_op] = (v, a1) => doPlatformOp(v, a1);
T[X.__HYPERVISOR_set_debugreg] = (v, a1, a2) => doSetDebugreg(v, a1, a2);
T[X.__HYPERVISOR_get_debugreg] = (v, a1) => doGetDebugreg(v, a1);
T[X.__HYPERVISOR_update_descriptor] = (v, a1, a2, a3, a4) => doUpdateDescriptor(v, a1, a2, a3, a4);
T[X.__HYPERVISOR_memory_op] = (v, a1, a2) => doMemoryOp(v, a1, a2);
T[X.__HYPERVISOR_multicall] = (v, a1, a2) => doMulticall(v, a1, a2, HYPERCALL_TABLE);
T[X.__HYPERVISOR_update_va_mapping] = (v, a1, a2, a3, a4) => doUpdateVaMapping(v, a1, a2, a3, a4);
T[X.__HYPERVISOR_set_timer_op] = (v, lo, hi) => setTimerOp(v, (hi >>> 0) * 2 ** 32 + (lo >>> 0));
T[X.__HYPERVISOR_event_channel_op_compat] = (v, a1) => doEventChannelOpCompat(v, a1);
T[X.__HYPERVISOR_xen_version] = (v, a1, a2) => doXenVersion(v, a1, a2);
T[X.__HYPERVISOR_console_io] = (v, a1, a2, a3) => doConsoleIo(v, a1, a2, a3);
T[X.__HYPERVISOR_physdev_op_compat] = (v, a1) => doPhysdevOpCompat(v, a1);
T[X.__HYPERVISOR_grant_table_op] = (v, a1, a2, a3) => doGrantTableOp(v, a1, a2, a3);
T[X.__HYPERVISOR_vm_assist] = (v, a1, a2) => doVmAssist(v, a1, a2);
T[X.__HYPERVISOR_update_va_mapping_otherdomain] = (v, a1, a2, a3, a4, a5) =>
  doUpdateVaMappingOtherdomain(v, a1, a2, a3, a4, a5);
T[X.__HYPERVISOR_iret] = (v) => doIret(v);
T[X.__HYPERVISOR_vcpu_op] = (v, a1, a2, a3) => doVcpuOp(v, a1, a2, a3);
T[X.__HYPERVISOR_set_segment_base] = doAbsent;
T[X.__HYPERVISOR_mmuext_op] = (v, a1, a2, a3, a4) => doMmuextOp(v, a1, a2, a3, a4);
T[X.__HYPERVISOR_xsm_op] = doAbsent;
T[X.__HYPERVISOR_nmi_op] = (v, a1, a2) => doNmiOp(v, a1, a2);
T[X.__HYPERVISOR_sched_op] = (v, a1, a2) => doSchedOp(v, a1, a2);
T[X.__HYPERVISOR_callback_op] = (v, a1, a2) => doCallbackOp(v, a1, a2);
T[X.__HYPERVISOR_xenoprof_op] = doAbsent;
T[X.__HYPERVISOR_event_channel_op] = (v, a1, a2) => doEventChannelOp(v, a1, a2);
T[X.__HYPERVISOR_physdev_op] = (v, a1, a2) => doPhysdevOp(v, a1, a2);
T[X.__HYPERVISOR_hvm_op] = (v, a1, a2) => doHvmOp(v, a1, a2);
T[X.__HYPERVISOR_sysctl] = (v, a1) => doSysctl(v, a1);
T[X.__HYPERVISOR_domctl] = (v, a1) => doDomctl(v, a1);
T[X.__HYPERVISOR_kexec_op] = doPrivileged;
T[X.__HYPERVISOR_tmem_op] = doAbsent;
T[X.__HYPERVISOR_argo_op] = doAbsent;
T[X.__HYPERVISOR_xenpmu_op] = doXenpmuOp;
T[X.__HYPERVISOR_dm_op] = (v, a1, a2, a3) => doDmOp(v, a1, a2, a3);
T[X.__HYPERVISOR_hypfs_op] = doHypfsOp;
T[48] = doPrivileged; // __HYPERVISOR_mca: XEN_MC_* need privilege
