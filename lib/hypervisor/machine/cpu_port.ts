/**
 * What the hypervisor needs of a virtual CPU: registers, segment loads, control state and
 * the run loop. The real lib/cpu `Cpu` is adapted to it in cpu_adapter.ts; tests use a
 * register-only fake. Keeping this narrow lets hypercalls and traps be tested without
 * running instructions.
 * @module
 */

/** General-purpose register indices in x86 encoding order. */
export const R_EAX = 0, R_ECX = 1, R_EDX = 2, R_EBX = 3, R_ESP = 4, R_EBP = 5, R_ESI = 6;
/** General-purpose register index of EDI. */
export const R_EDI = 7;

/** Segment register indices in x86 encoding order. */
export const S_ES = 0, S_CS = 1, S_SS = 2, S_DS = 3, S_FS = 4, S_GS = 5;

/** The hypervisor's view of one virtual CPU. */
export interface CpuPort {
  /** General-purpose registers (R_* order), as u32 stored in an Int32Array. */
  readonly gpr: Int32Array;
  /** Instruction pointer. */
  eip: number;
  /** EFLAGS (materialised on read, applied on write). */
  eflags: number;
  /** Current privilege level (0..3). */
  readonly cpl: number;
  /** The faulting linear address of the last #PF. */
  readonly cr2: number;
  /** Retired instructions since reset (an integer below 2^53). */
  readonly retired: number;
  /** CR0.TS as the CPU applies it (raises #NM on FPU use when set). */
  ts: boolean;
  /** The selector loaded in segment register `seg` (S_*). */
  getSeg(seg: number): number;
  /**
   * Loads a data or stack segment register (ES SS DS FS GS) with the architectural checks
   * for the current CPL.
   * @returns 0, or the fault vector (nothing changed then)
   */
  loadSeg(seg: number, selector: number): number;
  /**
   * Transfers to a handler: loads CS and SS (CPL becomes the RPL of `cs`), EIP and ESP.
   * @returns 0, or the fault vector when a selector is bad (nothing changed then)
   */
  enterHandler(cs: number, eip: number, ss: number, esp: number): number;
  /**
   * Reads a u32 of guest memory at the current privilege, or with supervisor rights.
   * On a fault returns 0 and sets {@link faulted}.
   */
  read32(linear: number): number;
  /** Writes a u32 of guest memory (supervisor rights); sets {@link faulted}. */
  write32(linear: number, value: number): void;
  /** Whether the last read32/write32 faulted. */
  readonly faulted: boolean;
  /** Flushes the whole TLB (and decoded blocks that depend on translations). */
  flushTlb(): void;
  /** Flushes one linear page from the TLB. */
  invlpg(linear: number): void;
  /**
   * Runs up to `n` instructions.
   * @returns the number retired (less than n when stopped)
   */
  run(n: number): number;
  /** Ends the current {@link run} after the current instruction. */
  stop(): void;
  /**
   * Loads the debug registers the CPU applies: DR0-3, DR6, DR7 (indices 0-7; 4 and 5
   * ignored). Breakpoints then raise #DB through the Platform.
   */
  loadDebugRegs(dr: ArrayLike<number>, drHi: ArrayLike<number>): void;
  /** DR6 as the CPU holds it (a #DB it raised merged its status bits in). */
  readonly dr6: number;
  /** CPUID faulting: `cpuid` above CPL 0 raises #GP(0). */
  cpuidFaulting: boolean;
}
