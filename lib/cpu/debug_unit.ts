/**
 * The debug unit: every breakpoint, watchpoint and single step of the CPU, whoever asks.
 *
 * - The guest's debug registers (`cpu.dr`: DR0-3 addresses, DR6 status, DR7 control):
 *   instruction breakpoints (faults), data write and data read/write breakpoints of 1, 2,
 *   4 or 8 bytes (traps), EFLAGS.TF single step (a trap, DR6.BS), EFLAGS.RF, and the
 *   `mov ss` / `pop ss` shadow that holds a #DB until after the next instruction. A hit is
 *   reported to the Platform as `exception(VEC_DB, -1, EXC_TRAP | EXC_FAULT)` with DR6
 *   updated first. I/O breakpoints (DR7 R/W = 2 under CR4.DE) are matched by
 *   {@link ioBreakpointHits} for whoever performs the I/O (the hypervisor emulates it).
 * - A debugger (the gdb stub), invisible to the guest: breakpoints, watchpoints ("w", "r",
 *   "a") and stepOnce. A hit stops the CPU at an instruction boundary (`cpu.stop()`) and
 *   {@link DebugUnit.debugStop} says why. No guest memory byte and no DR changes.
 *
 * Cost: with nothing armed the instruction loop checks one integer (`cpu.dbgArmed`) per
 * block. When armed, every instruction goes through {@link checkedStep} (the interpreter
 * with the checks around it) and the TLB keeps no read/write entry for a watched page, so
 * every data access there reaches {@link DebugUnit.dataAccess} through the CPU's slow path.
 * In 64-bit mode the same checks run around the 64-bit interpreter ({@link DebugUnit.step64},
 * called by lib/cpu/long/watch64.ts, which also feeds the 64-bit memory path's accesses to
 * `dataAccess`).
 *
 * Addresses are linear "keys": a 32-bit linear address as is, a 64-bit one as its bits
 * 47..0 (`(hi & 0xffff) * 2^32 + lo`, exact in a double; a canonical address is the sign
 * extension of bit 47, see {@link linearKey}), so one comparison serves both modes.
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { ARM_DATA_BITS, type DebugHooks, DR6_DEFAULT, DR7_DEFAULT } from "./debug_hooks.ts";
import { F_RF, F_TF } from "./flags.ts";
import { EXC_FAULT, EXC_TRAP, VEC_DB } from "./platform.ts";
import { K_WRITE } from "./tlb.ts";
import { longModeActive } from "./long/long_state.ts";

/** DR6 B0..B3: breakpoint n matched. */
export const DR6_B0 = 1, DR6_B1 = 2, DR6_B2 = 4, DR6_B3 = 8;
/** DR6.BD: a debug-register access under DR7.GD. */
export const DR6_BD = 0x2000;
/** DR6.BS: single step. */
export const DR6_BS = 0x4000;
/** DR6.BT: task switch. */
export const DR6_BT = 0x8000;
export { DR6_DEFAULT, DR7_DEFAULT };
/** DR7.GD: general detect. */
export const DR7_GD = 0x2000;

/** `cpu.dbgArmed` bits. */
export const ARM_GUEST_EXEC = 1, ARM_GUEST_DATA = 2, ARM_BREAK = 4, ARM_WATCH = 8;
/** A debugger single step, or a #DB held by a `mov ss` shadow. */
export const ARM_STEP = 16, ARM_HELD = 32;
/** Any data check (the CPU's slow path calls {@link DebugUnit.dataAccess}). */
export const ARM_DATA = ARM_GUEST_DATA | ARM_WATCH;
if (ARM_DATA !== ARM_DATA_BITS) throw new Error("debug_hooks.ts ARM_DATA_BITS is stale");

/** A debugger watchpoint's kind: write, read, or either (access). */
export type WatchKind = "w" | "r" | "a";

/** Why the debugger stopped the CPU. */
export interface DebugStop {
  /** A debugger breakpoint, a watchpoint, or the end of a stepOnce. */
  kind: "break" | "watch" | "step";
  /** Linear address (key) of the instruction the CPU stopped at (the next one to run). */
  linear: number;
  /** For a watchpoint: the watched linear address (key) that was accessed. */
  dataAddress?: number;
}

