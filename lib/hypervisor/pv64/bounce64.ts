/**
 * Entering a 64-bit PV guest kernel from the hypervisor (x86_64/entry.S of Xen 4.17):
 * create_bounce_frame (toggle to kernel mode from user mode, onto the stack_switch stack;
 * 16-byte aligned frame {rcx, r11, [error code,] rip, cs | saved_upcall_mask << 32,
 * rflags, rsp, ss}; the handler entered on FLAT_KERNEL_CS/SS), the syscall from user mode
 * (switch_to_kernel: the syscall or syscall32 callback, #UD when none is registered), and
 * the return to the guest (sysret semantics after a syscall or bounce: rcx = rip,
 * r11 = rflags).
 *
 * Pure models over {@link Regs64} / {@link Pv64Vcpu}: the caller writes the frame words
 * through the guest's kernel page tables and switches page tables and GS bases when the
 * mode toggles.
 * @module
 */
import {
  X86_EFLAGS_IF,
  X86_EFLAGS_IOPL,
  X86_EFLAGS_NT,
  X86_EFLAGS_RF,
  X86_EFLAGS_TF,
  X86_EFLAGS_VM,
} from "../../abi/mod.ts";
import {
  FLAT_KERNEL_CS64,
  FLAT_KERNEL_SS64,
  FLAT_RING3_CS32,
  FLAT_RING3_CS64,
  FLAT_RING3_SS64,
  VGCF_syscall_disables_events,
} from "../../abi/mod.ts";
import { TBF_EXCEPTION_ERRCODE, TBF_FAILSAFE, TBF_INTERRUPT } from "../traps/bounce.ts";
import {
  CB_SYSCALL,
  CB_SYSCALL32,
  type Pv64Vcpu,
  type Regs64,
  U_R11,
  U_RCX,
  U_RFLAGS,
  U_RIP,
  U_RSP,
} from "./vcpu64.ts";

/** TBF_EXCEPTION. */
export const TBF_EXCEPTION = 1;
/** X86_EFLAGS_AC. */
const EFLAGS_AC = 1 << 18;
/** X86_EFLAGS_DF. */
const EFLAGS_DF = 1 << 10;

/** A trap bounce (struct trap_bounce) and what the bounce did to the upcall mask. */
export interface TrapBounce64 {
  /** TBF_* flags. */
  flags: number;
  /** Error code (pushed with TBF_EXCEPTION_ERRCODE). */
  errorCode: number;
  /** Handler address (lo, hi). */
  eipLo: number;
  eipHi: number;
  /** In: the vcpu's evtchn_upcall_mask; out: its value after the bounce. */
  upcallMask: number;
  /** With TBF_FAILSAFE: the loaded ds, es, fs, gs selectors the frame carries. */
  segs?: number[];
}

/** The frame words (u64 as (lo, hi)), lowest address first. */
export const frameWords: Uint32Array = new Uint32Array(24);
/** The frame's address (lo, hi). */
export const frameBase: Uint32Array = new Uint32Array(2);

/** createBounceFrame64's failures: Xen crashes the domain. */
export const BOUNCE_BAD_STACK = -1;
/** The handler address is 0. */
export const BOUNCE_NO_HANDLER = -2;

/**
 * create_bounce_frame: builds the frame in {@link frameWords} at {@link frameBase} and
 * points the registers at the handler. From user mode the vcpu toggles to kernel mode
 * (the caller switches to the kernel page tables and GS base) and the frame goes on the
 * stack_switch stack; in kernel mode on the current stack, with CS's RPL cleared in the
 * frame to tell the guest it interrupted its kernel.
 * @param vmAssistIopl VMASST_TYPE_architectural_iopl is on (the frame carries v.iopl)
 * With TBF_FAILSAFE (the failsafe callback) ds, es, fs, gs follow r11 in the frame.
 * @returns the number of frame words (7, 8 with an error code, 11 failsafe), or
 *   BOUNCE_BAD_STACK / BOUNCE_NO_HANDLER (crash the domain)
 */
