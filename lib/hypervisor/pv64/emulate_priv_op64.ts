/**
 * Emulation of the privileged instructions a 64-bit PV guest may leave in place, after
 * they raised #GP(0) at CPL 3 (pv_emulate_privileged_op for a 64-bit guest).
 * @module
 */
import type { Vcpu } from "../domain/vcpu.ts";

/**
 * Tries to emulate the instruction at rip that raised #GP(0).
 * @returns true when emulated (rip advanced, or the vcpu blocked); false to bounce #GP
 */
export function emulatePrivilegedOp64(_v: Vcpu): boolean {
  return false;
}
