/**
 * Event delivery to a vcpu at an instruction boundary: the upcall through the event
 * callback when evtchn_upcall_pending is set and the upcall mask clear (Xen's
 * test_all_events on the way back to the guest), a pending NMI, and waking a blocked or
 * polling vcpu when an event is pending.
 * @module
 */
import { VI_UPCALL_MASK, VI_UPCALL_PENDING } from "../../abi/mod.ts";
import { TRC_PVX_UPCALL } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { createBounceFrame, TBF_INTERRUPT } from "./bounce.ts";
import { deliverEvents64 } from "../pv64/traps64.ts";

/** TRAP_nmi. */
const TRAP_NMI = 2;

/**
 * Wakes a blocked vcpu whose wake condition holds: an event pending (SCHEDOP_block,
 * hlt) or one of its polled ports pending (SCHEDOP_poll).
 * @returns true when the vcpu is runnable
 */
export function checkWake(v: Vcpu): boolean {
  if (!v.blocked) return true;
  const d = v.domain;
  const u8 = d.host.mem.u8;
  const upcall = u8[v.vcpuInfoMaddr + VI_UPCALL_PENDING] !== 0;
  if (v.pollPorts.length > 0) {
    // vcpu_kick: an upcall that can be delivered wakes a poller too.
    if (upcall && u8[v.vcpuInfoMaddr + VI_UPCALL_MASK] === 0) {
      v.pollPorts = [];
      v.pollTimeoutNs = -1;
      v.blocked = false;
      return true;
    }
    const ev = d.evtchn;
    if (ev) {
      for (const p of v.pollPorts) {
        if (ev.isPending(p)) {
          v.pollPorts = [];
          v.pollTimeoutNs = -1;
          v.blocked = false;
          return true;
        }
      }
    }
    return false;
  }
  if (upcall || v.nmiPending) {
    v.blocked = false;
    return true;
  }
  return false;
}

/**
 * Delivers what is deliverable now: a pending NMI, then the event upcall.
 * @returns true when a bounce was made
 */
export function deliverEvents(v: Vcpu): boolean {
  if (v.pv64 !== null) return deliverEvents64(v);
  if (v.blocked || !v.online || v.domain.isShutdown) return false;
  const u8 = v.domain.host.mem.u8;
  if (v.nmiPending && v.trapEip[TRAP_NMI] !== 0) {
    v.nmiPending = false;
    return createBounceFrame(v, v.trapFlagsCs[TRAP_NMI] & 0xffff, v.trapEip[TRAP_NMI], 0, 0);
  }
  const vi = v.vcpuInfoMaddr;
  if (u8[vi + VI_UPCALL_PENDING] === 0 || u8[vi + VI_UPCALL_MASK] !== 0) return false;
  if (v.eventEip === 0) return false; // no callback registered yet: the event waits
  const t = v.domain.host.tracer;
  if (t.on) t.rec(TRC_PVX_UPCALL, 3, v.domain.domid, v.id, v.eventEip, 0, 0, 0);
  return createBounceFrame(v, v.eventCs, v.eventEip, TBF_INTERRUPT, 0);
}
