/**
 * Data breakpoints and the checked step in 64-bit mode: the 64-bit memory path (mem64.ts
 * read64/write64) hands every data access to the debug unit while a data check is armed
 * (`c.dbgArmed & ARM_DATA`), with its 64-bit linear address as a key (bits 47..0, see
 * debug_unit.ts `linearKey`), so guest DR0-3 data breakpoints (DR0-3 low halves in
 * `c.dr`, high halves in `c.lm.drHi`; lengths 1, 2, 4, 8; R/W 01 write, 11 read/write) and
 * the debugger's watchpoints match 64-bit addresses. {@link checkedStep64} runs one
 * instruction through the unit's `step64`: instruction breakpoints (faults), the data
 * hits and EFLAGS.TF as one #DB trap after the instruction with DR6's B0-B3/BS bits, the
 * `mov ss` shadow (the #DB is held until after the next instruction, and dropped when that
 * one is a syscall the platform takes or an int n, as Xen ignores a #DB raised in its own
 * context), the debugger's breakpoints and steps.
 * @module
 */

import { type CpuCore, FAULT } from "../core.ts";
import type { DebugUnit, Step64Hooks } from "../debug_unit.ts";
import { fetchAddr64 } from "./mem64.ts";
import { step64 } from "./step64.ts";
import { SYS } from "./sys_flags.ts";

/**
 * A data access of `size` bytes at hi:lo (kind 0 read, 1 write: tlb.ts K_READ/K_WRITE);
 * mem64.ts calls it only while `c.dbgArmed` has a data bit.
 */
export function watch64(c: CpuCore, lo: number, hi: number, size: number, kind: number): void {
  c.debug.dataAccess((hi & 0xffff) * 4294967296 + (lo >>> 0), size, kind);
}

/**
 * Whether the instruction at hi:lo is `mov ss, r/m` (8E /2 after legacy and REX
 * prefixes). Its bytes were just fetched; a fetch that fails now (the instruction changed
 * the mappings) answers false and leaves CR2 as it was.
 */
function movSs(c: CpuCore, lo: number, hi: number): boolean {
  const cr2 = c.cr2, cr2Hi = c.lm.cr2Hi, pfec = c.pfErrorCode;
  try {
    for (let i = 0; i < 15; i++) {
      const s = (lo >>> 0) + i;
      const b = c.u8[fetchAddr64(c, s | 0, s > 0xffffffff ? (hi + 1) | 0 : hi)];
      if (
        b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65 ||
        b === 0x66 || b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3 || (b & 0xf0) === 0x40
      ) continue;
      if (b !== 0x8e) return false;
      const t = (lo >>> 0) + i + 1;
      const m = c.u8[fetchAddr64(c, t | 0, t > 0xffffffff ? (hi + 1) | 0 : hi)];
      return ((m >> 3) & 7) === 2;
    }
  } catch (e) {
    if (e !== FAULT) throw e;
    c.cr2 = cr2;
    c.lm.cr2Hi = cr2Hi;
    c.pfErrorCode = pfec;
  }
  return false;
}

const HOOKS: Step64Hooks = {
  exec(c: CpuCore): void {
    SYS.softInt = false;
    step64(c);
  },
  softInt: () => SYS.softInt,
  movSs,
};

/** One 64-bit instruction with every armed debug check around it (run64.ts calls it). */
export function checkedStep64(c: CpuCore): void {
  (c.debug as DebugUnit).step64(HOOKS);
}
