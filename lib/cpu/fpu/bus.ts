/**
 * The seam between the interpreter core (class `Cpu`) and the floating-point units
 * (x87 in lib/cpu/fpu, SSE/SSE2 in lib/cpu/sse): what the units need from the core.
 * @module
 */

/**
 * What the x87 and SSE units need from the CPU; the core's `Cpu` implements it.
 *
 * Entry points the core calls (all allocation-free):
 * - `x87Execute(bus, st, opcode, modrm, linear)` (lib/cpu/fpu/x87_execute.ts) for opcodes
 *   0xD8..0xDF; `linear` is the effective linear address of a memory operand, or -1 for
 *   the register forms (mod = 3). Handles fnsave/frstor/fnstenv/fldenv (32-bit formats),
 *   fnstsw ax (writes `regs[0]` low 16 bits) and fcmovcc/fcomi (through the eflags hooks).
 *   Before calling, the core stores the instruction's address in `st.fip` (and its CS in
 *   `st.fcs`) if it wants fnstenv/fnsave to report it; the unit keeps them (with FOP and
 *   FDP, which it records itself) only for non-control instructions. The operand-size
 *   prefix is not consulted: the environment formats are always the 32-bit ones.
 * - `sseExecute(bus, sse, prefix, op2, modrm, linear, imm8)` (lib/cpu/sse/sse_execute.ts)
 *   for `0F op2` with a ModRM byte; `prefix` is the last of 0x66/0xF2/0xF3 seen (0 if
 *   none); returns false when the form is not implemented (the core raises #UD).
 *   `SSE_OPCODE_MAP` (lib/cpu/sse/sse_execute.ts) tells the decoder which `0F xx` bytes
 *   go there and which carry an imm8.
 * - `fxsave(bus, x87, sse, linear)`, `fxrstor(...)`, `ldmxcsr(bus, sse, linear)`,
 *   `stmxcsr(bus, sse, linear)` (lib/cpu/sse/fxsave.ts, 0F AE /0../3).
 *
 * The core keeps the two states as `cpu.x87` (X87State) and `cpu.sse` (SseState); the
 * host-differential runner (tests/cpu/host/differential_test.ts) looks them up by these
 * names. `x87Fwait(bus, st)` serves 9B (fwait).
 *
 * The core decodes, computes `linear` and the instruction length, checks CR0.TS/EM (#NM)
 * and CR4.OSFXSR before calling. In 64-bit mode the core is lib/cpu/long/fpu64.ts: it
 * passes a `Bus64` (lib/cpu/long/bus64.ts) whose `linear` is the address's unsigned low
 * half (the adapter holds the high half and carries into it past 2^32), sets REX.R/REX.B
 * in bits 8/9 of the SSE ModRM, and gives fxsave/fxrstor their 64-bit formats. The units raise #MF(16), #XM(19), #GP(13) and #UD(6)
 * through {@link CpuBus.raise}; memory accessors may throw the core's fault sentinel on
 * #PF/#GP, and the units never catch exceptions, so a faulting store leaves state as the
 * instruction found it wherever the unit reads all operands before writing.
 */
export interface CpuBus {
  /** Reads a byte at a linear address (may throw the core's fault sentinel). */
  read8(linear: number): number;
  /** Reads a little-endian word at a linear address. */
  read16(linear: number): number;
  /** Reads a little-endian dword at a linear address (as int32 or uint32; units use `| 0`). */
  read32(linear: number): number;
  /** Writes a byte at a linear address. */
  write8(linear: number, v: number): void;
  /** Writes a little-endian word at a linear address. */
  write16(linear: number, v: number): void;
  /** Writes a little-endian dword at a linear address. */
  write32(linear: number, v: number): void;
  /** The general registers EAX ECX EDX EBX ESP EBP ESI EDI (index = ModRM reg number). */
  readonly regs: Int32Array;
  /**
   * Raises an exception from inside an instruction (never returns).
   * @param vector 6 (#UD), 13 (#GP), 16 (#MF) or 19 (#XM)
   * @param errorCode the error code, or -1 when the vector has none
   */
  raise(vector: number, errorCode: number): never;
  /** The architectural EFLAGS now (lazy flags materialised); fcmovcc reads CF/ZF/PF. */
  getEflags(): number;
  /**
   * Sets ZF, PF and CF from a compare (1 or 0 each) and clears OF, SF and AF, as
   * fcomi/fucomi/comiss/comisd/ucomiss/ucomisd define.
   */
  setFlagsFromCompare(zf: number, pf: number, cf: number): void;
}

/** Exception vectors the units raise. */
export const FPU_VEC_UD = 6;
/** #GP, e.g. a misaligned movaps or fxsave operand. */
export const FPU_VEC_GP = 13;
/** #MF: an unmasked x87 exception pending when a waiting x87 instruction runs. */
export const FPU_VEC_MF = 16;
/** #XM: an unmasked SIMD floating-point exception (with CR4.OSXMMEXCPT). */
export const FPU_VEC_XM = 19;
