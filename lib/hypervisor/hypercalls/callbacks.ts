/**
 * Callback registration: set_callbacks, callback_op (event, failsafe, syscall/sysenter,
 * NMI) and nmi_op; set_trap_table fills the virtual IDT (mirrors xen/arch/x86/pv/
 * callback.c and traps.c's do_set_trap_table for 32-bit guests).
 * @module
 */
import { EFAULT, EINVAL, ENOSYS } from "../../abi/mod.ts";
import {
  CALLBACKF_mask_events,
  CALLBACKOP_register,
  CALLBACKOP_unregister,
  CALLBACKTYPE_event,
  CALLBACKTYPE_failsafe,
  CALLBACKTYPE_nmi,
  CALLBACKTYPE_syscall32,
  CALLBACKTYPE_sysenter,
  XENNMI_register_callback,
  XENNMI_unregister_callback,
} from "../../abi/mod.ts";
import { FLAT_KERNEL_CS } from "../../abi/mod.ts";
import { TRAP_INFO_SIZE } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { fixupGuestSelector } from "../pv/misc_hypercalls.ts";
import { readStruct } from "./_guest.ts";

/** TRAP_nmi. */
const TRAP_NMI = 2;

/** do_set_callbacks(event_cs, event_eip, failsafe_cs, failsafe_eip). */
export function doSetCallbacks(
  v: Vcpu,
  eventCs: number,
  eventEip: number,
  failsafeCs: number,
  failsafeEip: number,
): number {
  v.eventCs = fixupGuestSelector(eventCs);
  v.eventEip = eventEip >>> 0;
  v.failsafeCs = fixupGuestSelector(failsafeCs);
  v.failsafeEip = failsafeEip >>> 0;
  return 0;
}

/** register_guest_nmi_callback: the NMI trap-table entry. */
function registerNmi(v: Vcpu, eip: number): number {
  v.nmiEip = eip >>> 0;
  v.trapFlagsCs[TRAP_NMI] = FLAT_KERNEL_CS; // flags 0 (DPL 0, events not masked)
  v.trapEip[TRAP_NMI] = eip >>> 0;
  return 0;
}

function unregisterNmi(v: Vcpu): number {
  v.nmiEip = 0;
  v.trapFlagsCs[TRAP_NMI] = 0;
  v.trapEip[TRAP_NMI] = 0;
  return 0;
}

/** CALLBACKOP_register: callback_register { type u16, flags u16, cs u32, eip u32 }. */
function registerCallback(v: Vcpu, arg: number): number {
  const s = readStruct(v, arg, 12);
  if (!s) return -EFAULT;
  const type = s.getUint16(0, true);
  const flags = s.getUint16(2, true);
  const cs = s.getUint32(4, true);
  const eip = s.getUint32(8, true);
  switch (type) {
    case CALLBACKTYPE_event:
      v.eventCs = fixupGuestSelector(cs);
      v.eventEip = eip;
      return 0;
    case CALLBACKTYPE_failsafe:
      v.failsafeCs = fixupGuestSelector(cs);
      v.failsafeEip = eip;
      v.failsafeDisablesEvents = (flags & CALLBACKF_mask_events) !== 0;
      return 0;
    case CALLBACKTYPE_syscall32:
    case CALLBACKTYPE_sysenter:
      // Recorded as Xen does; pvx's CPU never takes syscall/sysenter from ring 3.
      return 0;
    case CALLBACKTYPE_nmi:
      return registerNmi(v, eip);
    default:
      return -ENOSYS;
  }
}

/** CALLBACKOP_unregister: callback_unregister { type u16, pad u16 }. */
function unregisterCallback(v: Vcpu, arg: number): number {
  const s = readStruct(v, arg, 4);
  if (!s) return -EFAULT;
  switch (s.getUint16(0, true)) {
    case CALLBACKTYPE_event:
    case CALLBACKTYPE_failsafe:
    case CALLBACKTYPE_syscall32:
    case CALLBACKTYPE_sysenter:
      return -EINVAL;
    case CALLBACKTYPE_nmi:
      return unregisterNmi(v);
    default:
      return -ENOSYS;
  }
}

/** do_callback_op(cmd, arg). */
export function doCallbackOp(v: Vcpu, cmd: number, arg: number): number {
  if (cmd === CALLBACKOP_register) return registerCallback(v, arg);
  if (cmd === CALLBACKOP_unregister) return unregisterCallback(v, arg);
  return -ENOSYS;
}

/** do_nmi_op(cmd, arg). */
export function doNmiOp(v: Vcpu, cmd: number, arg: number): number {
  switch (cmd) {
    case XENNMI_register_callback: {
      const s = readStruct(v, arg, 8); // xennmi_callback { handler_address, pad }
      if (!s) return -EFAULT;
      return registerNmi(v, s.getUint32(0, true));
    }
    case XENNMI_unregister_callback:
      return unregisterNmi(v);
    default:
      return -ENOSYS;
  }
}

/**
 * do_set_trap_table(traps): entries until one with address 0; a null list clears the
 * table. Each entry: vector u8, flags u8, cs u16, address u32.
 */
export function doSetTrapTable(v: Vcpu, traps: number): number {
  if (traps === 0) {
    v.trapFlagsCs.fill(0);
    v.trapEip.fill(0);
    return 0;
  }
  const entry = new Uint8Array(TRAP_INFO_SIZE);
  const dv = new DataView(entry.buffer);
  // A guest table has at most 256 useful entries; Xen preempts long lists, pvx caps them.
  for (let i = 0; i < 4096; i++) {
    if (!v.access.copyFromGuest(traps + i * TRAP_INFO_SIZE, entry)) return -EFAULT;
    const address = dv.getUint32(4, true);
    if (address === 0) return 0;
    const vector = entry[0];
    const flags = entry[1];
    const cs = fixupGuestSelector(dv.getUint16(2, true));
    v.trapFlagsCs[vector] = (flags << 16) | cs;
    v.trapEip[vector] = address;
  }
  return 0;
}
