/**
 * One pvx Machine as the debugger sees it: registers of its vcpus' CPUs, memory through
 * the guest's tables ({@link DebugMemory}), and gdb's points and steps in the CPUs' debug
 * units ({@link CpuDebugEngine}).
 * @module
 */
import type { Machine } from "../hypervisor/mod.ts";
import { DebugMemory } from "./guest_memory.ts";
import { Cpu32Registers } from "./cpu_registers.ts";
import { type ArchRegisters, I386, type RegisterAccess } from "./registers.ts";
import { CpuDebugEngine } from "./cpu_engine.ts";

/** See the module doc. */
export class MachineTarget {
  /** The machine. */
  readonly machine: Machine;
  /** Its register table (i386 until pvx runs 64-bit domains: then chosen by the mode). */
  readonly arch: ArchRegisters = I386;
  /** Guest-virtual memory. */
  readonly memory: DebugMemory;
  /** Breakpoints, watchpoints and steps. */
  readonly engine: CpuDebugEngine;

  /** @param m the machine */
  constructor(m: Machine) {
    this.machine = m;
    this.memory = new DebugMemory(m.domain.mm, m.domain.domid);
    this.engine = new CpuDebugEngine(m);
  }

  /** Register access of a vcpu. */
  registers(vcpu: number): RegisterAccess | null {
    const cpu = this.machine.cpus[vcpu];
    return cpu ? new Cpu32Registers(cpu) : null;
  }
}
