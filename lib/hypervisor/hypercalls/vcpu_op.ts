/**
 * vcpu_op: bring-up and status, runstate info, timers, vcpu_info placement, NMIs
 * (mirrors common_vcpu_op of xen/common/domain.c and arch_do_vcpu_op for PV).
 * @module
 */
import { loadPendingContext64, vcpuInitialise64 } from "../pv64/vcpu_op64.ts";
import { EFAULT, EINVAL, ENOENT, ENOSYS, ETIME } from "../../abi/mod.ts";
import {
  RUNSTATE_offline,
  RUNSTATE_running,
  VCPU_SSHOTTMR_future,
  VCPUOP_down,
  VCPUOP_get_physid,
  VCPUOP_get_runstate_info,
  VCPUOP_initialise,
  VCPUOP_is_up,
  VCPUOP_register_runstate_memory_area,
  VCPUOP_register_vcpu_info,
  VCPUOP_register_vcpu_time_memory_area,
  VCPUOP_send_nmi,
  VCPUOP_set_periodic_timer,
  VCPUOP_set_singleshot_timer,
  VCPUOP_stop_periodic_timer,
  VCPUOP_stop_singleshot_timer,
  VCPUOP_up,
} from "../../abi/mod.ts";
import { setTimerOp } from "./set_timer_op.ts";
import { loadPendingContext, vcpuInitialise } from "./vcpu_context.ts";
import { TIMER_OFF, type Vcpu } from "../domain/vcpu.ts";
import { readStruct, u64 } from "./_guest.ts";

/** Shortest periodic timer Xen accepts (1 ms). */
const MIN_PERIOD_NS = 1_000_000;
/** STIME_DELTA_MAX: the longest relative timer. */
const STIME_DELTA_MAX = 2 ** 53 - 1;

/** do_vcpu_op(cmd, vcpuid, arg). */
export function doVcpuOp(v: Vcpu, cmd: number, vcpuid: number, arg: number): number {
  const d = v.domain;
  const target = vcpuid >>> 0 < d.vcpus.length ? d.vcpus[vcpuid >>> 0] : undefined;
  if (!target) return -ENOENT;
  const now = d.host.clock.nowNs();
  switch (cmd) {
    case VCPUOP_initialise:
      return v.pv64 !== null ? vcpuInitialise64(v, target, arg) : vcpuInitialise(v, target, arg);
    case VCPUOP_up:
      if (!target.initialised) return -EINVAL;
      if (!(v.pv64 !== null ? loadPendingContext64(target) : loadPendingContext(target))) return 0;
      if (!target.online) target.setRunstate(RUNSTATE_running);
      target.online = true;
      return 0;
    case VCPUOP_down:
      if (target.online) target.setRunstate(RUNSTATE_offline);
      target.online = false;
      if (target === v) v.cpu.stop();
      return 0;
    case VCPUOP_is_up:
      return target.online ? 1 : 0;
    case VCPUOP_get_runstate_info:
      // vcpu_runstate_info: state i32, state_entry_time u64, time[4] u64 (i386: 44 bytes)
      return v.access.copyToGuest(arg, target.runstateInfo()) ? 0 : -EFAULT;
    case VCPUOP_register_runstate_memory_area: {
      const s = readStruct(v, arg, 4);
      if (!s) return -EFAULT;
      target.runstateVa = s.getUint32(0, true);
      target.writeRunstateArea(); // Xen fills it in at once
      return 0;
    }
    case VCPUOP_set_periodic_timer: {
      const s = readStruct(v, arg, 8);
      if (!s) return -EFAULT;
      const period = u64(s, 0);
      if (period < MIN_PERIOD_NS || period > STIME_DELTA_MAX) return -EINVAL;
      target.periodicPeriodNs = period;
      target.periodicNextNs = now + period;
      return 0;
    }
    case VCPUOP_stop_periodic_timer:
      target.periodicPeriodNs = 0;
      target.periodicNextNs = TIMER_OFF;
      return 0;
    case VCPUOP_set_singleshot_timer: {
      if (target !== v) return -EINVAL;
      const s = readStruct(v, arg, 12);
      if (!s) return -EFAULT;
      const timeout = u64(s, 0);
      const flags = s.getUint32(8, true);
      if ((flags & VCPU_SSHOTTMR_future) && timeout < now) return -ETIME;
      setTimerOp(v, timeout === 0 ? 1 : timeout);
      return 0;
    }
    case VCPUOP_stop_singleshot_timer:
      if (target !== v) return -EINVAL;
      target.singleshotNs = TIMER_OFF;
      return 0;
    case VCPUOP_register_vcpu_info: {
      // vcpu_register_vcpu_info: mfn u64, offset u32, rsvd u32
      const s = readStruct(v, arg, 16);
      if (!s) return -EFAULT;
      const gfn = u64(s, 0);
      const offset = s.getUint32(8, true);
      if (target.vcpuInfoMoved) return -EINVAL;
      if (offset > 4096 - 64) return -EINVAL;
      if (!d.owns(gfn)) return -EINVAL;
      const u8 = d.host.mem.u8;
      const dst = gfn * 4096 + offset;
      // Copy the live vcpu_info across, then point every user at the new place.
      u8.copyWithin(dst, target.vcpuInfoMaddr, target.vcpuInfoMaddr + 64);
      d.host.mem.noteWrite(dst, 64);
      target.vcpuInfoMaddr = dst;
      target.vcpuInfoMoved = true;
      d.evtchn?.shared.setVcpuInfo(target.id, dst);
      return 0;
    }
    case VCPUOP_register_vcpu_time_memory_area: {
      const s = readStruct(v, arg, 4);
      if (!s) return -EFAULT;
      target.timeMemoryVa = s.getUint32(0, true);
      return 0;
    }
    case VCPUOP_send_nmi:
      if (arg !== 0) return -EINVAL;
      target.nmiPending = true;
      return 0;
    case VCPUOP_get_physid:
      return -EINVAL; // only for the hardware domain's pinned vcpus
    default:
      return -ENOSYS;
  }
}
