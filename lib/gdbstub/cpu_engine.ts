/**
 * gdb's breakpoints, watchpoints and steps over the CPUs' debug units
 * (lib/cpu/debug_unit.ts): points are armed in every vcpu's unit (the guest sees no byte
 * and no debug register change) at 32-bit linear addresses, or in a 64-bit domain at
 * canonical 64-bit ones (the unit's keys: bits 47..0, `linearKey`); a unit that hits stops its CPU, and the run loop's owner
 * ends the machine's run at that slice boundary ({@link anyStop}) and takes the stop
 * ({@link takeStop}). A step is one stepOnce of one vcpu alone: timers and event upcalls
 * wait (a step over a hypercall is one step, a step never wanders into an upcall) and a
 * step that faults stops at the guest handler's first instruction.
 * @module
 */
import type { Cpu } from "../cpu/mod.ts";
import type { Machine } from "../hypervisor/mod.ts";
import type { StopEvent } from "./target.ts";
import { BP_HW, BP_SW, WP_ACCESS, WP_READ, WP_WRITE } from "./target.ts";

const SIGTRAP = 5;
const KIND = { [WP_WRITE]: "w", [WP_READ]: "r", [WP_ACCESS]: "a" } as const;
const WHY = { w: "watch", r: "rwatch", a: "awatch" } as const;

/** See the module doc. */
export class CpuDebugEngine {
  readonly #m: Machine;
  /** The points as gdb set them: [type, linear key, len]. */
  #points: Array<[number, number, number]> = [];
  #last = 0;
  readonly #long: boolean;

  /**
   * @param m the machine
   * @param long whether its vcpus run 64-bit code (addresses are 64-bit)
   */
  constructor(m: Machine, long = false) {
    this.#m = m;
    this.#long = long;
  }

  /** The unit's key of a gdb address, or -1 when the mode cannot reach it. */
  #key(addr: bigint): number {
    if (!this.#long) return addr >= 0n && addr <= 0xffffffffn ? Number(addr) : -1;
    const top = addr >> 47n;
    if (addr < 0n || (top !== 0n && top !== 0x1ffffn)) return -1; // not canonical
    return Number(addr & 0xffffffffffffn);
  }

  /** The gdb address of a unit's key (sign-extended from bit 47 in 64-bit mode). */
  #addr(key: number): bigint {
    const a = BigInt(key);
    return this.#long && key >= 2 ** 47 ? a | 0xffff000000000000n : a;
  }

  /** The vcpu that stopped or stepped last. */
  get lastVcpu(): number {
    return this.#last;
  }

  /**
   * Arms a breakpoint (BP_SW, BP_HW) or a watchpoint (WP_WRITE, WP_READ, WP_ACCESS).
   * @returns false for another type, or an address the mode cannot reach
   */
  insert(type: number, addr: bigint, len: number): boolean {
    const linear = this.#key(addr);
    if (linear < 0) return false;
    if (type === BP_SW || type === BP_HW) {
      for (const c of this.#m.cpus) c.debug.addBreakpoint(linear);
    } else if (type === WP_WRITE || type === WP_READ || type === WP_ACCESS) {
      for (const c of this.#m.cpus) c.debug.addWatchpoint(linear, len, KIND[type]);
    } else return false;
    this.#points.push([type, linear, len]);
    return true;
  }

  /** Disarms one; false when it was not armed. */
  remove(type: number, addr: bigint, len: number): boolean {
    const linear = this.#key(addr);
    const i = this.#points.findIndex(([t, a, l]) => t === type && a === linear && l === len);
    if (i < 0) return false;
    this.#points.splice(i, 1);
    const isBp = type === BP_SW || type === BP_HW;
    // two Z0/Z1 at one address share the unit's one breakpoint: keep it while one remains
    const still = this.#points.some(([t, a]) => a === linear && (t === BP_SW || t === BP_HW));
    for (const c of this.#m.cpus) {
      if (isBp && !still) c.debug.removeBreakpoint(linear);
      else if (!isBp) c.debug.removeWatchpoint(linear, len, KIND[type as 2 | 3 | 4]);
    }
    return true;
  }

  /** Disarms everything. */
  clear(): void {
    this.#points = [];
    for (const c of this.#m.cpus) c.debug.clearDebugger();
  }

  /** Whether a unit has stopped its CPU (the run loop's stop condition). */
  anyStop(): boolean {
    const cpus = this.#m.cpus;
    for (let i = 0; i < cpus.length; i++) if (cpus[i].debug.debugStop !== null) return true;
    return false;
  }

  /** The stop a unit reported (the first vcpu's), clearing every unit's; or null. */
  takeStop(): StopEvent | null {
    const cpus = this.#m.cpus;
    let ev: StopEvent | null = null;
    for (let i = 0; i < cpus.length; i++) {
      if (ev === null && cpus[i].debug.debugStop !== null) ev = this.#event(i, cpus[i]);
      cpus[i].debug.debugStop = null;
    }
    return ev;
  }

  #event(i: number, cpu: Cpu): StopEvent {
    const s = cpu.debug.debugStop!;
    this.#last = i;
    if (s.kind === "step") return { kind: "stopped", vcpu: i, signal: SIGTRAP };
    if (s.kind === "break") {
      const hw = !this.#points.some(([t, a]) => t === BP_SW && a === s.linear);
      return { kind: "stopped", vcpu: i, signal: SIGTRAP, why: hw ? "hwbreak" : "swbreak" };
    }
    const d = s.dataAddress ?? 0;
    const w = this.#points.find(([t, a, l]) => t >= WP_WRITE && d >= a && d < a + l);
    const kind = w ? KIND[w[0] as 2 | 3 | 4] : "w";
    const dataAddress = this.#addr(d);
    return { kind: "stopped", vcpu: i, signal: SIGTRAP, why: WHY[kind], dataAddress };
  }

  /**
   * Executes one instruction of a runnable vcpu (or enters the handler it faults into).
   * @returns the stop (a step, or a watchpoint the instruction hit)
   */
  step(vcpu: number): StopEvent {
    const m = this.#m;
    const cpu = m.cpus[vcpu];
    this.#last = vcpu;
    if (cpu === undefined) return { kind: "stopped", vcpu: 0, signal: SIGTRAP };
    this.takeStop();
    cpu.debug.stepOnce();
    for (let k = 0; k < 4 && cpu.debug.debugStop === null && !m.domain.isShutdown; k++) {
      cpu.run(16);
    }
    return this.takeStop() ?? { kind: "stopped", vcpu, signal: SIGTRAP };
  }
}
