/**
 * Adapts lib/cpu's `Cpu` to the hypervisor's narrow {@link CpuPort}.
 * @module
 */
import type { Cpu } from "../../cpu/mod.ts";
import type { CpuPort } from "./cpu_port.ts";

/** CR0.TS. */
const CR0_TS = 8;

/** A {@link CpuPort} over a real CPU. */
export class CpuAdapter implements CpuPort {
  /** The CPU. */
  readonly cpu: Cpu;
  /** @inheritdoc */
  readonly gpr: Int32Array;

  /** @param cpu the CPU */
  constructor(cpu: Cpu) {
    this.cpu = cpu;
    this.gpr = cpu.regs;
  }
  get eip(): number {
    return this.cpu.eip;
  }
  set eip(v: number) {
    this.cpu.eip = v >>> 0;
  }
  get eflags(): number {
    return this.cpu.getEflags();
  }
  set eflags(v: number) {
    this.cpu.setEflags(v);
  }
  get cpl(): number {
    return this.cpu.cpl;
  }
  get cr2(): number {
    return this.cpu.cr2;
  }
  get retired(): number {
    return this.cpu.retired;
  }
  get ts(): boolean {
    return (this.cpu.cr0 & CR0_TS) !== 0;
  }
  set ts(on: boolean) {
    this.cpu.cr0 = on ? this.cpu.cr0 | CR0_TS : this.cpu.cr0 & ~CR0_TS;
  }
  get faulted(): boolean {
    return this.cpu.faulted;
  }
  getSeg(seg: number): number {
    return this.cpu.sel(seg);
  }
  loadSeg(seg: number, selector: number): number {
    return this.cpu.loadSegment(seg, selector);
  }
  enterHandler(cs: number, eip: number, ss: number, esp: number): number {
    return this.cpu.enterHandler(cs, eip, ss, esp);
  }
  read32(linear: number): number {
    return this.cpu.tryRead32(linear) >>> 0;
  }
  write32(linear: number, value: number): void {
    this.cpu.tryWrite32(linear, value);
  }
  flushTlb(): void {
    this.cpu.flushTlb();
  }
  invlpg(linear: number): void {
    this.cpu.invlpg(linear);
  }
  run(n: number): number {
    return this.cpu.run(n);
  }
  stop(): void {
    this.cpu.stop();
  }
  loadDebugRegs(dr: ArrayLike<number>, drHi: ArrayLike<number>): void {
    for (const i of [0, 1, 2, 3, 6, 7]) this.cpu.dr[i] = dr[i] | 0;
    for (let i = 0; i < 4; i++) this.cpu.lm.drHi[i] = drHi[i] | 0;
    this.cpu.debug.refresh();
  }
  get dr6(): number {
    return this.cpu.dr[6] >>> 0;
  }
  get cpuidFaulting(): boolean {
    return this.cpu.cpuidFaulting;
  }
  set cpuidFaulting(on: boolean) {
    this.cpu.cpuidFaulting = on;
  }
}
