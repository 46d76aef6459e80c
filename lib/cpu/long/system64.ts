/**
 * System instructions in 64-bit mode (the hook step64.ts calls for opcodes it does not
 * decode itself): syscall/sysret, swapgs, iretq, far transfers, mov to/from segment,
 * control and debug registers, rdmsr/wrmsr, cpuid, rdtsc/rdtscp, int n/int3, invlpg,
 * descriptor-table loads and stores.
 * @module
 */

import type { CpuCore } from "../core.ts";

/**
 * A one-byte opcode `b` (prefixes consumed, D holds them, RIP after the opcode byte).
 * @returns true when handled; false leaves RIP untouched past the opcode (step64 raises #UD)
 */
export function system1(_c: CpuCore, _b: number): boolean {
  return false;
}

/** A `0F b` opcode, as {@link system1}. */
export function system2(_c: CpuCore, _b: number): boolean {
  return false;
}
