/**
 * IA-32e mode as a whole: {@link runLongMode} alternates between the 64-bit loop
 * (run64.ts) and compatibility mode (EFER.LMA with CS.L = 0), which runs the 32-bit
 * interpreter one instruction at a time (the fast loop and the block compiler are
 * bypassed: they would not notice a far transfer into 64-bit code) and returns to the
 * 64-bit loop as soon as CS.L is set. Compatibility code translates its 32-bit linear
 * addresses through the 4-level walker: a CPU for a long-mode guest is created with a
 * {@link CompatWalker} (bound to the CPU's `lm.walker` by the Cpu constructor). Also:
 * `syscall` (AMD) and `rdtscp` in compatibility mode (the 32-bit decoder has them as #UD,
 * so a #UD there is looked at again), CR2's high half cleared on a compatibility-mode #PF, and
 * FS_BASE/GS_BASE reconciled with the 32-bit segment bases at each switch.
 * @module
 */

import { type CpuCore, FAULT, FAULT_LOOP_LIMIT } from "../core.ts";
import { EXC_FAULT, type PageWalker, VEC_PF, VEC_UD } from "../platform.ts";
import { F_TF } from "../flags.ts";
import { step } from "../interpreter.ts";
import { checkedStep } from "../debug_unit.ts";
import { ATTR_L, EFER_LMA, type LongState } from "./long_state.ts";
import { runLong } from "./run64.ts";
import { syncSegBases } from "./msr64.ts";
import { rdtscp, syscall } from "./syscall64.ts";

const CS = 1;

/**
 * The 32-bit {@link PageWalker} of compatibility mode over the 4-level walker of
 * {@link LongState.walker} (high half 0). With no 4-level walker the linear address is
 * the machine address, as for a CPU without a walker.
 */
export class CompatWalker implements PageWalker {
  pfErrorCode = 0;
  /** The long-mode state whose walker is used (set by the Cpu constructor). */
  lm: LongState | null = null;

  translate(linear: number, access: number): number {
    const w = this.lm === null ? null : this.lm.walker;
    if (w === null) return linear >>> 0;
    const m = w.translate64(linear | 0, 0, access);
    if (m < 0) this.pfErrorCode = w.pfErrorCode;
    return m;
  }
}

/**
 * `syscall` (0F 05) and `rdtscp` (0F 01 F9) at CS:EIP in compatibility mode, after legacy
 * prefixes: the 32-bit decoder rejects both with #UD (they do not exist in legacy mode
 * there), so a #UD is looked at again here, off the hot path. EIP is at the instruction.
 * @returns whether it was one of them (then performed, or its own fault raised)
 */
function compatRetry(c: CpuCore): boolean {
  const user = c.cpl === 3;
  const base = c.segBase[CS];
  for (let i = 0; i < 13; i++) {
    const b = c.tryFetch8((base + c.eip + i) | 0, user);
    if (c.faulted) return false;
    if (b === 0x66 || b === 0x67 || b === 0xf2 || b === 0xf3 || b === 0xf0) continue;
    if ((b & 0xe7) === 0x26 || b === 0x64 || b === 0x65) continue;
    if (b !== 0x0f) return false;
    const b2 = c.tryFetch8((base + c.eip + i + 1) | 0, user);
    if (c.faulted) return false;
    const b3 = b2 === 0x01 ? c.tryFetch8((base + c.eip + i + 2) | 0, user) : 0;
    if (c.faulted) return false;
    const len = b2 === 0x05 ? 2 : b2 === 0x01 && b3 === 0xf9 ? 3 : 0;
    if (len === 0) return false;
    const eip = c.eip;
    c.eip = (eip + i + len) >>> 0;
    try {
      if (len === 2) syscall(c, true);
      else rdtscp(c);
    } catch (e) {
      c.eip = eip;
      throw e;
    }
    return true;
  }
  return false;
}

/**
 * Runs compatibility-mode code with the 32-bit interpreter until `end`, a stop, or CS.L.
 * @param unfold re-runs an instruction that hit the folded segment limit (Cpu's)
 * @returns true when CS.L was set (or EFER.LMA cleared): the caller switches loops
 */
export function runCompat(c: CpuCore, end: number, unfold: () => boolean): boolean {
  syncSegBases(c);
  c.lm.ripHi = 0;
  let faults = 0, faultAt = -1, faultEip = -1;
  while (c.retired < end && !c.stopRequested) {
    if ((c.segAttr[CS] & ATTR_L) !== 0 || (c.efer & EFER_LMA) === 0) {
      syncSegBases(c);
      return true;
    }
    try {
      if ((c.flags & F_TF) !== 0 || c.dbgArmed !== 0) checkedStep(c);
      else {
        c.eipStart = c.eip;
        c.espStart = c.regs[4];
        c.inStep = true;
        step(c);
        c.inStep = false;
        c.retired++;
      }
    } catch (e) {
      if (e !== FAULT) throw e;
      if (c.inStep) {
        c.eip = c.eipStart;
        c.regs[4] = c.espStart;
      }
      c.inStep = false;
      if (c.foldFault && unfold()) continue;
      if (c.excVector === VEC_UD) {
        try {
          if (compatRetry(c)) {
            c.retired++;
            continue;
          }
        } catch (e2) {
          if (e2 !== FAULT) throw e2;
        }
      }
      if (c.excVector === VEC_PF) c.lm.cr2Hi = 0;
      if (c.retired !== faultAt || c.eip !== faultEip) {
        faultAt = c.retired;
        faultEip = c.eip;
        faults = 0;
      } else faults++;
      c.platform.exception(c.excVector, c.excCode, EXC_FAULT);
      syncSegBases(c);
      if (faults >= FAULT_LOOP_LIMIT) return false;
    }
  }
  return false;
}

/**
 * Runs IA-32e code (EFER.LMA) until `end`, a stop, or the fault-loop limit, switching
 * between the 64-bit loop and compatibility mode as CS.L changes.
 */
export function runLongMode(c: CpuCore, end: number, unfold: () => boolean): void {
  while (c.retired < end && !c.stopRequested && (c.efer & EFER_LMA) !== 0) {
    const switched = (c.segAttr[CS] & ATTR_L) !== 0 ? runLong(c, end) : runCompat(c, end, unfold);
    if (!switched) return;
  }
}