export function createBounceFrame64(
  v: Pv64Vcpu,
  regs: Regs64,
  tb: TrapBounce64,
  vmAssistIopl = false,
): number {
  let lo: number, hi: number;
  if (!v.kernelMode) {
    v.kernelMode = true;
    lo = v.kernelSp[0];
    hi = v.kernelSp[1];
  } else {
    lo = regs.lo(U_RSP);
    hi = regs.hi(U_RSP);
    regs.cs &= ~3;
  }
  lo = (lo & ~0xf) >>> 0;
  // Xen's own range (and the 64 bytes after it) is no guest stack.
  const h = hi >>> 0;
  const inXen = (h > 0xffff8000 || (h === 0xffff8000 && lo !== 0)) &&
    (h < 0xffff8800 || (h === 0xffff8800 && lo < 64));
  if (inXen) return BOUNCE_BAD_STACK;
  if ((tb.eipLo | tb.eipHi) === 0) return BOUNCE_NO_HANDLER;
  const failsafe = (tb.flags & TBF_FAILSAFE) !== 0;
  const n = (tb.flags & TBF_EXCEPTION_ERRCODE ? 8 : 7) + (failsafe ? 4 : 0);
  const sub = n * 8;
  frameBase[0] = (lo - sub) >>> 0;
  frameBase[1] = (lo < sub ? hi - 1 : hi) >>> 0;
  const w = frameWords;
  let i = 0;
  const put = (l: number, hh: number) => {
    w[2 * i] = l;
    w[2 * i + 1] = hh;
    i++;
  };
  const saved = tb.upcallMask & 0xff;
  put(regs.lo(U_RCX), regs.hi(U_RCX));
  put(regs.lo(U_R11), regs.hi(U_R11));
  if (failsafe) { for (let k = 0; k < 4; k++) put((tb.segs?.[k] ?? 0) & 0xffff, 0); }
  if (tb.flags & TBF_EXCEPTION_ERRCODE) put(tb.errorCode >>> 0, 0);
  put(regs.lo(U_RIP), regs.hi(U_RIP));
  put(regs.cs & 0xffff, saved);
  const rf = (regs.lo(U_RFLAGS) & ~(X86_EFLAGS_IF | X86_EFLAGS_IOPL)) |
    (saved === 0 ? X86_EFLAGS_IF : 0) | (vmAssistIopl ? v.iopl & X86_EFLAGS_IOPL : 0);
  put(rf >>> 0, 0);
  put(regs.lo(U_RSP), regs.hi(U_RSP));
  put(regs.ss & 0xffff, 0);
  if (tb.flags & TBF_INTERRUPT) tb.upcallMask = 1;
  regs.viaSyscall = true;
  const clear = EFLAGS_AC | X86_EFLAGS_VM | X86_EFLAGS_RF | X86_EFLAGS_NT | X86_EFLAGS_TF;
  regs.set(U_RFLAGS, (regs.lo(U_RFLAGS) & ~clear) >>> 0, regs.hi(U_RFLAGS));
  regs.ss = FLAT_KERNEL_SS64;
  regs.set(U_RSP, frameBase[0], frameBase[1]);
  regs.cs = FLAT_KERNEL_CS64;
  regs.set(U_RIP, tb.eipLo, tb.eipHi);
  return n;
}

/**
 * The syscall instruction from guest user mode (switch_to_kernel): the bounce goes to the
 * syscall callback (syscall32 for a 32-bit user code segment), masking events when it
 * was registered so; with no callback, to the guest's #UD handler with rip back on the
 * syscall instruction. Then the frame is built and DF cleared.
 * @param regs the user registers (rip = rcx, rflags = r11, as the syscall left them)
 * @param udHandler the guest's trap_info for #UD: [eip lo, eip hi, flags]
 * @returns as {@link createBounceFrame64}
 */
export function syscallFromUser64(
  v: Pv64Vcpu,
  regs: Regs64,
  tb: TrapBounce64,
  udHandler: Uint32Array,
  vmAssistIopl = false,
): number {
  const slot = (regs.cs & 0xffff) === FLAT_RING3_CS32 ? CB_SYSCALL32 : CB_SYSCALL;
  tb.eipLo = v.callbacks[2 * slot];
  tb.eipHi = v.callbacks[2 * slot + 1];
  tb.flags = v.vgcFlags & VGCF_syscall_disables_events ? TBF_INTERRUPT : 0;
  tb.errorCode = 0;
  if ((tb.eipLo | tb.eipHi) === 0) {
    const ripLo = regs.lo(U_RIP);
    if (slot === CB_SYSCALL32) regs.set(U_RIP, (ripLo - 2) >>> 0, regs.hi(U_RIP));
    else {regs.set(
        U_RIP,
        (ripLo - 2) >>> 0,
        (ripLo < 2 ? regs.hi(U_RIP) - 1 : regs.hi(U_RIP)) >>> 0,
      );}
    tb.eipLo = udHandler[0];
    tb.eipHi = udHandler[1];
    tb.flags = TBF_EXCEPTION | (udHandler[2] & 4 ? TBF_INTERRUPT : 0);
  }
  const n = createBounceFrame64(v, regs, tb, vmAssistIopl);
  if (n > 0) regs.set(U_RFLAGS, (regs.lo(U_RFLAGS) & ~EFLAGS_DF) >>> 0, regs.hi(U_RFLAGS));
  return n;
}

/**
 * The return to the guest (restore_all_guest): after a syscall or bounce, with a
 * canonical rip, the sysret path leaves rcx = rip and r11 = (rflags & ~(IOPL|VM)) | IF,
 * and the guest lands on the flat selectors sysret loads whatever cs/ss said
 * (sysretl for FLAT_USER_CS32, sysretq otherwise).
 */
export function returnToGuest64(regs: Regs64): void {
  if (!regs.viaSyscall) return;
  const top = (regs.hi(U_RIP) | 0) >> 15;
  if (top !== 0 && top !== -1) return; // iret path
  regs.cs = regs.cs === FLAT_RING3_CS32 ? FLAT_RING3_CS32 : FLAT_RING3_CS64;
  regs.ss = FLAT_RING3_SS64;
  regs.set(U_RCX, regs.lo(U_RIP), regs.hi(U_RIP));
  const rf = ((regs.lo(U_RFLAGS) & ~(X86_EFLAGS_IOPL | X86_EFLAGS_VM)) | X86_EFLAGS_IF) >>> 0;
  regs.set(U_R11, rf, regs.hi(U_RFLAGS));
}
