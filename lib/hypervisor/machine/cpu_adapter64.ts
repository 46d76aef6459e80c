/**
 * The long-mode half of the CPU port (pv64/README.md, "What the CPU must expose"): all
 * sixteen GPRs, rip and rflags as (lo, hi) halves saved to and loaded from a
 * {@link Regs64} (the CPU keeps RAX..RDI low halves in `regs`, R8-R15 low halves in
 * `lm.rlo`, every high half in `lm.hi`, RIP's high half in `lm.ripHi`), CR2 as halves,
 * FS/GS/KERNEL_GS bases, and the entry to a handler with 64-bit rip/rsp.
 * @module
 */
import type { Cpu } from "../../cpu/mod.ts";
import { CpuAdapter } from "./cpu_adapter.ts";
import type { Regs64 } from "../pv64/vcpu64.ts";
import { S_CS, S_SS } from "./cpu_port.ts";

/** EFER.LME | EFER.LMA | EFER.SCE | EFER.NXE, as Xen runs a 64-bit PV guest. */
const EFER_PV64 = 0x100 | 0x400 | 0x1 | 0x800;

/** LongState.msr slots of the FS, GS and KERNEL_GS bases. */
const M_FS = 4, M_GS = 5, M_KGS = 6;

/** A CPU port with the 64-bit register file. */
export class CpuAdapter64 extends CpuAdapter {
  /** @param cpu the CPU (switched to long mode: EFER.LMA) */
  constructor(cpu: Cpu) {
    super(cpu);
    cpu.efer |= EFER_PV64;
  }

  /** Copies the CPU's registers into `r` (rflags materialised; cs, ss selectors). */
  save(r: Regs64): void {
    const c = this.cpu, w = r.w, lm = c.lm;
    for (let i = 0; i < 8; i++) {
      w[2 * i] = c.regs[i];
      w[2 * i + 1] = lm.hi[i];
      w[2 * (i + 8)] = lm.rlo[i];
      w[2 * (i + 8) + 1] = lm.hi[i + 8];
    }
    w[32] = c.eip;
    w[33] = lm.ripHi;
    w[34] = c.getEflags();
    w[35] = 0;
    r.cs = c.sel(S_CS);
    r.ss = c.sel(S_SS);
  }

  /** Loads the GPRs and rflags of `r` (not rip, rsp's selector, cs, ss: see {@link enter}). */
  loadGprs(r: Regs64): void {
    const c = this.cpu, w = r.w, lm = c.lm;
    for (let i = 0; i < 8; i++) {
      c.regs[i] = w[2 * i];
      lm.hi[i] = w[2 * i + 1];
      lm.rlo[i] = w[2 * (i + 8)];
      lm.hi[i + 8] = w[2 * (i + 8) + 1];
    }
    c.setEflags(w[34]);
  }

  /**
   * Loads everything of `r`: GPRs, rflags, then cs:rip and ss:rsp with the segment checks.
   * @returns 0, or the fault vector when a selector does not load (nothing changed then)
   */
  load(r: Regs64): number {
    const c = this.cpu, w = r.w;
    const rc = c.enterHandler(r.cs, w[32], r.ss, w[8]);
    if (rc !== 0) return rc;
    this.loadGprs(r);
    c.lm.ripHi = w[33] | 0;
    return 0;
  }

  /**
   * Enters a handler: cs:rip and ss:rsp (64-bit halves), other registers unchanged.
   * @returns 0, or the fault vector
   */
  enter64(
    cs: number,
    ripLo: number,
    ripHi: number,
    ss: number,
    rspLo: number,
    rspHi: number,
  ): number {
    const c = this.cpu;
    const rc = c.enterHandler(cs, ripLo, ss, rspLo);
    if (rc !== 0) return rc;
    c.lm.ripHi = ripHi | 0;
    c.lm.hi[4] = rspHi | 0;
    return 0;
  }

  /** RIP's high half. */
  get ripHi(): number {
    return this.cpu.lm.ripHi;
  }
  set ripHi(v: number) {
    this.cpu.lm.ripHi = v | 0;
  }

  /** CR2's high half. */
  get cr2Hi(): number {
    return this.cpu.lm.cr2Hi;
  }

  /** The high half of GPR r (0..15). */
  hi(r: number): number {
    return this.cpu.lm.hi[r] >>> 0;
  }

  /** The low half of GPR r (0..15). */
  lo(r: number): number {
    return (r < 8 ? this.cpu.regs[r] : this.cpu.lm.rlo[r - 8]) >>> 0;
  }

  /** Sets GPR r (0..15). */
  setReg(r: number, lo: number, hi: number): void {
    if (r < 8) this.cpu.regs[r] = lo | 0;
    else this.cpu.lm.rlo[r - 8] = lo | 0;
    this.cpu.lm.hi[r] = hi | 0;
  }

  /** Sets FS_BASE. */
  setFsBase(lo: number, hi: number): void {
    this.setMsr(M_FS, lo, hi);
  }

  /** Sets GS_BASE (the active one). */
  setGsBase(lo: number, hi: number): void {
    this.setMsr(M_GS, lo, hi);
  }

  /** Sets KERNEL_GS_BASE (the one swapgs brings in). */
  setGsShadow(lo: number, hi: number): void {
    this.setMsr(M_KGS, lo, hi);
  }

  /** Reads a base: 0 FS, 1 GS, 2 KERNEL_GS, into out[0..1]. */
  getBase(which: number, out: Uint32Array): void {
    const m = this.cpu.lm.msr, s = M_FS + which;
    out[0] = m[2 * s];
    out[1] = m[2 * s + 1];
  }

  private setMsr(slot: number, lo: number, hi: number): void {
    const m = this.cpu.lm.msr;
    m[2 * slot] = lo | 0;
    m[2 * slot + 1] = hi | 0;
  }
}
