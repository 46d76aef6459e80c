/**
 * The 64-bit run loop: `Cpu.run` enters it once per call when EFER.LMA and CS.L are set,
 * so the 32-bit loops carry no per-instruction mode test. A faulting instruction leaves
 * RIP at its start (the instructions of step64.ts commit registers only after their last
 * memory access) and is reported to the platform as in 32-bit mode.
 * @module
 */

import { type CpuCore, FAULT, FAULT_LOOP_LIMIT } from "../core.ts";
import { EXC_FAULT } from "../platform.ts";
import { materialize } from "../flags.ts";
import { LF_NONE } from "../flags.ts";
import { step64 } from "./step64.ts";

/**
 * Runs 64-bit code until `end` retired instructions, a stop, or mode leaves 64-bit.
 * @returns nothing; `c.retired` counts
 */
export function runLong(c: CpuCore, end: number): void {
  if (c.lfOp !== LF_NONE) {
    c.flags = materialize(c);
    c.lfOp = LF_NONE;
  }
  let faults = 0, faultAt = -1, faultLo = 0, faultHi = 0;
  while (c.retired < end && !c.stopRequested) {
    const lo = c.eip, hi = c.lm.ripHi;
    try {
      step64(c);
      c.retired++;
    } catch (e) {
      if (e !== FAULT) throw e;
      c.eip = lo;
      c.lm.ripHi = hi;
      if (c.retired !== faultAt || lo !== faultLo || hi !== faultHi) {
        faultAt = c.retired;
        faultLo = lo;
        faultHi = hi;
        faults = 0;
      } else faults++;
      c.platform.exception(c.excVector, c.excCode, EXC_FAULT);
      if (faults >= FAULT_LOOP_LIMIT) return;
    }
  }
}
