/**
 * Flag instructions in 64-bit mode: lahf/sahf (valid here: CPUID advertises LAHF_LM),
 * clc stc cmc cld std. The arithmetic flags are eager in the 64-bit loop; these still
 * materialise lazy ones defensively.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_CF, F_DF, LF_NONE, materialize } from "../flags.ts";

function flagsNow(c: CpuCore): number {
  if (c.lfOp !== LF_NONE) {
    const fl = materialize(c);
    c.lfOp = LF_NONE;
    return fl;
  }
  return c.flags;
}

/**
 * Executes a flag opcode: 9E sahf, 9F lahf, F5 cmc, F8 clc, F9 stc, FC cld, FD std.
 * @returns false for any other opcode
 */
export function flagOp(c: CpuCore, b: number): boolean {
  const fl = flagsNow(c);
  switch (b) {
    case 0x9e: // sahf: SF ZF AF PF CF from AH
      c.flags = (fl & ~0xd5) | ((c.regs[0] >> 8) & 0xd5);
      return true;
    case 0x9f: // lahf: AH = SF ZF 0 AF 0 PF 1 CF
      c.regs[0] = (c.regs[0] & ~0xff00) | (((fl & 0xd5) | 2) << 8);
      return true;
    case 0xf5:
      c.flags = fl ^ F_CF;
      return true;
    case 0xf8:
      c.flags = fl & ~F_CF;
      return true;
    case 0xf9:
      c.flags = fl | F_CF;
      return true;
    case 0xfc:
      c.flags = fl & ~F_DF;
      return true;
    case 0xfd:
      c.flags = fl | F_DF;
      return true;
  }
  return false;
}
