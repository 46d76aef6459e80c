/**
 * The 2-level event-channel ABI: how a port becomes pending, masked and unmasked in
 * shared_info and how the target vcpu's selector and upcall flag follow; mirrors
 * xen/common/event_2l.c.
 * @module
 */
import type { SharedInfoView } from "./shared_info_view.ts";

/**
 * Marks `port` pending for `vcpu` (evtchn_2l_set_pending then vcpu_mark_events_pending):
 * an already pending port changes nothing; a masked port only records the pending bit;
 * otherwise the selector bit for the port's word is set and, if it was clear, the
 * vcpu's evtchn_upcall_pending.
 * @returns {@link SET_ALREADY_PENDING}, {@link SET_PENDING} (newly pending, no upcall
 *   needed) or {@link SET_PENDING_KICK} (evtchn_upcall_pending went from 0 to 1: the vcpu
 *   must be kicked)
 */
export function evtchn2lSetPending(si: SharedInfoView, vcpu: number, port: number): number {
  if (si.testAndSetPending(port)) return SET_ALREADY_PENDING;
  if (si.isMasked(port)) return SET_PENDING;
  if (si.testAndSetPendingSel(vcpu, port >>> si.selShift)) return SET_PENDING;
  return markEventsPending(si, vcpu) ? SET_PENDING_KICK : SET_PENDING;
}

/** {@link evtchn2lSetPending}: the port was already pending; nothing changed. */
export const SET_ALREADY_PENDING = 0;
/** {@link evtchn2lSetPending}: the port became pending; no new upcall. */
export const SET_PENDING = 1;
/** {@link evtchn2lSetPending}: the port became pending and the vcpu needs an upcall. */
export const SET_PENDING_KICK = 2;

/**
 * EVTCHNOP_unmask for the 2-level ABI (evtchn_2l_unmask): clears the mask bit and, when
 * the port is pending, re-raises the selector bit and the upcall as a fresh send would.
 * @returns true when evtchn_upcall_pending went from 0 to 1
 */
export function evtchn2lUnmask(si: SharedInfoView, vcpu: number, port: number): boolean {
  if (!si.testAndClearMask(port)) return false;
  if (!si.isPending(port)) return false;
  if (si.testAndSetPendingSel(vcpu, port >>> si.selShift)) return false;
  return markEventsPending(si, vcpu);
}

/** Clears `port`'s pending bit (evtchn_2l_clear_pending, on close). */
export function evtchn2lClearPending(si: SharedInfoView, port: number): void {
  si.testAndClearPending(port);
}

/** Sets evtchn_upcall_pending. @returns true when it was 0 (vcpu_mark_events_pending). */
export function markEventsPending(si: SharedInfoView, vcpu: number): boolean {
  if (si.vcpuInfoMaddr(vcpu) < 0) return false;
  if ((si.upcallPending(vcpu) & 1) !== 0) return false;
  si.setUpcallPending(vcpu, si.upcallPending(vcpu) | 1);
  return true;
}
