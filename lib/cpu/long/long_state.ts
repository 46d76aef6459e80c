/**
 * The 64-bit (IA-32e) architectural state beside the 32-bit one: the high halves of the
 * 16 GPRs and of RIP, the low halves of R8-R15 (RAX..RDI keep their low halves in the
 * 32-bit `regs` array, so 32-bit code never sees this file), the FS/GS/KERNEL_GS bases
 * and the syscall MSRs as lo/hi halves, and the 4-level walker used by the 64-bit path.
 * Dormant until EFER.LMA and CS.L are both set (see {@link longModeActive}).
 * @module
 */

/** IA32_STAR (syscall/sysret selectors). */
export const MSR_STAR = 0xc0000081;
/** IA32_LSTAR (64-bit syscall target). */
export const MSR_LSTAR = 0xc0000082;
/** IA32_CSTAR (compatibility-mode syscall target). */
export const MSR_CSTAR = 0xc0000083;
/** IA32_FMASK (RFLAGS bits cleared by syscall). */
export const MSR_SFMASK = 0xc0000084;
/** IA32_FS_BASE. */
export const MSR_FS_BASE = 0xc0000100;
/** IA32_GS_BASE. */
export const MSR_GS_BASE = 0xc0000101;
/** IA32_KERNEL_GS_BASE (swapped with GS_BASE by swapgs). */
export const MSR_KERNEL_GS_BASE = 0xc0000102;
/** IA32_TSC_AUX (ECX of rdtscp; 32 bits). */
export const MSR_TSC_AUX = 0xc0000103;

/** EFER bits. */
export const EFER_SCE = 0x1, EFER_LME = 0x100, EFER_LMA = 0x400, EFER_NXE = 0x800;
/** The L bit (64-bit code) of a code segment's attribute word (descriptor bit 53). */
export const ATTR_L = 0x2000;

/** Slots of {@link LongState.msr} (two int32 halves each: lo at 2*i, hi at 2*i+1). */
export const M_STAR = 0, M_LSTAR = 1, M_CSTAR = 2, M_SFMASK = 3;
/** FS, GS and KERNEL_GS base slots. */
export const M_FS_BASE = 4, M_GS_BASE = 5, M_KERNEL_GS_BASE = 6;
/** TSC_AUX slot (hi always 0). */
export const M_TSC_AUX = 7;

/** Translates 64-bit linear addresses (lib/paging's LongModeWalker fits it). */
export interface LongWalker {
  /**
   * @returns the machine byte address, or -1 with {@link pfErrorCode} and
   *   {@link lastFault} set (3 = non-canonical: #GP, not #PF)
   */
  translate64(lo: number, hi: number, access: number): number;
  /** The #PF error code of the last failed translation. */
  pfErrorCode: number;
  /** Why the last translation failed (3 = non-canonical). */
  lastFault: number;
  /**
   * The PML4's machine address, when the walker has one the CPU may load: `mov cr3` in
   * 64-bit mode writes it (a native long-mode kernel switching address spaces). A PV
   * walker is driven by the hypervisor instead (`mov cr3` is #GP(0) at CPL 3 there).
   */
  cr3?: number;
}

/** The 64-bit half of the register file and the IA-32e MSRs. */
export class LongState {
  /** Low halves of R8..R15 (index r - 8). */
  readonly rlo: Int32Array = new Int32Array(8);
  /** High halves of RAX..R15 in encoding order. */
  readonly hi: Int32Array = new Int32Array(16);
  /** Bits 63..32 of RIP (bits 31..0 are `eip`). */
  ripHi = 0;
  /** Bits 63..32 of CR2 (bits 31..0 are `cr2`). */
  cr2Hi = 0;
  /** STAR, LSTAR, CSTAR, SFMASK, FS_BASE, GS_BASE, KERNEL_GS_BASE, TSC_AUX as lo/hi pairs. */
  readonly msr: Int32Array = new Int32Array(16);
  /**
   * `segBase[FS]` and `segBase[GS]` as last reconciled with FS_BASE/GS_BASE (msr64.ts
   * `syncSegBases`): tells which side a 32-bit segment load or an MSR write changed.
   */
  readonly segSeen: Int32Array = new Int32Array(2);
  /** Bits 63..32 of CR3 (bits 31..0 are `cr3`). */
  cr3Hi = 0;
  /** CR8 (task priority, 4 bits). */
  cr8 = 0;
  /** Bits 63..32 of DR0..DR3 (breakpoint addresses). */
  readonly drHi: Int32Array = new Int32Array(4);
  /** Bits 63..32 of the GDTR, IDTR, LDTR and TR bases (IA-32e: 16-byte system descriptors). */
  gdtBaseHi = 0;
  /** Bits 63..32 of the IDTR base. */
  idtBaseHi = 0;
  /** Bits 63..32 of the LDTR base. */
  ldtBaseHi = 0;
  /** Bits 63..32 of the TR base. */
  trBaseHi = 0;
  /** The 4-level walker for 64-bit accesses; null = linear is machine (below 4 GiB). */
  walker: LongWalker | null = null;
}

/** The {@link LongState.msr} slot of an IA-32e MSR index, or -1. */
export function longMsrSlot(index: number): number {
  switch (index) {
    case MSR_STAR:
      return M_STAR;
    case MSR_LSTAR:
      return M_LSTAR;
    case MSR_CSTAR:
      return M_CSTAR;
    case MSR_SFMASK:
      return M_SFMASK;
    case MSR_FS_BASE:
      return M_FS_BASE;
    case MSR_GS_BASE:
      return M_GS_BASE;
    case MSR_KERNEL_GS_BASE:
      return M_KERNEL_GS_BASE;
    case MSR_TSC_AUX:
      return M_TSC_AUX;
    default:
      return -1;
  }
}

/** Whether the CPU executes 64-bit code: EFER.LMA and CS.L (EFER.LMA alone: compatibility mode). */
export function longModeActive(efer: number, csAttr: number): boolean {
  return (efer & EFER_LMA) !== 0 && (csAttr & ATTR_L) !== 0;
}

/** Whether a 64-bit address with high half `hi` is canonical (bits 63..47 equal). */
export function canonicalHi(hi: number): boolean {
  const top = hi >> 15;
  return top === 0 || top === -1;
}
