/**
 * sched_op and sched_op_compat: yield, block (events re-enabled, no block when one is
 * pending), poll, shutdown, shutdown_code, remote_shutdown, watchdog, pin_override
 * (mirrors do_sched_op of xen/common/sched/core.c and domain_watchdog of domain.c).
 * @module
 */
import { EFAULT, EINVAL, ENOSPC, ENOSYS, EPERM, ESRCH } from "../../abi/mod.ts";
import {
  SCHEDOP_block,
  SCHEDOP_pin_override,
  SCHEDOP_poll,
  SCHEDOP_remote_shutdown,
  SCHEDOP_shutdown,
  SCHEDOP_shutdown_code,
  SCHEDOP_watchdog,
  SCHEDOP_yield,
} from "../../abi/mod.ts";
import { VI_UPCALL_PENDING } from "../../abi/mod.ts";
import { TRC_SCHED_BLOCK, TRC_SCHED_SHUTDOWN_CODE, TRC_SCHED_YIELD } from "../../abi/mod.ts";
import { domainShutdown } from "../domain/lifecycle.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { readStruct, u64 } from "./_guest.ts";
import { TIMER_OFF } from "../domain/vcpu.ts";
import { addrOf } from "../pv64/guest_access64.ts";

/** Most ports SCHEDOP_poll accepts. */
const MAX_POLL_PORTS = 128;
/** NR_DOMAIN_WATCHDOG_TIMERS. */
const NR_DOMAIN_WATCHDOG_TIMERS = 2;

/**
 * Blocks the vcpu with events enabled (vcpu_block_enable_events): clears the upcall
 * mask, and does not block when an event is already pending.
 */
export function vcpuBlockEnableEvents(v: Vcpu): void {
  const u8 = v.domain.host.mem.u8;
  v.setUpcallMask(false);
  const t = v.domain.host.tracer;
  if (t.on) t.rec(TRC_SCHED_BLOCK, 2, v.domain.domid, v.id, 0, 0, 0, 0);
  if (u8[v.vcpuInfoMaddr + VI_UPCALL_PENDING] !== 0) return;
  v.blocked = true;
  v.cpu.stop();
}

/** do_sched_op(cmd, arg). */
export function doSchedOp(v: Vcpu, cmd: number, arg: number): number {
  const d = v.domain;
  const t = d.host.tracer;
  switch (cmd) {
    case SCHEDOP_yield:
      if (t.on) t.rec(TRC_SCHED_YIELD, 2, d.domid, v.id, 0, 0, 0, 0);
      v.cpu.stop(); // end the slice: the backends (dom0) get to run
      return 0;
    case SCHEDOP_block:
      vcpuBlockEnableEvents(v);
      return 0;
    case SCHEDOP_shutdown: {
      const s = readStruct(v, arg, 4);
      if (!s) return -EFAULT;
      domainShutdown(d, s.getUint32(0, true));
      return 0;
    }
    case SCHEDOP_shutdown_code: {
      const s = readStruct(v, arg, 4);
      if (!s) return -EFAULT;
      const reason = s.getUint32(0, true) & 0xff;
      if (t.on) t.rec(TRC_SCHED_SHUTDOWN_CODE, 3, d.domid, v.id, reason, 0, 0, 0);
      d.shutdownCode = reason;
      return 0;
    }
    case SCHEDOP_poll:
      return schedPoll(v, arg);
    case SCHEDOP_remote_shutdown: {
      const s = readStruct(v, arg, 8);
      if (!s) return -EFAULT;
      const target = d.host.domains.get(s.getUint16(0, true));
      if (!target) return -ESRCH;
      // xsm_schedop_shutdown(XSM_DM_PRIV): a domU is nobody's device model.
      return -EPERM;
    }
    case SCHEDOP_watchdog: {
      const s = readStruct(v, arg, 8);
      if (!s) return -EFAULT;
      return domainWatchdog(v, s.getUint32(0, true), s.getUint32(4, true));
    }
    case SCHEDOP_pin_override:
      return -EPERM; // hardware domain only
    default:
      return -ENOSYS;
  }
}

/** do_sched_op_compat(cmd, arg): the pre-3.0.2 interface, arg passed by value. */
export function doSchedOpCompat(v: Vcpu, cmd: number, arg: number): number {
  switch (cmd) {
    case SCHEDOP_yield:
    case SCHEDOP_block:
      return doSchedOp(v, cmd, 0);
    case SCHEDOP_shutdown:
      domainShutdown(v.domain, arg);
      return 0;
    default:
      return -ENOSYS;
  }
}

/** SCHEDOP_poll: sched_poll { ports, nr_ports, timeout (u64) }. */
function schedPoll(v: Vcpu, arg: number): number {
  // sched_poll { ports handle, nr_ports u32, timeout u64 }: 16 bytes for a 32-bit guest,
  // 24 for a 64-bit one (8-byte handle, timeout at 16)
  const w64 = v.pv64 !== null;
  const s = readStruct(v, arg, w64 ? 24 : 16);
  if (!s) return -EFAULT;
  const portsVa = w64 ? addrOf(s.getUint32(0, true), s.getUint32(4, true)) : s.getUint32(0, true);
  const nr = s.getUint32(w64 ? 8 : 4, true);
  const timeout = u64(s, w64 ? 16 : 8);
  if (nr > MAX_POLL_PORTS) return -EINVAL;
  const list = new Uint8Array(nr * 4);
  if (!v.access.copyFromGuest(portsVa, list)) return -EFAULT;
  const dv = new DataView(list.buffer);
  const ev = v.domain.evtchn;
  const ports: number[] = [];
  for (let i = 0; i < nr; i++) {
    const port = dv.getUint32(i * 4, true);
    if (!ev || port >= ev.maxPorts) return -EINVAL;
    if (ev.isPending(port)) return 0;
    ports.push(port);
  }
  if (nr === 0 && timeout === 0) return 0;
  v.pollPorts = ports;
  v.pollTimeoutNs = timeout !== 0 ? timeout : TIMER_OFF;
  v.blocked = true;
  v.cpu.stop();
  return 0;
}

/** domain_watchdog(d, id, timeout seconds). */
function domainWatchdog(v: Vcpu, id: number, timeoutSec: number): number {
  const d = v.domain;
  const now = d.host.clock.nowNs();
  if (id > NR_DOMAIN_WATCHDOG_TIMERS) return -EINVAL;
  if (id === 0) {
    for (let i = 0; i < NR_DOMAIN_WATCHDOG_TIMERS; i++) {
      if (d.watchdogNs[i] < 0) {
        d.watchdogNs[i] = now + timeoutSec * 1e9;
        return i + 1;
      }
    }
    return -ENOSPC;
  }
  const i = id - 1;
  if (d.watchdogNs[i] < 0) return -EINVAL;
  d.watchdogNs[i] = timeoutSec === 0 ? -1 : now + timeoutSec * 1e9;
  return 0;
}