interface Watch {
  linear: number;
  len: number;
  kind: WatchKind;
}

/**
 * The key of linear address hi:lo (bits 47..0 as a number below 2^48): a 32-bit linear
 * address (hi 0) is itself. Two canonical addresses have the same key only if equal.
 */
export function linearKey(lo: number, hi: number): number {
  return (hi & 0xffff) * 4294967296 + (lo >>> 0);
}

/** A debugger address (unsigned 32-bit, or a key) as a key; negative int32 are unsigned. */
function asKey(linear: number): number {
  return linear < 0 ? linear >>> 0 : linear % 281474976710656;
}

/** The hooks of the 64-bit interpreter for {@link DebugUnit.step64} (lib/cpu/long/watch64.ts). */
export interface Step64Hooks {
  /** Executes one 64-bit instruction at RIP (throws FAULT with RIP at it). */
  exec(c: Cpu): void;
  /** Whether the instruction just run entered a handler as int n does, or was a platform syscall. */
  softInt(): boolean;
  /** Whether the instruction that started at hi:lo was `mov ss` (it holds a #DB). */
  movSs(c: Cpu, lo: number, hi: number): boolean;
}

/** Bytes covered by a DR7 LEN field (0: 1, 1: 2, 2: 8, 3: 4). */
const DR_LEN = [1, 2, 8, 4];

/**
 * DR6 bits of the I/O breakpoints an access to ports [port, port+len) matches (the
 * address is taken as is, as Xen's check_guest_io_breakpoint does).
 * @param dr DR0-3 (the addresses are port numbers)
 * @param dr7 the control bits to use (enables, R/W = 2 for I/O, LEN)
 */
export function ioBreakpointHits(dr: ArrayLike<number>, dr7: number, port: number, len: number) {
  let hits = 0;
  for (let i = 0; i < 4; i++) {
    if (((dr7 >>> (i * 2)) & 3) === 0 || ((dr7 >>> (16 + i * 4)) & 3) !== 2) continue;
    const bl = DR_LEN[(dr7 >>> (18 + i * 4)) & 3];
    const a = dr[i] >>> 0;
    if (port < a + bl && a < port + len) hits |= 1 << i;
  }
  return hits;
}

/**
 * Merges new status bits into DR6 for a #DB: they accumulate until software clears them
 * (the SDM lets B0-B3 be cleared by a later #DB; Xen's do_debug keeps them in the PV
 * guest's DR6, so pvx does); reserved bits keep their fixed values.
 */
export function mergeDr6(dr6: number, bits: number): number {
  return ((dr6 | bits | DR6_DEFAULT) & ~0x1000) >>> 0;
}

/** The debug unit of one CPU (see the module doc). */
export class DebugUnit implements DebugHooks {
  /** Why the debugger stopped the CPU (null: it did not, or nothing since the last clear). */
  debugStop: DebugStop | null = null;
  private readonly c: Cpu;
  /** Executes one instruction (the interpreter's step, injected by cpu.ts). */
  private readonly exec: (c: Cpu) => void;
  private readonly breaks = new Set<number>();
  private readonly watches: Watch[] = [];
  /** DR6 B-bits of guest data breakpoints hit by the instruction running. */
  private pending = 0;
  /** A debugger watchpoint hit by the instruction running (-1: none). */
  private watchHit = -1;
  /** #DB bits held by a `mov ss` / `pop ss` shadow until after the next instruction. */
  private held = 0;
  /** Linear address of a debugger breakpoint the CPU stopped at: run it once on resume. */
  private resumeAt = -1;
  /** stepOnce armed: 1 before the instruction, 2 once it ran (stop at the next boundary). */
  private stepState = 0;
  /** Guest data breakpoints: addresses (keys), lengths, whether writes only. */
  private readonly gAddr = new Float64Array(4);
  private readonly gLen = new Int32Array(4);
  private readonly gWriteOnly = new Uint8Array(4);
  private gMask = 0;
  /** CS base when the running instruction started (it may change CS). */
  private csBase = 0;
  /** Linear pages that must not be cached for data (watched). */
  private readonly pages = new Set<number>();

