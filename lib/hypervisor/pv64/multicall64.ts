/**
 * multicall of a 64-bit PV guest (do_multicall with the native multicall_entry: op,
 * result and args[6] as 8-byte words, 64 bytes per entry): each entry runs through the
 * 64-bit table with its arguments' halves in {@link ARGS64}; its result is written back
 * sign-extended; an iret entry ends the batch; nested multicalls are refused.
 * @module
 */
import { EFAULT, EINVAL, ENOSYS } from "../../abi/mod.ts";
import { __HYPERVISOR_iret, __HYPERVISOR_multicall } from "../../abi/mod.ts";
import { TRC_PV_HYPERCALL_SUBCALL } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import type { HypercallFn } from "../hypercalls/types.ts";
import { createContinuation, PREEMPT_BATCH } from "../hypercalls/continuation.ts";
import { ARGS64 } from "./hypercalls64.ts";
import { addrOf } from "./guest_access64.ts";

/** sizeof(struct multicall_entry) of x86_64. */
export const MULTICALL_ENTRY_SIZE_64 = 64;

/** Writes a hypercall result as a sign-extended 64-bit word at `off` of dv. */
export function putResult64(dv: DataView, off: number, rc: number): void {
  if (rc < 0) {
    dv.setInt32(off, rc | 0, true);
    dv.setInt32(off + 4, -1, true);
  } else {
    dv.setUint32(off, rc >>> 0, true);
    dv.setUint32(off + 4, Math.floor(rc / 4294967296) >>> 0, true);
  }
}

/** do_multicall(call_list, nr_calls). */
export function doMulticall64(
  v: Vcpu,
  callList: number,
  nrCalls: number,
  table: readonly (HypercallFn | undefined)[],
): number {
  if (v.inMulticall) return -EINVAL;
  nrCalls = nrCalls >>> 0;
  const SIZE = MULTICALL_ENTRY_SIZE_64;
  if (!v.access.accessOk(callList, nrCalls * SIZE)) return -EFAULT;
  const entry = new Uint8Array(SIZE);
  const dv = new DataView(entry.buffer);
  const d = v.domain;
  const t = d.host.tracer;
  const saved = ARGS64.slice();
  v.inMulticall = true;
  try {
    for (let i = 0; i < nrCalls; i++) {
      const va = callList + i * SIZE;
      if (i >= PREEMPT_BATCH) {
        createContinuation(v, __HYPERVISOR_multicall, va, nrCalls - i);
        return 0;
      }
      if (!v.access.copyFromGuest(va, entry)) return -EFAULT;
      const op = dv.getUint32(0, true), opHi = dv.getUint32(4, true);
      if (t.on) t.rec(TRC_PV_HYPERCALL_SUBCALL, 1, op & 0xfffff, 0, 0, 0, 0, 0);
      for (let k = 0; k < 12; k++) ARGS64[k] = dv.getUint32(16 + 4 * k, true);
      const a = (k: number) => addrOf(ARGS64[2 * k], ARGS64[2 * k + 1]);
      const fn = opHi === 0 && op < table.length ? table[op] : undefined;
      let result: number;
      if (!fn) result = -ENOSYS;
      else {
        v.skipReturn = false;
        result = fn(v, a(0), a(1), a(2), a(3), a(4), a(5));
        if (op === __HYPERVISOR_iret) {
          if (v.skipReturn) result = v.cpu.gpr[0];
          putResult64(dv, 8, result);
          v.access.copyToGuest(va + 8, entry.subarray(8, 16));
          return result;
        }
        v.skipReturn = false;
      }
      putResult64(dv, 8, result);
      if (!v.access.copyToGuest(va + 8, entry.subarray(8, 16))) return -EFAULT;
      if (d.isShutdown) return 0;
    }
    return 0;
  } finally {
    v.inMulticall = false;
    ARGS64.set(saved);
  }
}
