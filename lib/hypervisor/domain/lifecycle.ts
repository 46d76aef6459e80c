/**
 * Domain shutdown and crash (domain_shutdown / domain_crash of xen/common/domain.c): the
 * latched shutdown code wins over the reason given, every vcpu stops, and a crash keeps
 * a human-readable reason for the dump the tools print.
 * @module
 */
import { SHUTDOWN_crash } from "../../abi/mod.ts";
import { TRC_SCHED_SHUTDOWN } from "../../abi/mod.ts";
import type { Domain } from "./domain.ts";

/**
 * Shuts a domain down with a SHUTDOWN_* reason (u8).
 * @param d the domain
 * @param reason the reason (the latched shutdown_code overrides it)
 */
export function domainShutdown(d: Domain, reason: number): void {
  if (d.isShutdown) return;
  reason &= 0xff;
  if (d.shutdownCode < 0) d.shutdownCode = reason;
  d.shutdownReason = d.shutdownCode;
  const t = d.host.tracer;
  if (t.on) t.rec(TRC_SCHED_SHUTDOWN, 3, d.domid, 0, d.shutdownReason, 0, 0, 0);
  for (const v of d.vcpus) {
    v.blocked = false;
    if (v.cpu) v.cpu.stop();
  }
}

/**
 * Crashes a domain (domain_crash): records why, then shuts it down with SHUTDOWN_crash.
 * @param d the domain
 * @param why the reason shown in the dump
 */
export function domainCrash(d: Domain, why: string): void {
  if (d.isShutdown) return;
  d.crashReason = why;
  d.host.debug(`d${d.domid}: crash: ${why}`);
  d.shutdownCode = SHUTDOWN_crash;
  domainShutdown(d, SHUTDOWN_crash);
}
