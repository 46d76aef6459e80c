/**
 * multicall: runs a batch of hypercalls, each entry { op, result, args[6] } (32 bytes
 * for a 32-bit guest), writing each result back; an entry that fails does not stop the
 * batch (the guest checks results). Nested multicalls are refused. An iret entry runs
 * and ends the batch (mc_exit): the vcpu continues where the iret frame says, with its
 * restored eax, and later entries are left alone (mirrors do_multicall of
 * xen/common/multicall.c and pv_do_multicall_call).
 * @module
 */
import { EFAULT, EINVAL, ENOSYS } from "../../abi/mod.ts";
import { MULTICALL_ENTRY_SIZE } from "../../abi/mod.ts";
import { __HYPERVISOR_iret, __HYPERVISOR_multicall } from "../../abi/mod.ts";
import { TRC_PV_HYPERCALL_SUBCALL } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { R_EAX } from "../machine/cpu_port.ts";
import type { HypercallFn } from "./types.ts";
import { createContinuation, PREEMPT_BATCH } from "./continuation.ts";

/**
 * do_multicall(call_list, nr_calls).
 * @param table the hypercall table the entries dispatch through
 */
export function doMulticall(
  v: Vcpu,
  callList: number,
  nrCalls: number,
  table: readonly (HypercallFn | undefined)[],
): number {
  if (v.inMulticall) return -EINVAL;
  nrCalls = nrCalls >>> 0;
  if (!v.access.accessOk(callList, nrCalls * MULTICALL_ENTRY_SIZE)) return -EFAULT;
  const entry = new Uint8Array(MULTICALL_ENTRY_SIZE);
  const dv = new DataView(entry.buffer);
  const d = v.domain;
  const t = d.host.tracer;
  v.inMulticall = true;
  try {
    for (let i = 0; i < nrCalls; i++) {
      const va = callList + i * MULTICALL_ENTRY_SIZE;
      if (i >= PREEMPT_BATCH) {
        createContinuation(v, __HYPERVISOR_multicall, va, nrCalls - i);
        return 0;
      }
      if (!v.access.copyFromGuest(va, entry)) return -EFAULT;
      const op = dv.getUint32(0, true);
      const a = (k: number) => dv.getUint32(8 + k * 4, true);
      if (t.on) t.rec(TRC_PV_HYPERCALL_SUBCALL, 1, op, 0, 0, 0, 0, 0);
      let result: number;
      const fn = op < table.length ? table[op] : undefined;
      if (!fn) {
        result = -ENOSYS;
      } else {
        v.skipReturn = false;
        result = fn(v, a(0), a(1), a(2), a(3), a(4), a(5));
        if (op === __HYPERVISOR_iret) {
          // mc_exit: the result is the restored eax (best effort), and the multicall
          // returns it, leaving the registers as the iret restored them.
          if (v.skipReturn) result = v.cpu.gpr[R_EAX];
          dv.setInt32(4, result | 0, true);
          v.access.copyToGuest(va + 4, entry.subarray(4, 8));
          return result;
        }
        v.skipReturn = false;
      }
      dv.setInt32(4, result | 0, true);
      if (!v.access.copyToGuest(va + 4, entry.subarray(4, 8))) return -EFAULT;
      // A shutdown or block inside the batch ends it (Xen preempts and the vcpu stops).
      if (d.isShutdown) return 0;
    }
    return 0;
  } finally {
    v.inMulticall = false;
  }
}
