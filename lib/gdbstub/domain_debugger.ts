/**
 * The {@link DebugTarget} of one domain across its whole life, and the gate its run loop
 * goes through. The loop that owns the Machine (the single-domain boot loop, or the
 * multi-domain scheduler) runs it only while gdb lets it ({@link runnable}), ends each run
 * when {@link until} holds (a debug unit stopped a CPU, Ctrl-C, kill), hands each run's
 * result to {@link afterRun} (which turns a debug stop into gdb's stop reply) and a
 * shut-down domain's result to {@link holdEnd}. Each Machine of the domain (the first, one
 * per reboot) is {@link attach}ed in turn: gdb's points carry over and gdb stays attached.
 * When the domain is over, {@link finish} gives gdb its W or X reply.
 * @module
 */
import type { Machine, RunResult } from "../hypervisor/mod.ts";
import { MachineTarget } from "./machine_target.ts";
import { type MonitorContext, runMonitor } from "./monitor.ts";
import type { ArchRegisters, RegisterAccess } from "./registers.ts";
import { I386 } from "./registers.ts";
import type { DebugTarget, ResumeAction, StopEvent } from "./target.ts";

const SIGINT = 2, SIGTRAP = 5, SIGKILL = 9, SIGSEGV = 11;

/** How a machine's run ended under the debugger. */
export type AttachEnd = RunResult | "killed";

/** See the module doc. */
export class DomainDebugger implements DebugTarget {
  #cur: MachineTarget | null = null;
  #ctx: MonitorContext | null = null;
  #points: Array<[number, bigint, number]> = [];
  #paused = true;
  #pending: ((ev: StopEvent) => void) | null = null;
  #stepVcpu = -1;
  #interrupt = false;
  #killed = false;
  #ended: RunResult | null = null;
  #final: StopEvent | null = null;
  #last: StopEvent = { kind: "stopped", vcpu: 0, signal: SIGTRAP };
  #wakers: Array<() => void> = [];
  #crashShown = false;
  #gVcpu = 0;
  /** Whether a gdb client is connected (a crash is held for it only then). */
  hasClient: () => boolean = () => true;

  get arch(): ArchRegisters {
    return this.#cur?.arch ?? I386;
  }