  /**
   * @param c the CPU this unit belongs to
   * @param exec executes one instruction at cs:eip (the interpreter's step)
   */
  constructor(c: Cpu, exec: (c: Cpu) => void) {
    this.c = c;
    this.exec = exec;
  }

  // ---- debugger API ------------------------------------------------------------------

  /** Stops before executing the instruction at `linear` (CS base + EIP, or a 64-bit key). */
  addBreakpoint(linear: number): void {
    this.breaks.add(asKey(linear));
    this.refresh();
  }

  /** @returns whether a breakpoint was there */
  removeBreakpoint(linear: number): boolean {
    const had = this.breaks.delete(asKey(linear));
    this.refresh();
    return had;
  }

  /** Stops after an instruction that reads ("r"), writes ("w") or does either ("a") a byte of [linear, linear+len). */
  addWatchpoint(linear: number, len: number, kind: WatchKind): void {
    if (len < 1 || len > 1 << 20) throw new RangeError(`watchpoint length ${len}`);
    this.watches.push({ linear: asKey(linear), len, kind });
    this.refresh();
  }

  /** @returns whether such a watchpoint existed */
  removeWatchpoint(linear: number, len: number, kind: WatchKind): boolean {
    const i = this.watches.findIndex((w) =>
      w.linear === asKey(linear) && w.len === len && w.kind === kind
    );
    if (i >= 0) this.watches.splice(i, 1);
    this.refresh();
    return i >= 0;
  }

  /**
   * Arms one step: the next run executes exactly one instruction and stops (or stops at
   * the first instruction of the guest handler when that instruction traps into it).
   */
  stepOnce(): void {
    this.stepState = 1;
    this.refresh();
  }

  /** Removes every debugger breakpoint, watchpoint and pending step. */
  clearDebugger(): void {
    this.breaks.clear();
    this.watches.length = 0;
    this.stepState = 0;
    this.resumeAt = -1;
    this.refresh();
  }

  // ---- state -------------------------------------------------------------------------

  /**
   * Recomputes what is armed from DR7 and the debugger's requests. Call after changing
   * `cpu.dr` (the hypervisor's set_debugreg, `mov drN`) or CR4.
   */
  refresh(): void {
    const c = this.c;
    const dr7 = c.dr[7];
    let armed = 0, gm = 0;
    for (let i = 0; i < 4; i++) {
      if (((dr7 >>> (i * 2)) & 3) === 0) continue;
      const rw = (dr7 >>> (16 + i * 4)) & 3;
      if (rw === 0) armed |= ARM_GUEST_EXEC;
      else if (rw !== 2) {
        const len = DR_LEN[(dr7 >>> (18 + i * 4)) & 3];
        this.gAddr[i] = linearKey(c.dr[i] & ~(len - 1), c.lm.drHi[i]);
        this.gLen[i] = len;
        this.gWriteOnly[i] = rw === 1 ? 1 : 0;
        gm |= 1 << i;
      }
    }
    this.gMask = gm;
    if (gm !== 0) armed |= ARM_GUEST_DATA;
    if (this.breaks.size !== 0) armed |= ARM_BREAK;
    if (this.watches.length !== 0) armed |= ARM_WATCH;
    if (this.stepState !== 0) armed |= ARM_STEP;
    if (this.held !== 0) armed |= ARM_HELD;
    // Pages of data breakpoints and watchpoints keep no TLB entry.
    const pages = new Set<number>();
    for (let i = 0; i < 4; i++) {
      if ((gm >>> i) & 1) addPages(pages, this.gAddr[i], this.gLen[i]);
    }
    for (const w of this.watches) addPages(pages, w.linear, w.len);
    let same = pages.size === this.pages.size;
    if (same) { for (const p of pages) if (!this.pages.has(p)) same = false; }
    if (!same) {
      this.pages.clear();
      for (const p of pages) this.pages.add(p);
      c.flushTlb();
    }
    c.dbgArmed = armed;
  }

  /** Whether a linear page is watched (the CPU then caches no data translation for it). */
  pageWatched(page: number): boolean {
    return this.pages.has(page);
  }

