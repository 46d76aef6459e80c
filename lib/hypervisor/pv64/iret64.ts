/**
 * HYPERVISOR_iret of a 64-bit guest (do_iret of Xen's x86_64/traps.c): the guest jumps to
 * the iret stub with a struct iret_context on its stack (rax, r11, rcx pushed by the
 * stub; flags, rip, cs, rflags, rsp, ss built by the guest). Returning to user mode
 * (cs RPL 3) toggles to the user page tables, which must exist; rcx and r11 come back
 * unless VGCF_in_syscall asks for sysret semantics; the upcall mask follows the saved IF.
 * @module
 */
import { X86_EFLAGS_IF, X86_EFLAGS_IOPL, X86_EFLAGS_VM } from "../../abi/mod.ts";
import { VGCF_in_syscall } from "../../abi/mod.ts";
import {
  type Pv64Vcpu,
  type Regs64,
  U_R11,
  U_RAX,
  U_RCX,
  U_RFLAGS,
  U_RIP,
  U_RSP,
} from "./vcpu64.ts";

/** Words of struct iret_context: rax, r11, rcx, flags, rip, cs, rflags, rsp, ss. */
export const IRET_CONTEXT_WORDS = 9;

/** do_iret64's failure: user mode without user page tables (Xen crashes the domain). */
export const IRET_NO_USER_TABLES = -1;

/**
 * Applies an iret_context.
 * @param ctx the 9 u64 words as (lo, hi) pairs (18 u32), read from the guest's rsp
 * @param hasUserTables whether the vcpu has a user base (MMUEXT_NEW_USER_BASEPTR)
 * @param vmAssistIopl VMASST_TYPE_architectural_iopl: the virtual IOPL follows rflags
 * @returns the new upcall mask (0 or 1), or IRET_NO_USER_TABLES; the caller toggles page
 *   tables and GS when `v.kernelMode` changed
 */
export function iret64(
  v: Pv64Vcpu,
  regs: Regs64,
  ctx: Uint32Array,
  hasUserTables: boolean,
  vmAssistIopl = false,
): number {
  const word = (i: number) => ctx[2 * i];
  const cs = word(5) & 0xffff;
  if ((cs & 3) === 3) {
    if (!hasUserTables) return IRET_NO_USER_TABLES;
    v.kernelMode = !v.kernelMode; // toggle_guest_mode
  }
  const rflags = word(6);
  if (vmAssistIopl) v.iopl = rflags & X86_EFLAGS_IOPL;
  regs.set(U_RIP, ctx[8], ctx[9]);
  regs.cs = cs | 3;
  regs.set(
    U_RFLAGS,
    ((rflags & ~(X86_EFLAGS_IOPL | X86_EFLAGS_VM)) | X86_EFLAGS_IF) >>> 0,
    ctx[13],
  );
  regs.set(U_RSP, ctx[14], ctx[15]);
  regs.ss = (word(8) & 0xffff) | 3;
  if (!(word(3) & VGCF_in_syscall)) {
    regs.viaSyscall = false;
    regs.set(U_R11, ctx[2], ctx[3]);
    regs.set(U_RCX, ctx[4], ctx[5]);
  }
  regs.set(U_RAX, ctx[0], ctx[1]);
  return rflags & X86_EFLAGS_IF ? 0 : 1;
}
