/**
 * The 64-bit run loop: `Cpu.run` enters it (through compat.ts's `runLongMode`) while
 * EFER.LMA and CS.L are set, so the 32-bit loops carry no per-instruction mode test. A
 * faulting instruction leaves RIP at its start (the instructions of step64.ts commit
 * registers only after their last memory access) and is reported to the platform as in
 * 32-bit mode. With EFLAGS.TF or an armed debug unit each instruction goes through
 * watch64.ts `checkedStep64` (the debug unit's checks: DR0-3 instruction and data
 * breakpoints at 64-bit addresses, the single-step trap, the mov ss shadow, the
 * debugger's points and steps), reported as the 32-bit loop does.
 * The loop returns when CS.L clears (a far transfer, iretq or sysret to compatibility
 * code, or the platform loading such a CS).
 * @module
 */

import { type CpuCore, FAULT, FAULT_LOOP_LIMIT } from "../core.ts";
import { EXC_FAULT, VEC_UD } from "../platform.ts";
import { F_TF, LF_NONE, materialize } from "../flags.ts";
import { step64 } from "./step64.ts";
import { ATTR_L } from "./long_state.ts";
import { checkedStep64 } from "./watch64.ts";
import { syncSegBases } from "./msr64.ts";
import { D, dropFetch, fetch8, modrm, prefixes, resetFetch } from "./decode64.ts";
import { callFar64, jmpFar64 } from "./far64.ts";
import { FAST64, FAST_GENERIC, FAST_LOOP, runFast64 } from "./fast64.ts";

const CS = 1;

/**
 * Far jmp/call through memory (FF /5, FF /3): step64's group 5 raises #UD for them, so
 * a #UD is retried here (only then, off the hot path).
 * @returns whether the instruction was one of them and retired
 */
function retryFar(c: CpuCore): boolean {
  resetFetch(c);
  if (prefixes(c) !== 0xff) return false;
  const lo = c.eip, hi = c.lm.ripHi, len = D.len;
  const sub = (fetch8(c) >> 3) & 7;
  c.eip = lo;
  c.lm.ripHi = hi;
  D.len = len;
  if (sub !== 3 && sub !== 5) return false;
  modrm(c, 0);
  if (sub === 3) callFar64(c);
  else jmpFar64(c);
  return true;
}

/**
 * Runs 64-bit code until `end` retired instructions, a stop, or CS.L clears.
 * @returns true when it returned because CS.L cleared (the caller switches loops)
 */
export function runLong(c: CpuCore, end: number): boolean {
  if (c.lfOp !== LF_NONE) {
    c.flags = materialize(c);
    c.lfOp = LF_NONE;
  }
  syncSegBases(c);
  dropFetch();
  let faults = 0, faultAt = -1, faultLo = 0, faultHi = 0;
  let loopHead = true; // where a run starts is an entry too
  let generic = false, inFast = false;
  while (c.retired < end && !c.stopRequested) {
    if ((c.segAttr[CS] & ATTR_L) === 0) return true;
    const jit = c.jit64;
    if (loopHead && jit !== null && (c.flags & F_TF) === 0 && c.dbgArmed === 0) {
      // Block compiler hook (core.ts `jit64`): a compiled region runs from this loop head.
      loopHead = false;
      let ran = 0;
      try {
        ran = jit.run(c, end);
      } catch (e) {
        if (e !== FAULT) throw e;
        // The region left RIP, RFLAGS and `retired` at the faulting instruction.
        c.platform.exception(c.excVector, c.excCode, EXC_FAULT);
        syncSegBases(c);
        dropFetch();
        continue;
      }
      if (ran !== 0) {
        dropFetch();
        continue;
      }
    }
    let lo = c.eip, hi = c.lm.ripHi, fl = c.flags;
    try {
      if ((c.flags & F_TF) !== 0 || c.dbgArmed !== 0) checkedStep64(c);
      else if (FAST64.enabled && !generic) {
        // The decoded-instruction loop (fast64.ts); it leaves a fault's RIP and RFLAGS
        // at the faulting instruction.
        inFast = true;
        const r = runFast64(c, end, jit !== null);
        inFast = false;
        if (r === FAST_LOOP) loopHead = true;
        else if (r === FAST_GENERIC) generic = true;
        continue;
      } else {
        generic = false;
        step64(c);
        c.retired++;
      }
      // A backward transfer (same high half) lands on a loop head.
      if ((c.eip >>> 0) < (lo >>> 0) && c.lm.ripHi === hi) loopHead = true;
    } catch (e) {
      if (e !== FAULT) throw e;
      if (inFast) {
        inFast = false;
        lo = c.eip;
        hi = c.lm.ripHi;
        fl = c.flags;
      }
      c.eip = lo;
      c.lm.ripHi = hi;
      // A faulting instruction leaves RFLAGS as it found them (read-modify-write forms
      // compute the flags before their write faults; adc/sbb/rcl/rcr re-read CF)
      c.flags = fl;
      if (c.excVector === VEC_UD) {
        try {
          if (retryFar(c)) {
            c.retired++;
            continue;
          }
        } catch (e2) {
          if (e2 !== FAULT) throw e2;
        }
        c.eip = lo;
        c.lm.ripHi = hi;
      }
      if (c.retired !== faultAt || lo !== faultLo || hi !== faultHi) {
        faultAt = c.retired;
        faultLo = lo;
        faultHi = hi;
        faults = 0;
      } else faults++;
      c.platform.exception(c.excVector, c.excCode, EXC_FAULT);
      syncSegBases(c);
      dropFetch();
      if (faults >= FAULT_LOOP_LIMIT) return false;
    }
  }
  return false;
}
