/**
 * The x86 CPU: the core (core.ts: state, memory path, fetch, faults) plus the slice loop
 * and the segment loads the hypervisor calls.
 * @module
 */

import { CpuCore, FAULT } from "./core.ts";
import { EXC_FAULT } from "./platform.ts";
import { enterHandler, loadSegment } from "./segmentation.ts";
import { runLoop } from "./fast_loop.ts";
import { CompatWalker, runLongMode } from "./long/compat.ts";
import { EFER_LMA } from "./long/long_state.ts";
import { enterHandler64 } from "./long/far64.ts";
import { deliver64 } from "./long/deliver64.ts";
import { step } from "./interpreter.ts";
import { DebugUnit } from "./debug_unit.ts";
import { NO_FOLD, unfoldSegments } from "./seg_fold.ts";
import { Jit, type JitOptions } from "./jit/jit.ts";
import { Jit64 } from "./jit64/jit64.ts";
import type { PhysMemory } from "./phys_memory.ts";
import type { PageWalker, Platform } from "./platform.ts";

export {
  ATTR_CODE32,
  ATTR_DATA32,
  CS,
  DS,
  ES,
  FAULT,
  FAULT_LOOP_LIMIT,
  FS,
  GS,
  SS,
} from "./core.ts";
import { FAULT_LOOP_LIMIT } from "./core.ts";

/**
 * One x86 CPU. Starts in flat 32-bit protected mode at CPL 0 (all segments base 0, limit
 * 4 GiB), paging through `walker` (null = linear address is the machine address).
 *
 * @example
 * ```ts
 * const mem = new PhysMemory(256);
 * const cpu = new Cpu(mem, platform, null);
 * mem.write(0x1000, new Uint8Array([0x40, 0xf4])); // inc eax; hlt
 * cpu.eip = 0x1000;
 * cpu.run(1);
 * ```
 */
export class Cpu extends CpuCore {
  /** Breakpoints, watchpoints and single step (guest DRs and the debugger). */
  override readonly debug: DebugUnit;
  /** The block compiler (lib/cpu/jit), or null to interpret only (`pvx boot --no-jit`). */
  override jit: Jit | null;
  /** The block compiler for 64-bit code (lib/cpu/jit64), null with `jit: false`. */
  override jit64: Jit64 | null;

  /**
   * Creates a CPU in flat 32-bit protected mode at CPL 0.
   * @param mem machine memory (at most 2 GiB)
   * @param platform receives exceptions, int n, cpuid and rdtsc
   * @param walker linear -> machine translation; null = identity (paging off)
   * @param jit the block compiler's options, or false to interpret only
   */
  constructor(
    mem: PhysMemory,
    platform: Platform,
    walker: PageWalker | null,
    jit: JitOptions | false = {},
  ) {
    super(mem, platform, walker);
    if (walker instanceof CompatWalker) walker.lm = this.lm;
    this.debug = new DebugUnit(this, step);
    this.jit = jit === false ? null : new Jit(undefined, jit);
    this.jit64 = jit === false ? null : new Jit64(undefined, jit);
  }

  /**
   * Loads a data or stack segment register (ES SS DS FS GS) with the architectural checks.
   * @returns 0, or the fault vector (VEC_GP/VEC_NP/VEC_SS; error code in {@link excCode})
   */
  loadSegment(sreg: number, selector: number): number {
    return loadSegment(this, sreg, selector);
  }

  /**
   * Switches to a handler: loads CS and SS through the descriptor tables, sets CPL to the
   * code selector's RPL, EIP and ESP. Nothing changes when a check fails.
   * @returns 0, or the fault vector (error code in {@link excCode})
   */
  enterHandler(cs: number, eip: number, ss: number, esp: number): number {
    return enterHandler(this, cs, eip, ss, esp);
  }

  /**
   * Enters 64-bit or compatibility code: loads CS and SS with their checks (SS may be null
   * for 64-bit code below ring 3), CPL from the code selector, RIP (canonical for 64-bit
   * code, inside the limit for compatibility code) and RSP. Nothing changes on failure.
   * @returns 0, or the fault vector (error code in {@link excCode})
   */
  enterHandler64(
    cs: number,
    ripLo: number,
    ripHi: number,
    ss: number,
    rspLo: number,
    rspHi: number,
  ): number {
    return enterHandler64(this, cs, ripLo, ripHi, ss, rspLo, rspHi);
  }

  /**
   * Delivers an exception or interrupt through the long-mode IDT as the hardware does
   * (16-byte gates, IST, TSS.RSP0-2, the 16-byte-aligned frame): for a platform that
   * runs a native long-mode kernel (tests; a PV platform bounces instead).
   * @param kind EXC_* as passed to Platform.exception (RIP is then where that leaves it)
   * @returns 0, or the vector of the fault met while delivering (error code in {@link excCode})
   */
  deliver64(vector: number, errorCode: number, kind: number): number {
    return deliver64(this, vector, errorCode, kind);
  }

  /**
   * Runs up to `maxInstructions` instructions, or until {@link stop}.
   * @returns instructions retired by this call
   */
  run(maxInstructions: number): number {
    this.stopRequested = false;
    const start = this.retired;
    const end = start + maxInstructions;
    // IA-32e mode (64-bit and compatibility code) runs in its own loops: one test per
    // run() call, none per instruction in the 32-bit loops.
    if ((this.efer & EFER_LMA) !== 0) {
      runLongMode(this, end, this.unfold);
      return this.retired - start;
    }
    let faults = 0, faultAt = this.retired, faultEip = -1;
    while (this.retired < end && !this.stopRequested) {
      try {
        runLoop(this, end);
      } catch (e) {
        if (e !== FAULT) throw e;
        // The fast loop leaves EIP at the faulting instruction; the full interpreter may
        // have moved EIP/ESP already, so it is rolled back to the instruction's start.
        if (this.inStep) {
          this.eip = this.eipStart;
          this.regs[4] = this.espStart;
        }
        this.inStep = false;
        if (this.foldFault && this.unfoldedStep()) continue;
        // A platform that leaves a faulting instruction in place would make this loop
        // spin without retiring anything: give the host back after a bounded number.
        if (this.retired !== faultAt || this.eip !== faultEip) {
          faultAt = this.retired;
          faultEip = this.eip;
          faults = 0;
        } else faults++;
        this.platform.exception(this.excVector, this.excCode, EXC_FAULT);
        if (faults >= FAULT_LOOP_LIMIT) break;
      }
    }
    return this.retired - start;
  }

  /** {@link unfoldedStep} as a bound function (for compatibility mode's loop). */
  private readonly unfold = (): boolean => this.unfoldedStep();

  /**
   * Re-runs the instruction whose data access hit the folded segment limit with every
   * limit check on (seg_fold.ts), so that it raises what the segment it used raises:
   * #GP(0), or #SS(0) through SS. x86 instructions are restartable after a fault, so
   * running it again from its start is what a fault handler's return would do.
   * @returns true when it retired (then nothing is reported)
   */
  private unfoldedStep(): boolean {
    this.foldFault = false;
    unfoldSegments(this.segAttr, this.segBase, this.segLimit, this.segChk);
    this.foldPage = NO_FOLD;
    this.eipStart = this.eip;
    this.espStart = this.regs[4];
    this.inStep = true;
    try {
      step(this);
      this.inStep = false;
      this.retired++;
      return true;
    } catch (e) {
      if (e !== FAULT) throw e;
      if (this.inStep) {
        this.eip = this.eipStart;
        this.regs[4] = this.espStart;
      }
      this.inStep = false;
      return false;
    } finally {
      this.refold();
    }
  }
}