  /** Puts a machine (built, devices attached, not running) under the debugger. */
  attach(m: Machine, ctx: Omit<MonitorContext, "machine"> = {}): void {
    const t = new MachineTarget(m);
    for (const [type, addr, len] of this.#points) t.engine.insert(type, addr, len);
    this.#cur = t;
    this.#ctx = { ...ctx, machine: m };
    this.#crashShown = false;
    this.#ended = null;
    // a step that rebooted the domain ends at the new domain's first instruction
    if (this.#stepVcpu >= 0) this.#stop({ kind: "stopped", vcpu: 0, signal: SIGTRAP });
  }

  /** The machine being debugged now. */
  get machine(): Machine | null {
    return this.#cur?.machine ?? null;
  }

  // ---- the run loop's side -------------------------------------------------------------

  /** Whether the machine may run now (gdb continued it, or killed it). */
  get runnable(): boolean {
    return !this.#paused || this.#killed;
  }

  /** Resolves when {@link runnable} becomes true. */
  whenRunnable(): Promise<void> {
    return this.runnable ? Promise.resolve() : new Promise((r) => this.#wakers.push(r));
  }

  /** Whether gdb killed the domain. */
  get killed(): boolean {
    return this.#killed;
  }

  /** The run's stop condition (checked at slice boundaries). */
  readonly until = (): boolean => {
    if (this.#interrupt || this.#killed || (this.#cur?.engine.anyStop() ?? false)) return true;
    if (this.#stepVcpu < 0) return false;
    const v = this.#cur?.machine.domain.vcpus[this.#stepVcpu];
    return v !== undefined && v.online && !v.blocked;
  };

  /**
   * Takes a run's end: a debug unit's stop, Ctrl-C, or a pending step whose vcpu woke up
   * becomes gdb's stop reply (the domain is paused then).
   * @returns whether the debugger took the stop (else: the loop's own yield, or the end)
   */
  afterRun(r: RunResult): boolean {
    const cur = this.#cur;
    if (cur === null || this.#killed || cur.machine.domain.isShutdown) return false;
    const ev = cur.engine.takeStop();
    if (ev !== null) {
      this.#stop(ev);
      return true;
    }
    if (this.#stepVcpu >= 0 && this.until()) {
      this.#stop(cur.engine.step(this.#stepVcpu));
      return true;
    }
    if (this.#interrupt && (r.reason === "until" || r.reason === "stopped")) {
      this.#stop({ kind: "stopped", vcpu: cur.engine.lastVcpu, signal: SIGINT });
      return true;
    }
    return false;
  }

  /**
   * A shut-down domain, before its machine is dropped: a crash is first shown to gdb as a
   * SIGSEGV stop (registers and memory can be read) until gdb continues or kills it.
   */
  async holdEnd(r: RunResult): Promise<void> {
    this.#ended = r;
    if (r.reason !== "crash" || this.#crashShown || this.#killed || !this.hasClient()) return;
    this.#crashShown = true;
    this.#stop({ kind: "stopped", vcpu: this.#cur?.engine.lastVcpu ?? 0, signal: SIGSEGV });
    await this.whenRunnable();
  }

  /** The domain's boot is over (no machine follows): gdb gets W or X. */
  finish(): void {
    if (this.#final === null) {
      const r = this.#ended;
      this.#final = r === null || r.reason === "poweroff" || r.reason === "reboot"
        ? { kind: "exited", code: 0 }
        : { kind: "terminated", signal: r.reason === "crash" ? SIGSEGV : SIGKILL };
    }
    const p = this.#pending;
    this.#pending = null;
    p?.(this.#final);
  }

  #stop(ev: StopEvent): void {
    this.#paused = true;
    this.#interrupt = false;
    this.#stepVcpu = -1;
    this.#last = ev;
    const p = this.#pending;
    this.#pending = null;
    p?.(ev);
  }

  #run(): void {
    this.#paused = false;
    for (const w of this.#wakers.splice(0)) w();
  }

  // ---- gdb's side ------------------------------------------------------------------------

  vcpus(): number[] {
    return this.#cur?.machine.domain.vcpus.map((v) => v.id) ?? [0];
  }

  vcpuInfo(vcpu: number): string {
    const v = this.#cur?.machine.domain.vcpus[vcpu];
    if (!v) return "none";
    return `vcpu${vcpu} ${!v.online ? "offline" : v.blocked ? "blocked" : "runnable"}`;
  }

  registers(vcpu: number): RegisterAccess | null {
    this.#gVcpu = vcpu;
    return this.#cur?.registers(vcpu) ?? null;
  }

  readMemory(vcpu: number, addr: bigint, len: number): Uint8Array {
    return this.#cur?.memory.read(vcpu, addr, len) ?? new Uint8Array(0);
  }

  writeMemory(vcpu: number, addr: bigint, data: Uint8Array): boolean {
    return this.#cur?.memory.write(vcpu, addr, data) ?? false;
  }

  insertPoint(type: number, addr: bigint, len: number): boolean {
    if (this.#cur === null || !this.#cur.engine.insert(type, addr, len)) return false;
    this.#points.push([type, addr, len]);
    return true;
  }

  removePoint(type: number, addr: bigint, len: number): boolean {
    const i = this.#points.findIndex(([t, a, l]) => t === type && a === addr && l === len);
    if (i < 0) return false;
    this.#points.splice(i, 1);
    this.#cur?.engine.remove(type, addr, len);
    return true;
  }

  resume(a: ResumeAction): Promise<StopEvent> {
    if (this.#final !== null) return Promise.resolve(this.#final);
    const cur = this.#cur;
    const d = cur?.machine.domain;
    if (a.step >= 0 && cur && d && !d.isShutdown) {
      const v = d.vcpus[a.step];
      if (v && v.online && !v.blocked) {
        const ev = cur.engine.step(a.step);
        // a step that shut the domain down lets the loop see the end
        if (!d.isShutdown) {
          this.#last = ev;
          return Promise.resolve(ev);
        }
      } else this.#stepVcpu = a.step; // its next instruction runs when it wakes
    }
    return new Promise((resolve) => {
      this.#pending = resolve;
      this.#run();
    });
  }

  interrupt(): void {
    if (!this.#paused) this.#interrupt = true;
  }

  lastStop(): StopEvent {
    return this.#final ?? this.#last;
  }

  kill(): void {
    this.#killed = true;
    this.#final = { kind: "terminated", signal: SIGKILL };
    this.#run();
  }

  detach(_resume: boolean): void {
    this.#points = [];
    this.#cur?.engine.clear();
  }

  monitor(command: string): string {
    if (this.#ctx === null) return "no domain";
    return runMonitor(this.#ctx, this.#gVcpu, command);
  }
}
