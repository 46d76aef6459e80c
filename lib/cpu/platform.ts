/**
 * The CPU's only ways out: the {@link Platform} it reports exceptions, software
 * interrupts and cpuid/rdtsc to (the hypervisor implements it), and the
 * {@link PageWalker} it asks on a TLB miss (lib/paging implements it).
 *
 * The CPU knows nothing of Xen. This file is the contract between lib/cpu, lib/paging
 * and lib/hypervisor: change it only with all three in view.
 * @module
 */

/** Access-kind bits for {@link PageWalker.translate}; they equal the #PF error-code bits. */
export const ACC_READ = 0;
/** A write access (#PF error code bit 1, W/R). */
export const ACC_WRITE = 2;
/** An access at CPL 3 (#PF error code bit 2, U/S). */
export const ACC_USER = 4;
/** An instruction fetch (#PF error code bit 4, I/D). */
export const ACC_FETCH = 16;

/**
 * Linear -> machine translation, implemented by lib/paging (PAE walk with Xen's rules).
 * The CPU keeps its own TLB in front of it and calls it only on a miss.
 */
export interface PageWalker {
  /**
   * Translates a linear address (u32) for one access.
   * @param linear the linear address
   * @param access ACC_* bits (0 = supervisor data read)
   * @returns the machine byte address (>= 0), after setting accessed/dirty bits as the
   *   hardware does; or -1 when the access faults, with {@link pfErrorCode} set.
   *   Never allocates.
   */
  translate(linear: number, access: number): number;
  /** The #PF error code of the last failed {@link translate}. */
  pfErrorCode: number;
  /**
   * Whether the last successful translation may be cached for writes at this privilege
   * too (the page is writable and already dirty). Optional refinement; the CPU may ignore it.
   */
  lastWritable?: boolean;
}

/** How an exception or interrupt arose (for the {@link Platform}). */
export const EXC_FAULT = 0; // eip = the faulting instruction
/** A trap (e.g. #DB single step): eip = the next instruction. */
export const EXC_TRAP = 1;
/** `int n` (CD ib): eip = the next instruction; the platform checks the gate's DPL. */
export const EXC_SOFTINT = 2;
/** `int3` (CC): eip = the next instruction. */
export const EXC_INT3 = 3;
/** `into` with OF set: eip = the next instruction. */
export const EXC_INTO = 4;

/** x86 exception vectors. */
export const VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5;
export const VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12;
export const VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_XM = 19;

/**
 * What the CPU reports to; the hypervisor implements it. Every exception (all vectors,
 * including #GP from privileged instructions at CPL > 0 and from `in`/`out`/`cli`/`sti`
 * under IOPL), every `int n`, `int3` and `into` comes here: the CPU itself never delivers
 * through an IDT. The platform must leave the CPU ready to continue: bounced into a guest
 * handler (see `Cpu.deliverToHandler`), emulated (eip advanced), or stopped (`Cpu.stop`).
 */
export interface Platform {
  /**
   * An exception or software interrupt at the current instruction.
   * @param vector 0..255
   * @param errorCode the error code, or -1 when the vector has none
   * @param kind EXC_FAULT / EXC_TRAP / EXC_SOFTINT / EXC_INT3 / EXC_INTO
   *   (for #PF the faulting linear address is in `cpu.cr2`)
   */
  exception(vector: number, errorCode: number, kind: number): void;
  /**
   * CPUID values for a leaf.
   * @param out receives eax, ebx, ecx, edx (as int32)
   */
  cpuid(leaf: number, subleaf: number, out: Int32Array): void;
  /** The time-stamp counter now (an integer below 2^53). */
  rdtsc(): number;
  /**
   * `syscall` in 64-bit mode, when the platform takes it instead of the CPU (a PV
   * hypervisor: a 64-bit PV guest runs kernel and user space both at CPL 3, and every
   * syscall enters Xen). Called with RIP already past the instruction, RCX = that RIP
   * (both halves), R11 = RFLAGS, and nothing else changed (CS, SS, RFLAGS untouched).
   * Absent: the CPU performs the architectural syscall (EFER.SCE, STAR, LSTAR, SFMASK).
   */
  syscall?(): void;
}

/** Descriptor-table selector for {@link DescriptorTables.read}: the GDT. */
export const TABLE_GDT = 0;
/** Descriptor-table selector for {@link DescriptorTables.read}: the LDT. */
export const TABLE_LDT = 1;

/**
 * Where segment descriptors come from. Without one, the CPU reads its own GDTR/LDTR
 * tables (loaded by lgdt/lldt) through paging. The hypervisor installs its own: a PV
 * guest's GDT is the frames it gave to set_gdt plus Xen's reserved entries (flat ring-1
 * and ring-3 selectors), and its LDT comes from MMUEXT_SET_LDT.
 */
export interface DescriptorTables {
  /**
   * Reads descriptor `index` of a table.
   * @param table TABLE_GDT or TABLE_LDT
   * @param out receives the low dword in out[0] and the high dword in out[1]
   * @returns false when the index is beyond the table's limit (the CPU raises the
   *   architectural #GP/#TS/#NP with the selector)
   */
  read(table: number, index: number, out: Int32Array): boolean;
  /** Sets the accessed bit of a descriptor after a successful load (may be a no-op). */
  setAccessed(table: number, index: number): void;
}
