/**
 * `sysenter` in a 64-bit PV domain (Xen 4.17 x86_64/entry.S sysenter_entry): pvx's CPU is an
 * Intel one, where sysenter is valid in IA-32e mode and enters Xen through its SYSENTER MSRs.
 * The instruction keeps neither rip nor rsp, so Xen records rip 0, cs 3 (a null selector
 * with RPL 3), rsp 0, ss FLAT_USER_SS and the flags with IF set, then bounces to the
 * registered sysenter callback (CALLBACKTYPE_sysenter; events masked when it was registered
 * with CALLBACKF_mask_events); with none, to the guest's #GP handler with error code 0.
 * The CPU reports the instruction as #UD; the platform calls {@link sysenterBounce64}.
 * @module
 */
import { X86_EFLAGS_IF, X86_EFLAGS_RF, X86_EFLAGS_VM } from "../../abi/mod.ts";
import { FLAT_RING3_SS64 } from "../../abi/mod.ts";
import { TBF_EXCEPTION_ERRCODE, TBF_INTERRUPT } from "../traps/bounce.ts";
import { createBounceFrame64, TBF_EXCEPTION, type TrapBounce64 } from "./bounce64.ts";
import { CB_SYSENTER, type Pv64Vcpu, type Regs64, U_RFLAGS, U_RIP, U_RSP } from "./vcpu64.ts";

const VEC_GP = 13;

/** Whether `b0 b1` (the bytes at rip) are sysenter (0f 34). */
export function isSysenter(b0: number, b1: number): boolean {
  return b0 === 0x0f && b1 === 0x34;
}

/**
 * Builds the sysenter bounce (regs as the CPU left them, rip on the instruction).
 * @returns as createBounceFrame64
 */
export function sysenterBounce64(
  v: Pv64Vcpu,
  regs: Regs64,
  tb: TrapBounce64,
  vmAssistIopl = false,
): number {
  // sysenter clears VM, IF and RF; Xen's pushfq sees that, then sets IF in the frame
  const fl = (regs.lo(U_RFLAGS) & ~(X86_EFLAGS_VM | X86_EFLAGS_RF)) | X86_EFLAGS_IF;
  regs.set(U_RFLAGS, fl >>> 0, regs.hi(U_RFLAGS));
  regs.set(U_RIP, 0, 0);
  regs.set(U_RSP, 0, 0);
  regs.cs = 3;
  regs.ss = FLAT_RING3_SS64;
  tb.eipLo = v.callbacks[2 * CB_SYSENTER];
  tb.eipHi = v.callbacks[2 * CB_SYSENTER + 1];
  tb.flags = v.sysenterDisablesEvents ? TBF_INTERRUPT : 0;
  tb.errorCode = 0;
  if ((tb.eipLo | tb.eipHi) === 0) {
    tb.eipLo = v.trapAddr[2 * VEC_GP];
    tb.eipHi = v.trapAddr[2 * VEC_GP + 1];
    const gateFlags = v.trapFlagsCs[VEC_GP] >>> 16;
    tb.flags = TBF_EXCEPTION | TBF_EXCEPTION_ERRCODE | (gateFlags & 4 ? TBF_INTERRUPT : 0);
  }
  return createBounceFrame64(v, regs, tb, vmAssistIopl);
}
