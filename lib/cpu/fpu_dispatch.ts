/**
 * The core's calls into the x87 and SSE units (lib/cpu/fpu, lib/cpu/sse). Until a unit
 * is wired, its instructions raise #UD.
 * @module
 */

import type { Cpu } from "./cpu.ts";
import { VEC_UD } from "./platform.ts";

/** Entry points of the floating-point units, as the core calls them. */
export interface FpuDispatch {
  /** x87 opcode D8..DF with its ModRM; `linear` = -1 for register forms. */
  x87(c: Cpu, op: number, modrm: number, linear: number): void;
  /** fwait: raises #MF when an unmasked x87 exception is pending. */
  fwait(c: Cpu): void;
  /** SSE/SSE2 `0F op2`; returns false for an unimplemented form (#UD). */
  sse(c: Cpu, prefix: number, op2: number, modrm: number, linear: number, imm8: number): boolean;
  /** 0F AE /0../3: fxsave, fxrstor, ldmxcsr, stmxcsr. */
  fxop(c: Cpu, reg: number, linear: number): void;
}

/** The wired units. */
export const fpuDispatch: FpuDispatch = {
  x87(c: Cpu): void {
    c.raise(VEC_UD, -1);
  },
  fwait(): void {},
  sse(): boolean {
    return false;
  },
  fxop(c: Cpu): void {
    c.raise(VEC_UD, -1);
  },
};
