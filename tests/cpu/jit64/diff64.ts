/**
 * Differential helpers for the 64-bit block compiler's tests: the architectural state of
 * a CPU in 64-bit mode as one comparable record (GPRs, RIP, RFLAGS, retired count, CR2,
 * machine memory digest), and a way to run one machine with the compiler (hot threshold
 * 1) and its twin without.
 * @module
 */

import type { Cpu } from "../../../lib/cpu/mod.ts";
import { Jit64 } from "../../../lib/cpu/jit64/jit64.ts";

/** The state compared between the compiled and the interpreted run. */
export interface State64 {
  regs: string[];
  rip: string;
  rflags: string;
  retired: number;
  cr2: string;
  mem: string;
}

function h64(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}

/** FNV-1a over memory, per 4 KiB frame that differs from zero (frame numbers included). */
function digest(u8: Uint8Array): string {
  const words = new Int32Array(u8.buffer, u8.byteOffset, u8.length >> 2);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 0) continue;
    h = Math.imul(h ^ i, 0x01000193);
    h = Math.imul(h ^ w, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

/** The state of `cpu` now. */
export function state64(cpu: Cpu): State64 {
  const regs: string[] = [];
  for (let r = 0; r < 16; r++) {
    regs.push(h64(cpu.lm.hi[r], r < 8 ? cpu.regs[r] : cpu.lm.rlo[r - 8]));
  }
  return {
    regs,
    rip: h64(cpu.lm.ripHi, cpu.eip),
    rflags: (cpu.getEflags() >>> 0).toString(16),
    retired: cpu.retired,
    cr2: h64(cpu.lm.cr2Hi, cpu.cr2),
    mem: digest(cpu.mem.u8),
  };
}

/** Switches the 64-bit compiler on (compiling at the first loop head) or off. */
export function setJit64(
  cpu: Cpu,
  on: boolean,
  hot = 1,
  dump?: (name: string, source: string) => void,
): Jit64 | null {
  const j = on ? new Jit64(hot, { dump }) : null;
  cpu.jit64 = j;
  cpu.jit = null;
  return j;
}
