/**
 * A PV virtual CPU's hypervisor-side state (Xen's struct vcpu + pv_vcpu): the virtual
 * IDT from set_trap_table, kernel stack from stack_switch, callbacks, timers, blocking,
 * lazy-FPU state and debug registers. Its registers live in the CPU ({@link CpuPort}).
 * @module
 */
import type { CpuPort } from "../machine/cpu_port.ts";
import type { GuestAccess } from "../pv/guest_access.ts";
import type { Domain } from "./domain.ts";
import type { Pv64Vcpu } from "../pv64/vcpu64.ts";
import type { CpuAdapter64 } from "../machine/cpu_adapter64.ts";
import { FLAT_KERNEL_CS, FLAT_KERNEL_SS } from "../../abi/mod.ts";
import { VCPU_INFO_SIZE, VI_ARCH_CR2, VI_UPCALL_MASK } from "../../abi/mod.ts";
import { RUNSTATE_blocked, RUNSTATE_running } from "../../abi/mod.ts";
import { TRC_SCHED_WAKE } from "../../abi/mod.ts";

function putU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 2 ** 32, true);
  dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
}

/** DR6 and DR7 after reset (X86_DR6_DEFAULT, X86_DR7_DEFAULT). */
export const DR6_RESET = 0xffff0ff0, DR7_RESET = 0x400;

/** A vcpu_guest_context's user registers, kept until the vcpu runs. */
export interface PendingContext {
  /** GPRs in encoding order. */
  gpr: Int32Array;
  eip: number;
  /** Code and stack selectors (RPL already fixed up). */
  cs: number;
  ss: number;
  esp: number;
  eflags: number;
  /** es, ds, fs, gs. */
  segs: number[];
}

/** No timer armed. */
export const TIMER_OFF = -1;

/** One virtual CPU of a PV domain. */
export class Vcpu {
  /** vcpu id within the domain. */
  readonly id: number;
  /** The owning domain. */
  readonly domain: Domain;
  /** The CPU running it (set when the domain is attached to a CPU). */
  cpu!: CpuPort;
  /** Checked access to its address space. */
  access!: GuestAccess;
  /** Virtual IDT: per vector, flags (DPL 0-1, bit 2 = TI_SET_IF), cs. 0 = no handler. */
  readonly trapFlagsCs: Uint32Array = new Uint32Array(256);
  /** Virtual IDT: per vector, handler eip. */
  readonly trapEip: Uint32Array = new Uint32Array(256);
  /** Kernel stack for transitions from ring 3 (stack_switch): ss, esp. */
  kernelSs = FLAT_KERNEL_SS;
  kernelSp = 0;
  /** Event upcall callback (cs:eip). */
  eventCs = FLAT_KERNEL_CS;
  eventEip = 0;
  /** Failsafe callback (cs:eip) and whether it masks events. */
  failsafeCs = FLAT_KERNEL_CS;
  failsafeEip = 0;
  failsafeDisablesEvents = false;
  /** NMI callback eip (0 = none). */
  nmiEip = 0;
  /** Single-shot timer deadline in system-time ns, or TIMER_OFF. */
  singleshotNs = TIMER_OFF;
  /** Periodic timer period in ns (0 = off) and its next deadline. */
  periodicPeriodNs = 0;
  periodicNextNs = TIMER_OFF;
  /** RUNSTATE_* now, when it was entered (system time ns), and time spent in each. */
  runstate = RUNSTATE_running;
  runstateEntryNs = 0;
  readonly runstateTimeNs = [0, 0, 0, 0];
  #blocked = false;

