/**
 * The hypercall table of a 64-bit PV guest: the 32-bit table's handlers where the
 * structures are width-neutral (console_io, sched_op, event_channel_op, xen_version,
 * vcpu_op, physdev_op, mmu_update, mmuext_op, grant_table_op ...: they take guest
 * addresses as numbers and reach memory through the vcpu's GuestAccess64), and the native
 * x86_64 forms where the ABI differs (hypercalls64.ts, multicall64.ts). Absent or
 * 32-bit-only numbers answer -ENOSYS, as Xen's 64-bit table does.
 * @module
 */
import * as X from "../../abi/mod.ts";
import type { HypercallFn } from "../hypercalls/types.ts";
import { HYPERCALL_TABLE } from "../hypercalls/table.ts";
import { doUpdateDescriptor } from "../hypercalls/descriptors.ts";
import { doGetDebugreg, doSetDebugreg, readDebugregHi } from "../pv/misc_hypercalls.ts";
import {
  ARGS64,
  doCallbackOp64,
  doIret64,
  doNmiOp64,
  doSetCallbacks64,
  doSetSegmentBase64,
  doSetTimerOp64,
  doSetTrapTable64,
  doStackSwitch64,
  doUpdateVaMapping64,
} from "./hypercalls64.ts";
import { doMulticall64 } from "./multicall64.ts";

/** The table (index = hypercall number). */
export const HYPERCALL_TABLE64: (HypercallFn | undefined)[] = HYPERCALL_TABLE.slice();

const T = HYPERCALL_TABLE64;
T[X.__HYPERVISOR_set_trap_table] = (v, a1) => doSetTrapTable64(v, a1);
T[X.__HYPERVISOR_stack_switch] = (v, a1) => doStackSwitch64(v, a1);
T[X.__HYPERVISOR_set_callbacks] = (v) => doSetCallbacks64(v);
T[X.__HYPERVISOR_callback_op] = (v, a1, a2) => doCallbackOp64(v, a1, a2);
T[X.__HYPERVISOR_nmi_op] = (v, a1, a2) => doNmiOp64(v, a1, a2);
T[X.__HYPERVISOR_set_segment_base] = (v, a1) => doSetSegmentBase64(v, a1);
T[X.__HYPERVISOR_iret] = (v) => doIret64(v);
T[X.__HYPERVISOR_update_va_mapping] = (v) => doUpdateVaMapping64(v, false);
T[X.__HYPERVISOR_update_va_mapping_otherdomain] = (v) => doUpdateVaMapping64(v, true);
T[X.__HYPERVISOR_set_timer_op] = (v) => doSetTimerOp64(v);
T[X.__HYPERVISOR_multicall] = (v, a1, a2) => doMulticall64(v, a1, a2, HYPERCALL_TABLE64);
// update_descriptor(ma, desc): one register each
T[X.__HYPERVISOR_update_descriptor] = (v) =>
  doUpdateDescriptor(v, ARGS64[0], ARGS64[1], ARGS64[2], ARGS64[3]);
// set_debugreg(reg, value): 64-bit values (DR0-3 may hold kernel addresses)
T[X.__HYPERVISOR_set_debugreg] = (v, a1) => doSetDebugreg(v, a1, ARGS64[2], ARGS64[3]);
// get_debugreg(reg): the 64-bit value itself is the result (rax set here), or -ENODEV
T[X.__HYPERVISOR_get_debugreg] = (v, a1) => {
  const rc = doGetDebugreg(v, a1);
  if (rc < 0) return rc;
  v.cpu64!.setReg(0, rc >>> 0, readDebugregHi(v, a1));
  v.skipReturn = true;
  return 0;
};
