/**
 * One pvx Machine as the debugger sees it: registers of its vcpus' CPUs (i386, or x86-64
 * for a domain in IA-32e mode), memory through the guest's tables ({@link DebugMemory}),
 * and gdb's points and steps in the CPUs' debug units ({@link CpuDebugEngine}).
 * @module
 */
import type { Machine } from "../hypervisor/mod.ts";
import { DebugMemory } from "./guest_memory.ts";
import { Cpu32Registers } from "./cpu_registers.ts";
import { Cpu64Registers } from "./cpu_registers64.ts";
import { type ArchRegisters, I386, type RegisterAccess, X86_64 } from "./registers.ts";
import { CpuDebugEngine } from "./cpu_engine.ts";

/** EFER.LMA: the CPU is in IA-32e mode. */
const EFER_LMA = 0x400;

/** See the module doc. */
export class MachineTarget {
  /** The machine. */
  readonly machine: Machine;
  /** Its register table: x86-64 when the vcpus run in IA-32e mode (a 64-bit domain). */
  readonly arch: ArchRegisters;
  /** Guest-virtual memory. */
  readonly memory: DebugMemory;
  /** Breakpoints, watchpoints and steps. */
  readonly engine: CpuDebugEngine;

  /** @param m the machine */
  constructor(m: Machine) {
    this.machine = m;
    const long = ((m.cpus[0]?.efer ?? 0) & EFER_LMA) !== 0 || m.domain.mm.pv64;
    this.arch = long ? X86_64 : I386;
    this.memory = new DebugMemory(m.domain.mm, m.domain.domid);
    this.engine = new CpuDebugEngine(m, this.arch.mode === "x86_64");
  }

  /** Register access of a vcpu. */
  registers(vcpu: number): RegisterAccess | null {
    const cpu = this.machine.cpus[vcpu];
    if (!cpu) return null;
    return this.arch === X86_64 ? new Cpu64Registers(cpu) : new Cpu32Registers(cpu);
  }
}
