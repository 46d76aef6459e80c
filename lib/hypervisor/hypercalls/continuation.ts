/**
 * Hypercall continuations (hypercall_create_continuation): a long batch stops after a
 * bounded number of elements and rewrites the guest's registers so that the same
 * `int $0x82` runs again with the remaining work, at the next instruction boundary. The
 * run loop meanwhile gets its slice boundaries (timers, backends), as Xen preempts.
 * @module
 */
import { R_EAX, R_EBP, R_EBX, R_ECX, R_EDI, R_EDX, R_ESI } from "../machine/cpu_port.ts";
import type { Vcpu } from "../domain/vcpu.ts";

/** Elements a batched hypercall handles before it continues itself. */
export const PREEMPT_BATCH = 4096;

const ARG_REGS = [R_EBX, R_ECX, R_EDX, R_ESI, R_EDI, R_EBP];
/** A 64-bit guest's argument registers: rdi, rsi, rdx, r10, r8, r9. */
const ARG_REGS64 = [7, 6, 2, 10, 8, 9];

/**
 * Whether a batch should stop here to continue later: not inside a multicall (whose
 * entries run to completion), and only after {@link PREEMPT_BATCH} elements.
 */
export function shouldPreempt(v: Vcpu, done: number): boolean {
  return !v.inMulticall && done >= PREEMPT_BATCH;
}

/**
 * Makes the guest re-issue hypercall `nr` with `args` (eip back onto `int $0x82`).
 * The handler's return value is then ignored.
 */
export function createContinuation(v: Vcpu, nr: number, ...args: number[]): void {
  const c = v.cpu64;
  if (c !== null) {
    // syscall is 2 bytes too; arguments are signed canonical numbers (guest_access64.ts)
    c.setReg(0, nr, 0);
    for (let i = 0; i < args.length; i++) {
      const a = args[i], hi = Math.floor(a / 4294967296);
      c.setReg(ARG_REGS64[i], (a - hi * 4294967296) >>> 0, hi | 0);
    }
    const lo = v.cpu.eip >>> 0;
    if (lo < 2) c.ripHi = c.ripHi - 1;
    v.cpu.eip = (lo - 2) >>> 0;
    v.skipReturn = true;
    v.cpu.stop();
    return;
  }
  const r = v.cpu.gpr;
  r[R_EAX] = nr;
  for (let i = 0; i < args.length; i++) r[ARG_REGS[i]] = args[i] | 0;
  v.cpu.eip = (v.cpu.eip - 2) >>> 0;
  v.skipReturn = true;
  v.cpu.stop();
}
