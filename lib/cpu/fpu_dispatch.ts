/**
 * The core's calls into the x87 and SSE units (lib/cpu/fpu, lib/cpu/sse), with the
 * state the core keeps for them (`cpu.x87`, `cpu.sse`).
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { x87Execute, x87Fwait } from "./fpu/x87_execute.ts";
import { sseExecute } from "./sse/sse_execute.ts";
import { fxrstor, fxsave, ldmxcsr, stmxcsr } from "./sse/fxsave.ts";

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
  x87(c: Cpu, op: number, modrm: number, linear: number): void {
    const st = c.x87;
    // FIP/FCS are the last non-control instruction's; the unit decides what counts.
    st.fip = c.eipStart;
    st.fcs = c.segSel[1];
    x87Execute(c, st, op, modrm, linear);
  },
  fwait(c: Cpu): void {
    x87Fwait(c, c.x87);
  },
  sse(c: Cpu, prefix: number, op2: number, modrm: number, linear: number, imm8: number): boolean {
    return sseExecute(c, c.sse, prefix, op2, modrm, linear, imm8);
  },
  fxop(c: Cpu, reg: number, linear: number): void {
    if (reg === 0) fxsave(c, c.x87, c.sse, linear);
    else if (reg === 1) fxrstor(c, c.x87, c.sse, linear);
    else if (reg === 2) ldmxcsr(c, c.sse, linear);
    else stmxcsr(c, c.sse, linear);
  },
};
