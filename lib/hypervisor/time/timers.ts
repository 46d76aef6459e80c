/**
 * Per-vcpu timers: the single-shot timer (armed by hypercalls/set_timer_op.ts), the
 * periodic timer (VCPUOP_set_periodic_timer), the SCHEDOP_poll timeout and the domain's
 * watchdogs. Expiry sends VIRQ_TIMER (or wakes the poller / shuts the domain down) at
 * an instruction boundary; the scheduler asks {@link nextDeadline} to fast-forward idle
 * time.
 * @module
 */
import { VIRQ_TIMER } from "../../abi/mod.ts";
import { SHUTDOWN_watchdog } from "../../abi/mod.ts";
import { domainShutdown } from "../domain/lifecycle.ts";
import { TIMER_OFF, type Vcpu } from "../domain/vcpu.ts";
import type { Domain } from "../domain/domain.ts";

/** Sends VIRQ_TIMER to a vcpu (send_timer_event) and refreshes its time info. */
export function sendTimerEvent(v: Vcpu): void {
  const d = v.domain;
  if (d.sharedInfoMfn >= 0) {
    d.host.clock.writeVcpuTimeAt(d.host.mem.dv, v.vcpuInfoMaddr);
    d.host.mem.noteWrite(v.vcpuInfoMaddr + 32, 32);
  }
  d.evtchn?.sendVirq(v.id, VIRQ_TIMER);
}

/**
 * The earliest pending deadline of a domain's timers, in system-time ns, or Infinity.
 * @param d the domain
 */
export function nextDeadline(d: Domain): number {
  let t = Infinity;
  for (const v of d.vcpus) {
    if (v.singleshotNs !== TIMER_OFF && v.singleshotNs < t) t = v.singleshotNs;
    if (v.periodicNextNs !== TIMER_OFF && v.periodicNextNs < t) t = v.periodicNextNs;
    if (v.blocked && v.pollTimeoutNs !== TIMER_OFF && v.pollTimeoutNs < t) t = v.pollTimeoutNs;
  }
  for (const w of d.watchdogNs) if (w >= 0 && w < t) t = w;
  return t;
}

/**
 * Fires every timer of `d` due at `now`.
 * @returns true when something fired
 */
export function fireDueTimers(d: Domain, now: number): boolean {
  let fired = false;
  for (const v of d.vcpus) {
    if (v.singleshotNs !== TIMER_OFF && v.singleshotNs <= now) {
      v.singleshotNs = TIMER_OFF;
      sendTimerEvent(v);
      fired = true;
    }
    if (v.periodicNextNs !== TIMER_OFF && v.periodicNextNs <= now) {
      // Skip missed periods, as Xen's vcpu_periodic_timer_work re-arms from now.
      const p = v.periodicPeriodNs;
      v.periodicNextNs += Math.max(1, Math.ceil((now - v.periodicNextNs + 1) / p)) * p;
      sendTimerEvent(v);
      fired = true;
    }
    if (v.blocked && v.pollTimeoutNs !== TIMER_OFF && v.pollTimeoutNs <= now) {
      v.pollTimeoutNs = TIMER_OFF;
      v.pollPorts = [];
      v.blocked = false;
      fired = true;
    }
  }
  for (let i = 0; i < d.watchdogNs.length; i++) {
    if (d.watchdogNs[i] >= 0 && d.watchdogNs[i] <= now) {
      d.watchdogNs[i] = -1;
      d.host.debug(`d${d.domid}: watchdog ${i + 1} expired`);
      domainShutdown(d, SHUTDOWN_watchdog);
      fired = true;
    }
  }
  return fired;
}
