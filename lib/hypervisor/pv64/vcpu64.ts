/**
 * The per-vcpu state Xen keeps for a 64-bit PV vcpu (struct pv_vcpu of a 64-bit guest)
 * and the guest register frame the 64-bit models work on. 64-bit values are (lo, hi) u32
 * pairs in typed arrays (no BigInt on these paths): value i at [2i, 2i + 1].
 * @module
 */
import { FLAT_KERNEL_SS64 } from "../../abi/mod.ts";

/** Register indexes of {@link Regs64.w} (GPRs in encoding order, then rip and rflags). */
export const U_RAX = 0, U_RCX = 1, U_RDX = 2, U_RBX = 3, U_RSP = 4, U_RBP = 5, U_RSI = 6, U_RDI = 7;
/** r8..r15 are 8..15. */
export const U_R8 = 8, U_R11 = 11, U_R15 = 15;
/** The instruction pointer. */
export const U_RIP = 16;
/** RFLAGS. */
export const U_RFLAGS = 17;

/** The guest's user-visible registers at an entry to the hypervisor (cpu_user_regs). */
export class Regs64 {
  /** rax..r15, rip, rflags as (lo, hi) pairs. */
  readonly w: Uint32Array = new Uint32Array(36);
  /** cs selector. */
  cs = 0;
  /** ss selector. */
  ss = 0;
  /**
   * TRAP_syscall in entry_vector: the hypervisor returns with sysret semantics (rcx and
   * r11 become rip and rflags), as after a syscall or a bounce.
   */
  viaSyscall = false;

  /** Low half of register `r`. */
  lo(r: number): number {
    return this.w[2 * r];
  }

  /** High half of register `r`. */
  hi(r: number): number {
    return this.w[2 * r + 1];
  }

  /** Sets register `r`. */
  set(r: number, lo: number, hi: number): void {
    this.w[2 * r] = lo;
    this.w[2 * r + 1] = hi;
  }
}

/** Callback slots of {@link Pv64Vcpu.callbacks}. */
export const CB_EVENT = 0, CB_FAILSAFE = 1, CB_SYSCALL = 2, CB_SYSCALL32 = 3, CB_SYSENTER = 4;
/** CB_NMI: the NMI callback. */
export const CB_NMI = 5;

/** Segment base slots of {@link Pv64Vcpu.segBase}. */
export const SB_FS = 0, SB_GS_KERNEL = 1, SB_GS_USER = 2;

/** Xen's 64-bit PV state of one vcpu. */
export class Pv64Vcpu {
  /** TF_kernel_mode: the guest kernel (not its user space) is running. */
  kernelMode = true;
  /** Callback addresses (CB_* slots, (lo, hi) pairs; 0 = not registered). */
  readonly callbacks: Uint32Array = new Uint32Array(12);
  /** vcpu_guest_context flags (VGCF_syscall_disables_events, VGCF_failsafe_disables_events). */
  vgcFlags = 0;
  /** CALLBACKF_mask_events of the syscall32 callback. */
  syscall32DisablesEvents = false;
  /** CALLBACKF_mask_events of the sysenter callback. */
  sysenterDisablesEvents = false;
  /** The kernel stack (stack_switch): selector. */
  kernelSs: number = FLAT_KERNEL_SS64;
  /** The kernel stack pointer (lo, hi). */
  readonly kernelSp: Uint32Array = new Uint32Array(2);
  /**
   * FS base, the kernel's GS base and the user's GS base ((lo, hi) pairs, SB_* slots). In
   * kernel mode GS uses the kernel base; a mode toggle swaps which one is active.
   */
  readonly segBase: Uint32Array = new Uint32Array(6);
  /** The user GS selector last loaded with SEGBASE_GS_USER_SEL. */
  gsUserSel = 0;
  /** The virtual IOPL (architectural_iopl). */
  iopl = 0;
  /** The virtual IDT (set_trap_table / vcpu_guest_context): per vector (flags << 16) | cs. */
  readonly trapFlagsCs: Int32Array = new Int32Array(256);
  /** The virtual IDT: per vector the handler address (lo, hi). */
  readonly trapAddr: Uint32Array = new Uint32Array(512);
}
