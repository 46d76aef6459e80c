/**
 * What the gdb session needs of a debugged domain: its vcpus as threads, registers by
 * name, guest-virtual memory, breakpoints and watchpoints, resume/step/interrupt, kill,
 * detach and monitor commands. domain_debugger.ts implements it over a pvx
 * Machine; tests use fakes. Thread ids are vcpu ids (gdb's thread N+1 is vcpu N).
 * @module
 */
import type { ArchRegisters, RegisterAccess } from "./registers.ts";

/** Z/z packet types. */
export const BP_SW = 0, BP_HW = 1, WP_WRITE = 2, WP_READ = 3, WP_ACCESS = 4;

/** Why the target stopped (or ended). */
export type StopEvent =
  /** Stopped with a signal on a vcpu (5 = SIGTRAP: step, breakpoint, watchpoint). */
  | {
    kind: "stopped";
    vcpu: number;
    signal: number;
    /** What hit, for the T reply's swbreak/hwbreak/watch/rwatch/awatch. */
    why?: "swbreak" | "hwbreak" | "watch" | "rwatch" | "awatch";
    /** The data address of a watchpoint hit. */
    dataAddress?: bigint;
  }
  /** The domain shut down normally (poweroff): W reply with this code. */
  | { kind: "exited"; code: number }
  /** The domain ended abnormally (crash, killed): X reply with this signal. */
  | { kind: "terminated"; signal: number };

/** How to resume: run all vcpus, or step one (the others stay paused). */
export interface ResumeAction {
  /** The vcpu to single-step, or -1 to continue all. */
  step: number;
}

/** A domain under the debugger. */
export interface DebugTarget {
  /** The register table of its mode (chosen from the domain's mode). */
  readonly arch: ArchRegisters;
  /** The vcpu ids. */
  vcpus(): number[];
  /** A one-line description of a vcpu (qThreadExtraInfo). */
  vcpuInfo(vcpu: number): string;
  /** Register access for a vcpu, or null when it does not exist. */
  registers(vcpu: number): RegisterAccess | null;
  /**
   * Reads guest-virtual memory through the vcpu's page tables.
   * @returns the bytes readable from `addr` on (fewer than `len` when a page is unmapped)
   */
  readMemory(vcpu: number, addr: bigint, len: number): Uint8Array;
  /**
   * Writes guest-virtual memory (all or nothing).
   * @returns false when any byte is unmapped or not writable by the debugger
   */
  writeMemory(vcpu: number, addr: bigint, data: Uint8Array): boolean;
  /**
   * Inserts a breakpoint or watchpoint (BP_* / WP_*), invisible to the guest.
   * @returns false when unsupported or refused
   */
  insertPoint(type: number, addr: bigint, len: number): boolean;
  /** Removes one. @returns false when it was not set */
  removePoint(type: number, addr: bigint, len: number): boolean;
  /** Resumes until the next stop; resolves with why. */
  resume(action: ResumeAction): Promise<StopEvent>;
  /** Asks a running target to stop soon (Ctrl-C); resume then resolves with SIGINT. */
  interrupt(): void;
  /** Where the target is now (the `?` reply, and the stop shown at attach). */
  lastStop(): StopEvent;
  /** Ends the domain (k). */
  kill(): void;
  /** gdb leaves: remove every point; the domain runs on (D) or stays as it is (drop). */
  detach(resume: boolean): void;
  /** A monitor command; returns its output text. */
  monitor(command: string): string;
}
