/**
 * A flat test machine switched into 64-bit mode (EFER.LMA, CS.L), no 4-level walker
 * (linear = machine below the top of memory), and 64-bit register helpers for the tests.
 * @module
 */

import { type FlatMachine, flatMachine } from "../../../lib/cpu/testing.ts";
import type { Cpu } from "../../../lib/cpu/mod.ts";
import { ATTR_L, EFER_LMA } from "../../../lib/cpu/long/long_state.ts";

/** A flat machine in 64-bit mode with `code` at 0x1000 and RSP at the top of memory. */
export function machine64(code: Uint8Array, frames = 256): FlatMachine {
  const m = flatMachine(code, 0x1000, frames);
  m.cpu.efer |= EFER_LMA;
  m.cpu.segAttr[1] |= ATTR_L;
  return m;
}

/** Sets GPR r (0..15) to the unsigned 64-bit value v. */
export function setReg(cpu: Cpu, r: number, v: bigint): void {
  const lo = Number(v & 0xffffffffn) | 0, hi = Number((v >> 32n) & 0xffffffffn) | 0;
  if (r < 8) cpu.regs[r] = lo;
  else cpu.lm.rlo[r - 8] = lo;
  cpu.lm.hi[r] = hi;
}

/** GPR r (0..15) as an unsigned 64-bit value. */
export function getReg(cpu: Cpu, r: number): bigint {
  const lo = r < 8 ? cpu.regs[r] : cpu.lm.rlo[r - 8];
  return (BigInt(cpu.lm.hi[r] >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** RIP as an unsigned 64-bit value. */
export function getRip(cpu: Cpu): bigint {
  return (BigInt(cpu.lm.ripHi >>> 0) << 32n) | BigInt(cpu.eip >>> 0);
}
