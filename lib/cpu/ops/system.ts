/**
 * System instructions: control/debug registers, descriptor-table registers (lgdt, lldt,
 * ltr...), MSRs, cpuid, rdtsc, and the descriptor queries lar/lsl/verr/verw. The
 * privileged ones raise #GP(0) at CPL > 0 for the platform to emulate.
 * @module
 */

import type { CpuCore as Cpu } from "../core.ts";
import { F_ZF, materialize } from "../flags.ts";
import { VEC_GP, VEC_UD } from "../platform.ts";
import { readLongMsr, writeLongMsr } from "../long/msr64.ts";
import {
  A_CODE,
  A_DC,
  A_P,
  A_RW,
  A_S,
  descAttrs,
  descBase,
  descLimit,
  dplOf,
  readDescriptor,
} from "../segmentation.ts";

/** IA32_EFER. */
export const MSR_EFER = 0xc0000080;
/** IA32_TIME_STAMP_COUNTER. */
export const MSR_TSC = 0x10;

const cpuidOut = new Int32Array(4);
const msrOut = new Int32Array(2);

/** Raises #GP(0) unless CPL is 0. */
export function requireCpl0(c: Cpu): void {
  if (c.cpl !== 0) c.raise(VEC_GP, 0);
}

/** mov crN, value. */
export function writeCr(c: Cpu, n: number, v: number): void {
  switch (n) {
    case 0:
      c.cr0 = v | 0x10;
      c.flushTlb();
      return;
    case 2:
      c.cr2 = v;
      return;
    case 3:
      c.cr3 = v;
      c.flushTlb();
      return;
    case 4:
      c.cr4 = v;
      c.flushTlb();
      return;
    default:
      c.raise(VEC_UD, -1);
  }
}

/** mov value, crN. */
export function readCr(c: Cpu, n: number): number {
  switch (n) {
    case 0:
      return c.cr0;
    case 2:
      return c.cr2;
    case 3:
      return c.cr3;
    case 4:
      return c.cr4;
    default:
      return c.raise(VEC_UD, -1);
  }
}

/** Index into c.dr for DRn (DR4/DR5 alias DR6/DR7 unless CR4.DE, which makes them #UD). */
export function drIndex(c: Cpu, n: number): number {
  if (n === 4 || n === 5) {
    if ((c.cr4 & 8) !== 0) c.raise(VEC_UD, -1);
    return n + 2;
  }
  return n;
}

/** rdmsr: ECX -> EDX:EAX; unknown MSRs read as 0. */
export function rdmsr(c: Cpu): void {
  const idx = c.regs[1] >>> 0;
  if (idx === MSR_TSC) {
    rdtsc(c);
    return;
  }
  if (readLongMsr(c, idx, msrOut)) {
    c.regs[0] = msrOut[0];
    c.regs[2] = msrOut[1];
    return;
  }
  const v = c.msrs.get(idx);
  c.regs[0] = v ? v[0] : 0;
  c.regs[2] = v ? v[1] : 0;
}

/** wrmsr: EDX:EAX -> MSR[ECX] (EFER and the IA-32e MSRs with their checks, long/msr64.ts). */
export function wrmsr(c: Cpu): void {
  const idx = c.regs[1] >>> 0;
  if (writeLongMsr(c, idx, c.regs[0], c.regs[2])) return;
  c.msrs.set(idx, [c.regs[0], c.regs[2]]);
}

/** rdtsc from the platform (#GP(0) at CPL > 0 when CR4.TSD). */
export function rdtsc(c: Cpu): void {
  if ((c.cr4 & 4) !== 0 && c.cpl !== 0) c.raise(VEC_GP, 0);
  const t = c.platform.rdtsc();
  c.regs[0] = t % 4294967296;
  c.regs[2] = Math.floor(t / 4294967296);
}

/** cpuid from the platform. */
export function cpuid(c: Cpu): void {
  const r = c.regs;
  cpuidOut.fill(0);
  c.platform.cpuid(r[0] >>> 0, r[1] >>> 0, cpuidOut);
  r[0] = cpuidOut[0];
  r[3] = cpuidOut[1];
  r[1] = cpuidOut[2];
  r[2] = cpuidOut[3];
}

/** lldt: loads LDTR from a GDT LDT descriptor (type 2). */
export function lldt(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    c.ldtSel = sel;
    c.ldtBase = 0;
    c.ldtLimit = 0;
    return;
  }
  if ((sel & 4) !== 0 || !readDescriptor(c, sel)) c.raise(VEC_GP, sel & 0xfffc);
  const a = descAttrs(c.desc[1]);
  if ((a & (A_S | 0xf)) !== 2) c.raise(VEC_GP, sel & 0xfffc);
  if ((a & A_P) === 0) c.raise(11, sel & 0xfffc);
  c.ldtSel = sel;
  c.ldtBase = descBase(c.desc[0], c.desc[1]);
  c.ldtLimit = descLimit(c.desc[0], c.desc[1]);
}

/** ltr: loads TR from an available TSS descriptor (type 1 or 9) and marks it busy. */
export function ltr(c: Cpu, sel: number): void {
  if ((sel & 0xfffc) === 0) c.raise(VEC_GP, 0);
  if ((sel & 4) !== 0 || !readDescriptor(c, sel)) c.raise(VEC_GP, sel & 0xfffc);
  const a = descAttrs(c.desc[1]);
  const t = a & (A_S | 0xf);
  if (t !== 1 && t !== 9) c.raise(VEC_GP, sel & 0xfffc);
  if ((a & A_P) === 0) c.raise(11, sel & 0xfffc);
  c.trSel = sel;
  c.trBase = descBase(c.desc[0], c.desc[1]);
  c.trLimit = descLimit(c.desc[0], c.desc[1]);
}

/**
 * lar/lsl/verr/verw: reads the descriptor if visible at CPL/RPL; sets ZF.
 * @param kind 0 lar, 1 lsl, 2 verr, 3 verw
 * @returns the access rights (lar) or limit (lsl), or null when ZF is cleared
 */
export function queryDescriptor(c: Cpu, sel: number, kind: number): number | null {
  let ok = false;
  let out = 0;
  if ((sel & 0xfffc) !== 0) {
    if (readDescriptor(c, sel)) {
      const a = descAttrs(c.desc[1]);
      const dpl = dplOf(a);
      const conforming = (a & (A_S | A_CODE | A_DC)) === (A_S | A_CODE | A_DC);
      const visible = conforming || (dpl >= c.cpl && dpl >= (sel & 3));
      if ((a & A_S) !== 0) {
        if (kind === 0 || kind === 1) ok = visible;
        else if (kind === 2) ok = ((a & A_CODE) === 0 || (a & A_RW) !== 0) && visible;
        else ok = (a & A_CODE) === 0 && (a & A_RW) !== 0 && visible;
      } else {
        const t = a & 0xf;
        // LDT, TSS (avail/busy 16/32) for both; call gates and task gates for lar only.
        const sysOk = kind === 1
          ? t === 1 || t === 2 || t === 3 || t === 9 || t === 11
          : kind === 0 && (t === 1 || t === 2 || t === 3 || t === 4 || t === 5 || t === 9 ||
            t === 11 || t === 12);
        ok = sysOk && dpl >= c.cpl && dpl >= (sel & 3);
      }
      if (ok) {
        out = kind === 0 ? c.desc[1] & 0x00f0ff00 : descLimit(c.desc[0], c.desc[1]);
      }
    }
  }
  const f = materialize(c);
  c.flags = ok ? f | F_ZF : f & ~F_ZF;
  return ok ? out : null;
}