  /** Blocked in SCHEDOP_block / SCHEDOP_poll / hlt (entering or leaving updates the runstate). */
  get blocked(): boolean {
    return this.#blocked;
  }
  set blocked(b: boolean) {
    if (b === this.#blocked) return;
    this.#blocked = b;
    const t = this.domain.host.tracer;
    if (!b && t.on) t.rec(TRC_SCHED_WAKE, 2, this.domain.domid, this.id, 0, 0, 0, 0);
    this.setRunstate(b ? RUNSTATE_blocked : RUNSTATE_running);
  }

  /**
   * Changes the runstate, accounting the time spent in the old one, and updates the
   * guest's runstate area when one is registered (update_runstate_area).
   */
  setRunstate(state: number): void {
    const now = this.domain.host.clock.nowNs();
    this.runstateTimeNs[this.runstate] += Math.max(0, now - this.runstateEntryNs);
    this.runstate = state;
    this.runstateEntryNs = now;
    this.writeRunstateArea();
  }

  /**
   * The vcpu_runstate_info: state, state_entry_time, time[4] (44 bytes for i386, 48 for
   * x86_64).
   * @returns the bytes
   */
  runstateInfo(): Uint8Array {
    // x86_64 aligns the u64 fields: 48 bytes, state_entry_time at 8
    const at = this.pv64 !== null ? 8 : 4;
    const b = new Uint8Array(at + 40);
    const dv = new DataView(b.buffer);
    dv.setInt32(0, this.runstate, true);
    putU64(dv, at, this.runstateEntryNs);
    const now = this.domain.host.clock.nowNs();
    for (let i = 0; i < 4; i++) {
      const extra = i === this.runstate ? Math.max(0, now - this.runstateEntryNs) : 0;
      putU64(dv, at + 8 + i * 8, this.runstateTimeNs[i] + extra);
    }
    return b;
  }

  /** Writes {@link runstateInfo} to the registered runstate area, if any (faults ignored). */
  writeRunstateArea(): void {
    if (this.runstateVa !== 0 && this.access) {
      this.access.copyToGuest(this.runstateVa, this.runstateInfo());
    }
  }
  /** Ports polled by SCHEDOP_poll (empty when not polling), with its timeout. */
  pollPorts: number[] = [];
  pollTimeoutNs = TIMER_OFF;
  /** Online (VCPUOP_up / down). */
  online = true;
  /** Its context is loaded (vcpu 0 by the builder, others by VCPUOP_initialise). */
  initialised = true;
  /** The guest's view of CR0.TS (fpu_taskswitch, clts). */
  guestTs = false;
  /**
   * Debug registers DR0-DR7 as set with set_debugreg (DR7 without the I/O breakpoint
   * enables, which live in {@link dr7Emul}); reset values DR6 0xffff0ff0, DR7 0x400.
   */
  readonly debugreg: Uint32Array = Uint32Array.of(0, 0, 0, 0, 0, 0, DR6_RESET, DR7_RESET);
  /** DR7's I/O breakpoint enables (Xen's pv.dr7_emul: the CPU cannot apply them). */
  dr7Emul = 0;
  /** High halves of DR0-DR3 (a 64-bit domain's breakpoints may be at 64-bit addresses). */
  readonly debugregHi: Uint32Array = new Uint32Array(4);
  /** The guest-controlled CR4 bits (TSD, DE: Xen's PV_CR4_GUEST_MASK in this policy). */
  guestCr4 = 0;
  /** MSR_INTEL_MISC_FEATURES_ENABLES.CPUID_FAULTING as the guest set it. */
  cpuidFaulting = false;
  /** IOPL granted with PHYSDEVOP_set_iopl (0..3). */
  iopl = 0;
  /** PHYSDEVOP_set_iobitmap: the guest's I/O bitmap and its size in ports. */
  iobitmapVa = 0;
  iobitmapPorts = 0;
  /** Machine address of this vcpu's vcpu_info (in shared_info unless re-registered). */
  vcpuInfoMaddr = 0;
  /** GDT frames (mfns) and entry count given with set_gdt. */
  gdtFrames: number[] = [];
  gdtEnts = 0;
  /** LDT linear base and entry count from MMUEXT_SET_LDT. */
  ldtBase = 0;
  ldtEnts = 0;
  /** Machine address of the current top-level page table (cr3). */
  cr3 = 0;
  /** Whether the guest is in kernel mode (Xen's TF_kernel_mode). */
  inKernel = true;
  /** VCPUOP_register_runstate_memory_area / _vcpu_time_memory_area guest addresses. */
  runstateVa = 0;
  timeMemoryVa = 0;
  /** Whether VCPUOP_register_vcpu_info moved vcpu_info out of shared_info. */
  vcpuInfoMoved = false;
  /** An NMI is pending (VCPUOP_send_nmi). */
  nmiPending = false;
  /** Set by a handler that restored the registers itself (iret): eax is left alone. */
  skipReturn = false;
  /** Set when descriptor tables changed: the data segments are reloaded on return. */
  segmentsDirty = false;
  /**
   * Registers stored by VCPUOP_initialise, loaded into the CPU when the vcpu first runs
   * (null: none pending).
   */
  pendingContext: PendingContext | null = null;
  /** Nesting guard of multicall. */
  inMulticall = false;
  /** A 64-bit domain's vcpu: Xen's 64-bit PV state (null for 32-bit). */
  pv64: Pv64Vcpu | null = null;
  /** A 64-bit domain's vcpu: the CPU's long-mode port (null for 32-bit). */
  cpu64: CpuAdapter64 | null = null;

  /**
   * @param domain the owner
   * @param id the vcpu id
   */
  constructor(domain: Domain, id: number) {
    this.domain = domain;
    this.id = id;
  }

  /** Byte offset of vcpu_info inside the shared_info page (legacy placement). */
  get vcpuInfoOffset(): number {
    return this.id * VCPU_INFO_SIZE;
  }

  /**
   * Sets evtchn_upcall_mask in the vcpu's vcpu_info (a write to guest memory from outside
   * the CPU, so it is noted for decoded-code coherence).
   */
  setUpcallMask(masked: boolean): void {
    const mem = this.domain.host.mem;
    mem.u8[this.vcpuInfoMaddr + VI_UPCALL_MASK] = masked ? 1 : 0;
    mem.noteWrite(this.vcpuInfoMaddr + VI_UPCALL_MASK, 1);
  }

  /** Sets vcpu_info.arch.cr2 (noted as {@link setUpcallMask}). */
  setCr2(cr2: number): void {
    const mem = this.domain.host.mem;
    mem.dv.setUint32(this.vcpuInfoMaddr + VI_ARCH_CR2, cr2 >>> 0, true);
    mem.noteWrite(this.vcpuInfoMaddr + VI_ARCH_CR2, 4);
  }

  /** Makes the CPU apply {@link debugreg} (after set_debugreg or a context load). */
  loadDebugRegs(): void {
    if (this.cpu) this.cpu.loadDebugRegs(this.debugreg, this.debugregHi);
  }

  /** Makes the vcpu's cached cr3 follow its walker (after NEW_BASEPTR). */
  syncCr3(): void {
    const w = this.domain.mm.walkers[this.id];
    this.cr3 = w.cr3;
  }

  /** Clears everything a fresh boot clears (domain reboot). */
  reset(): void {
    this.trapFlagsCs.fill(0);
    this.trapEip.fill(0);
    this.kernelSs = FLAT_KERNEL_SS;
    this.kernelSp = 0;
    this.eventCs = this.failsafeCs = FLAT_KERNEL_CS;
    this.eventEip = this.failsafeEip = this.nmiEip = 0;
    this.failsafeDisablesEvents = false;
    this.singleshotNs = this.periodicNextNs = this.pollTimeoutNs = TIMER_OFF;
    this.periodicPeriodNs = 0;
    this.#blocked = false;
    this.runstate = RUNSTATE_running;
    this.runstateEntryNs = 0;
    this.runstateTimeNs.fill(0);
    this.pollPorts = [];
    this.online = true;
    this.guestTs = false;
    this.debugreg.fill(0);
    this.debugregHi.fill(0);
    this.debugreg[6] = DR6_RESET;
    this.debugreg[7] = DR7_RESET;
    this.dr7Emul = 0;
    this.guestCr4 = 0;
    this.cpuidFaulting = false;
    this.loadDebugRegs();
    if (this.cpu) this.cpu.cpuidFaulting = false;
    this.iopl = 0;
    this.gdtFrames = [];
    this.gdtEnts = 0;
    this.ldtBase = this.ldtEnts = 0;
    this.inKernel = true;
    this.pendingContext = null;
  }
}
