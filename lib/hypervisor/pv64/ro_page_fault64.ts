/**
 * Writes of a 64-bit PV guest to its own read-only page tables (Xen's ptwr emulation).
 * @module
 */
import type { Vcpu } from "../domain/vcpu.ts";

/**
 * Tries to emulate the write that faulted at (lo, hi).
 * @returns true when emulated; false to bounce the #PF
 */
export function ptwrPageFault64(_v: Vcpu, _lo: number, _hi: number, _code: number): boolean {
  return false;
}
