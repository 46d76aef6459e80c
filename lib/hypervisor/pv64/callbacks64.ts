/**
 * The 64-bit forms of the callback and stack hypercalls (Xen's x86_64 traps.c and
 * pv/misc-hypercalls.c for a 64-bit guest): callback_op register/unregister,
 * set_callbacks(event, failsafe, syscall), stack_switch and set_segment_base.
 * @module
 */
import { EINVAL, ENOSYS } from "../../abi/mod.ts";
import {
  CALLBACKF_mask_events,
  CALLBACKTYPE_event,
  CALLBACKTYPE_failsafe,
  CALLBACKTYPE_nmi,
  CALLBACKTYPE_syscall,
  CALLBACKTYPE_syscall32,
  CALLBACKTYPE_sysenter,
} from "../../abi/mod.ts";
import { VGCF_syscall_disables_events } from "../../abi/mod.ts";
import {
  CB_EVENT,
  CB_FAILSAFE,
  CB_NMI,
  CB_SYSCALL,
  CB_SYSCALL32,
  CB_SYSENTER,
  type Pv64Vcpu,
  SB_FS,
  SB_GS_KERNEL,
  SB_GS_USER,
} from "./vcpu64.ts";

/** VGCF_failsafe_disables_events (bit 3). */
const VGCF_failsafe_disables_events = 1 << 3;

/** set_segment_base's `which` (public/arch-x86/xen-x86_64.h). */
export const SEGBASE_FS = 0, SEGBASE_GS_USER = 1, SEGBASE_GS_KERNEL = 2, SEGBASE_GS_USER_SEL = 3;

/** Whether (lo, hi) is a canonical address. */
export function isCanonical64(_lo: number, hi: number): boolean {
  const top = (hi | 0) >> 15;
  return top === 0 || top === -1;
}

/**
 * CALLBACKOP_register for a 64-bit vcpu.
 * @returns 0; -EINVAL for a non-canonical address; -ENOSYS for an unknown type
 */
export function registerCallback64(
  v: Pv64Vcpu,
  type: number,
  flags: number,
  lo: number,
  hi: number,
): number {
  if (!isCanonical64(lo, hi)) return -EINVAL;
  const mask = (flags & CALLBACKF_mask_events) !== 0;
  const put = (slot: number) => {
    v.callbacks[2 * slot] = lo;
    v.callbacks[2 * slot + 1] = hi;
  };
  switch (type) {
    case CALLBACKTYPE_event:
      put(CB_EVENT);
      return 0;
    case CALLBACKTYPE_failsafe:
      put(CB_FAILSAFE);
      v.vgcFlags = mask
        ? v.vgcFlags | VGCF_failsafe_disables_events
        : v.vgcFlags & ~VGCF_failsafe_disables_events;
      return 0;
    case CALLBACKTYPE_syscall:
      put(CB_SYSCALL);
      v.vgcFlags = mask
        ? v.vgcFlags | VGCF_syscall_disables_events
        : v.vgcFlags & ~VGCF_syscall_disables_events;
      return 0;
    case CALLBACKTYPE_syscall32:
      put(CB_SYSCALL32);
      v.syscall32DisablesEvents = mask;
      return 0;
    case CALLBACKTYPE_sysenter:
      put(CB_SYSENTER);
      v.sysenterDisablesEvents = mask;
      return 0;
    case CALLBACKTYPE_nmi:
      put(CB_NMI);
      return 0;
    default:
      return -ENOSYS;
  }
}

/**
 * CALLBACKOP_unregister: only the NMI callback can be unregistered.
 * @returns 0, or -EINVAL
 */
export function unregisterCallback64(v: Pv64Vcpu, type: number): number {
  if (type !== CALLBACKTYPE_nmi) return -EINVAL;
  v.callbacks[2 * CB_NMI] = 0;
  v.callbacks[2 * CB_NMI + 1] = 0;
  return 0;
}

/**
 * set_callbacks(event, failsafe, syscall) of a 64-bit guest: three registrations without
 * flags; Xen ignores their results and returns 0.
 * @param a (lo, hi) of the event, failsafe and syscall addresses
 */
export function setCallbacks64(v: Pv64Vcpu, a: Uint32Array): number {
  registerCallback64(v, CALLBACKTYPE_event, 0, a[0], a[1]);
  registerCallback64(v, CALLBACKTYPE_failsafe, 0, a[2], a[3]);
  registerCallback64(v, CALLBACKTYPE_syscall, 0, a[4], a[5]);
  return 0;
}

/**
 * stack_switch(ss, sp): the kernel stack a bounce from user mode lands on; a stack
 * selector with RPL below 3 is raised to 3 (fixup_guest_stack_selector).
 * @returns 0
 */
export function stackSwitch64(v: Pv64Vcpu, ss: number, lo: number, hi: number): number {
  ss &= 0xffff;
  v.kernelSs = (ss & 3) >= 3 ? ss : (ss & ~3) | 3;
  v.kernelSp[0] = lo;
  v.kernelSp[1] = hi;
  return 0;
}

/**
 * set_segment_base(which, base).
 * @param gdtBase for SEGBASE_GS_USER_SEL: the base of the descriptor the selector names
 *   (as the CPU loads it), or null when the load faults (the selector becomes NUL, base 0)
 * @returns 0; -EINVAL for a non-canonical base or an unknown `which`
 */
export function setSegmentBase64(
  v: Pv64Vcpu,
  which: number,
  lo: number,
  hi: number,
  gdtBase: (sel: number) => [number, number] | null = () => [0, 0],
): number {
  const put = (slot: number) => {
    v.segBase[2 * slot] = lo;
    v.segBase[2 * slot + 1] = hi;
  };
  switch (which) {
    case SEGBASE_FS:
    case SEGBASE_GS_USER:
    case SEGBASE_GS_KERNEL:
      if (!isCanonical64(lo, hi)) return -EINVAL;
      put(which === SEGBASE_FS ? SB_FS : which === SEGBASE_GS_USER ? SB_GS_USER : SB_GS_KERNEL);
      return 0;
    case SEGBASE_GS_USER_SEL: {
      let sel = lo & 0xffff;
      if (sel > 3) sel |= 3; // RPL 3 for a non-NUL selector
      const base = sel > 3 ? gdtBase(sel) : [0, 0] as [number, number];
      v.gsUserSel = base === null ? 0 : sel;
      v.segBase[2 * SB_GS_USER] = base === null ? 0 : base[0];
      v.segBase[2 * SB_GS_USER + 1] = base === null ? 0 : base[1];
      return 0;
    }
    default:
      return -EINVAL;
  }
}
