/**
 * A flat long-mode test machine with a GDT laid out as Linux's (kernel CS 0x10, SS 0x18;
 * user compat CS 0x23, SS 0x2b, 64-bit CS 0x33), STAR to match, and helpers to load
 * code and to switch to ring 3 (64-bit or compatibility code).
 * @module
 */

import {
  ArrayDescriptorTables,
  descriptor,
  type FlatMachine,
  flatMachine,
} from "../../../lib/cpu/mod.ts";
import { ATTR_L, EFER_LMA, EFER_SCE } from "../../../lib/cpu/long/long_state.ts";
import { setReg } from "./machine64.ts";

/** Attribute words: 64-bit code DPL 0/3, 32-bit code DPL 0/3, data DPL 0/3. */
export const K_CS64 = 0xa09b, U_CS64 = 0xa0fb, U_CS32 = 0xc0fb, K_CS32 = 0xc09b;
/** Data attributes, DPL 0 and 3. */
export const K_DS = 0xc093, U_DS = 0xc0f3;

/** Selectors of {@link sysMachine}'s GDT. */
export const SEL = {
  kcs: 0x10,
  kss: 0x18,
  ucs32: 0x23,
  uss: 0x2b,
  ucs64: 0x33,
  kcs32: 0x38,
  /** DPL 3 data, base 0x5000. */
  based: 0x43,
  /** 16-byte 64-bit TSS (index 9). */
  tss: 0x48,
  /** A DPL 0 data segment (not loadable at CPL 3). */
  kds0: 0x58,
} as const;

/** The TSS address in {@link sysMachine}. */
export const TSS_AT = 0x7000;

/**
 * A long-mode machine at CPL 0 (CS 0x10, SS 0x18), EFER.SCE, STAR for 0x10/0x20, `code`
 * at `at` (RIP there), RSP at the top of `frames` frames of memory.
 */
export function sysMachine(
  code: Uint8Array,
  at = 0x1000,
  frames = 256,
): FlatMachine & { dt: ArrayDescriptorTables } {
  const m = flatMachine(code, at, frames);
  const dt = new ArrayDescriptorTables();
  const d = (base: number, limit: number, attrs: number) =>
    dt.gdt.push(descriptor(base, limit, attrs));
  d(0, 0, 0); // 0x08
  d(0, -1, K_CS64); // 0x10
  d(0, -1, K_DS); // 0x18
  d(0, -1, U_CS32); // 0x20
  d(0, -1, U_DS); // 0x28
  d(0, -1, U_CS64); // 0x30
  d(0, -1, K_CS32); // 0x38
  d(0x5000, 0xffff, U_DS); // 0x40
  d(TSS_AT, 0x67, 0x89); // 0x48: 64-bit TSS (available)
  dt.gdt.push([0, 0]); // 0x50: its upper half (base 63..32 = 0)
  d(0, -1, K_DS); // 0x58
  m.cpu.descriptorTables = dt;
  m.cpu.setSegmentRaw(1, SEL.kcs, 0, -1, K_CS64);
  m.cpu.setSegmentRaw(2, SEL.kss, 0, -1, K_DS);
  m.cpu.efer |= EFER_LMA | EFER_SCE;
  // STAR: syscall CS 0x10 / SS 0x18; sysret base 0x20 (CS32 0x23, SS 0x2b, CS64 0x33).
  m.cpu.lm.msr[1] = 0x00200010;
  return { ...m, dt };
}

/** Switches to ring 3: 64-bit code (CS 0x33) or compatibility code (CS 0x23), SS 0x2b. */
export function toUser(m: FlatMachine, compat = false): void {
  const c = m.cpu;
  if (compat) c.setSegmentRaw(1, SEL.ucs32, 0, -1, U_CS32);
  else c.setSegmentRaw(1, SEL.ucs64, 0, -1, U_CS64);
  c.setSegmentRaw(2, SEL.uss, 0, -1, U_DS);
}

/** Writes 64-bit values at a machine address. */
export function putQ(m: FlatMachine, at: number, ...vs: bigint[]): void {
  vs.forEach((v, i) => m.mem.dv.setBigUint64(at + i * 8, BigInt.asUintN(64, v), true));
}

/** Reads a 64-bit value at a machine address. */
export function getQ(m: FlatMachine, at: number): bigint {
  return m.mem.dv.getBigUint64(at, true);
}

export { ATTR_L, setReg };