  /**
   * A data access of the running instruction reached the CPU's slow path (the CPU calls
   * this only while ARM_DATA is set).
   * @param linear the linear address (32-bit, or a 64-bit key: {@link linearKey})
   * @param kind K_READ or K_WRITE
   */
  dataAccess(linear: number, len: number, kind: number): void {
    const lin = linear < 0 ? linear >>> 0 : linear;
    const write = kind === K_WRITE;
    const gm = this.gMask;
    for (let i = 0; i < 4; i++) {
      if (((gm >>> i) & 1) === 0 || (this.gWriteOnly[i] !== 0 && !write)) continue;
      const a = this.gAddr[i];
      if (lin < a + this.gLen[i] && a < lin + len) this.pending |= 1 << i;
    }
    for (const w of this.watches) {
      if (w.kind === "w" ? !write : w.kind === "r" ? write : false) continue;
      if (lin < w.linear + w.len && w.linear < lin + len) {
        if (this.watchHit < 0) this.watchHit = lin > w.linear ? lin : w.linear;
      }
    }
  }

  /** Runs one instruction with every armed check around it (see {@link checkedStep}). */
  step(): void {
    const c = this.c;
    this.run((c.segBase[1] + c.eip) >>> 0, c.eip >>> 0, 0, null);
  }

  /**
   * Runs one 64-bit instruction at RIP with every armed check around it, as {@link step}
   * does in 32-bit mode: RIP and the debug registers are 64-bit (keys), `mov ss` holds a
   * #DB (`pop ss` does not exist), a platform syscall drops it as int n does. A fault
   * throws FAULT with RIP at the instruction (run64.ts puts the registers back).
   */
  step64(h: Step64Hooks): void {
    const c = this.c;
    this.run(linearKey(c.eip, c.lm.ripHi), c.eip, c.lm.ripHi, h);
  }

  /** The linear address (key) of the next instruction, in the CPU's mode now. */
  private pc(): number {
    const c = this.c;
    return longModeActive(c.efer, c.segAttr[1])
      ? linearKey(c.eip, c.lm.ripHi)
      : (c.segBase[1] + c.eip) >>> 0;
  }

  /**
   * The checked step of both modes.
   * @param lin the instruction's linear address (key)
   * @param lo EIP, or RIP's low half
   * @param hi RIP's high half (64-bit mode)
   * @param h the 64-bit hooks, or null for the 32-bit interpreter
   */
  private run(lin: number, lo: number, hi: number, h: Step64Hooks | null): void {
    const c = this.c;
    const armed = c.dbgArmed;
    // Debugger: a finished step, or a breakpoint here (unless resuming from it).
    if (this.stepState === 2) {
      this.stepState = 0;
      this.stopFor("step", lin);
      return;
    }
    if ((armed & ARM_BREAK) !== 0 && this.resumeAt !== lin && this.breaks.has(lin)) {
      this.resumeAt = lin;
      this.stopFor("break", lin);
      return;
    }
    const flags0 = c.flags;
    // Guest instruction breakpoints are faults, suppressed by RF and by a mov-ss shadow.
    if ((armed & ARM_GUEST_EXEC) !== 0 && (flags0 & F_RF) === 0 && this.held === 0) {
      const hits = this.execHits(lin);
      if (hits !== 0) {
        c.dr[6] = mergeDr6(c.dr[6], hits);
        c.report(VEC_DB, -1, EXC_FAULT);
        if (this.stepState === 1) {
          this.stepState = 0;
          this.stopFor("step", this.pc());
          this.refresh();
        }
        return;
      }
    }
    this.pending = 0;
    this.watchHit = -1;
    const held = this.held;
    this.held = 0;
    this.csBase = c.segBase[1];
    try {
      if (h === null) {
        // The interpreter's contract (see fast_loop.ts): a fault throws with EIP rolled back.
        c.eipStart = lo;
        c.espStart = c.regs[4];
        c.inStep = true;
        this.exec(c);
        c.inStep = false;
      } else h.exec(c);
    } catch (e) {
      // A fault: the data hits and a held #DB are lost (Xen ignores a #DB raised in its
      // own context while delivering the fault); a debugger step stops at the handler.
      this.pending = 0;
      if (this.stepState === 1) this.stepState = 2;
      if (held !== 0) this.refresh();
      throw e;
    }
    c.retired++;
    this.resumeAt = -1;
    if ((flags0 & F_RF) !== 0) c.flags &= ~F_RF;
    let bits = this.pending;
    this.pending = 0;
    const look = (flags0 & F_TF) !== 0 || bits !== 0 || held !== 0;
    let softInt: boolean, movSs: boolean;
    if (h === null) {
      const op = look ? this.opcode(lo) : 0;
      // int n / int3 / into / int1 enter a handler with TF clear: no single-step trap after
      // them, and a #DB held by mov ss fires in the handler's (Xen's) context, where Xen
      // ignores it.
      softInt = op === 0xcc || op === 0xcd || op === 0xce || op === 0xf1;
      movSs = op === 0x17 || op === 0x8e02;
    } else {
      softInt = h.softInt();
      movSs = look && h.movSs(c, lo, hi);
    }
    if ((flags0 & F_TF) !== 0 && !softInt) bits |= DR6_BS;
    const watch = this.watchHit;
    this.watchHit = -1;
    if (movSs) {
      // mov ss / pop ss: a #DB is held until after the next instruction.
      this.held = bits | held;
    } else {
      if (!softInt) bits |= held;
      if (bits !== 0) {
        c.dr[6] = mergeDr6(c.dr[6], bits);
        c.report(VEC_DB, -1, EXC_TRAP);
      }
    }
    const next = this.pc();
    if (watch >= 0) this.stopFor("watch", next, watch);
    if (this.stepState === 1) {
      this.stepState = 0;
      this.stopFor("step", next);
    }
    if (held !== 0 || this.held !== 0 || (armed & ARM_STEP) !== 0) this.refresh();
  }

