/**
 * x87 and SSE/SSE2 in 64-bit mode (the hook step64.ts calls for opcodes it does not
 * decode itself): D8-DF and 9B through lib/cpu/fpu, `0F xx` SSE forms (xmm0-15 with
 * REX.R/B), 0F AE (fxsave/fxrstor 64-bit forms, ldmxcsr/stmxcsr, fences) through lib/cpu/sse.
 * @module
 */

import type { CpuCore } from "../core.ts";

/**
 * A one-byte opcode `b` (prefixes consumed, D holds them, RIP after the opcode byte).
 * @returns true when handled; false: step64 raises #UD
 */
export function fpu1(_c: CpuCore, _b: number): boolean {
  return false;
}

/** A `0F b` opcode, as {@link fpu1}. */
export function fpu2(_c: CpuCore, _b: number): boolean {
  return false;
}