  /** DR6 bits of the enabled instruction breakpoints at `lin` (a key). */
  private execHits(lin: number): number {
    const c = this.c;
    const dr7 = c.dr[7];
    let hits = 0;
    for (let i = 0; i < 4; i++) {
      if (((dr7 >>> (i * 2)) & 3) === 0 || ((dr7 >>> (16 + i * 4)) & 3) !== 0) continue;
      if (linearKey(c.dr[i], c.lm.drHi[i]) === lin) hits |= 1 << i;
    }
    return hits;
  }

  /**
   * The one-byte opcode of the instruction just executed at `eip` (CS as it was), after
   * its prefixes; `mov Sreg` comes back as 0x8e00 | reg (0x8e02 = mov ss). 0 if unreadable.
   */
  private opcode(eip: number): number {
    const c = this.c;
    const user = c.cpl === 3;
    const base = this.csBase;
    for (let i = 0; i < 15; i++) {
      const b = c.tryFetch8((base + eip + i) | 0, user);
      if (c.faulted) return 0;
      if (
        b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65 ||
        b === 0x66 || b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3
      ) continue;
      if (b !== 0x8e) return b;
      const m = c.tryFetch8((base + eip + i + 1) | 0, user);
      return c.faulted ? 0 : 0x8e00 | ((m >> 3) & 7);
    }
    return 0;
  }

  private stopFor(kind: DebugStop["kind"], linear: number, dataAddress?: number): void {
    this.debugStop = dataAddress === undefined ? { kind, linear } : { kind, linear, dataAddress };
    this.c.stop();
  }
}

function addPages(pages: Set<number>, linear: number, len: number): void {
  if (linear >= 4294967296) return; // 64-bit: the 64-bit path checks every access
  const first = linear >>> 12, last = ((linear + len - 1) >>> 0) >>> 12;
  for (let p = first; p !== ((last + 1) & 0xfffff); p = (p + 1) & 0xfffff) {
    pages.add(p);
    if (pages.size > 300) break;
  }
}

/** Runs one instruction through the debug unit (the instruction loop's checked path). */
export function checkedStep(c: Cpu): void {
  (c.debug as DebugUnit).step();
}

/**
 * A `mov` to or from a debug register while DR7.GD is set: DR6.BD, GD cleared (so that
 * the handler may use the registers), and a #DB fault on the instruction.
 */
export function generalDetect(c: Cpu): never {
  c.dr[6] = mergeDr6(c.dr[6], DR6_BD);
  c.dr[7] &= ~DR7_GD;
  c.debug.refresh();
  return c.raise(VEC_DB, -1);
}
