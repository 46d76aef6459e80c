/**
 * syscall / sysret (SDM vol. 2; AMD APM vol. 3), swapgs and rdtscp. `syscall` goes to
 * `Platform.syscall` when the platform has one (a PV hypervisor: RCX and R11 written as
 * the hardware would, nothing else changed); otherwise it is the architectural transfer
 * to STAR's ring-0 selectors at LSTAR (CSTAR from compatibility mode) with RFLAGS masked
 * by SFMASK. The flat segments these instructions load carry fixed attributes, not the
 * descriptors in the GDT (as the hardware does).
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_RF, F_VM, getEflagsOf, setEflagsOf } from "../flags.ts";
import { VEC_GP, VEC_UD } from "../platform.ts";
import { D } from "./decode64.ts";
import {
  canonicalHi,
  EFER_SCE,
  M_CSTAR,
  M_GS_BASE,
  M_KERNEL_GS_BASE,
  M_LSTAR,
  M_SFMASK,
  M_STAR,
  M_TSC_AUX,
} from "./long_state.ts";
import { syncSegBases } from "./msr64.ts";
import { SYS } from "./sys_flags.ts";

const CS = 1, SS = 2;

/** Attributes of syscall's CS (64-bit, DPL 0, execute/read, accessed) and SS (data, DPL 0). */
export const ATTR_SYS_CS64 = 0xa09b, ATTR_SYS_SS = 0xc093;
/** Attributes of sysret's CS: 64-bit or compatibility (32-bit), DPL 3. */
export const ATTR_USER_CS64 = 0xa0fb, ATTR_USER_CS32 = 0xc0fb;
/** Attributes of sysret's SS (data, DPL 3). */
export const ATTR_USER_SS = 0xc0f3;

/**
 * syscall from 64-bit (`compat` false) or compatibility mode, RIP already past it.
 * RCX = next RIP, R11 = RFLAGS; then the platform, or the architectural transfer.
 */
export function syscall(c: CpuCore, compat: boolean): void {
  const p = c.platform;
  const h = c.lm.hi;
  if (p.syscall === undefined && (c.efer & EFER_SCE) === 0) c.raise(VEC_UD, -1);
  const fl = getEflagsOf(c);
  c.regs[1] = c.eip;
  h[1] = c.lm.ripHi;
  c.lm.rlo[3] = fl; // R11
  h[11] = 0;
  if (p.syscall !== undefined) {
    // The platform took the instruction over: it also decides about a TF trap.
    SYS.softInt = true;
    p.syscall();
    syncSegBases(c);
    return;
  }
  const m = c.lm.msr;
  const sel = (m[M_STAR * 2 + 1] & 0xffff) & 0xfffc;
  c.setSegmentRaw(CS, sel, 0, -1, ATTR_SYS_CS64);
  c.setSegmentRaw(SS, (sel + 8) & 0xffff, 0, -1, ATTR_SYS_SS);
  const slot = compat ? M_CSTAR : M_LSTAR;
  c.eip = m[slot * 2];
  c.lm.ripHi = m[slot * 2 + 1];
  setEflagsOf(c, fl & ~m[M_SFMASK * 2] & ~F_RF);
}

/**
 * sysret (0F 07) in 64-bit mode: #UD without EFER.SCE, #GP(0) at CPL != 0 or (REX.W) on a
 * non-canonical RCX; to 64-bit code with REX.W, else to compatibility code at ECX.
 */
export function sysret(c: CpuCore): void {
  if ((c.efer & EFER_SCE) === 0) c.raise(VEC_UD, -1);
  if (c.cpl !== 0) c.raise(VEC_GP, 0);
  const wide = (D.rex & 8) !== 0;
  const h = c.lm.hi;
  if (wide && !canonicalHi(h[1])) c.raise(VEC_GP, 0);
  const base = (c.lm.msr[M_STAR * 2 + 1] >>> 16) & 0xffff;
  const r11 = c.lm.rlo[3];
  if (wide) c.setSegmentRaw(CS, ((base + 16) & 0xfffc) | 3, 0, -1, ATTR_USER_CS64);
  else c.setSegmentRaw(CS, (base & 0xfffc) | 3, 0, -1, ATTR_USER_CS32);
  c.setSegmentRaw(SS, ((base + 8) & 0xfffc) | 3, 0, -1, ATTR_USER_SS);
  c.eip = c.regs[1];
  c.lm.ripHi = wide ? h[1] : 0;
  setEflagsOf(c, (r11 & ~(F_RF | F_VM)) | 2);
}

/** swapgs (0F 01 F8): exchanges GS_BASE and KERNEL_GS_BASE; #GP(0) at CPL != 0. */
export function swapgs(c: CpuCore): void {
  if (c.cpl !== 0) c.raise(VEC_GP, 0);
  syncSegBases(c);
  const m = c.lm.msr, g = M_GS_BASE * 2, k = M_KERNEL_GS_BASE * 2;
  const lo = m[g], hi = m[g + 1];
  m[g] = m[k];
  m[g + 1] = m[k + 1];
  m[k] = lo;
  m[k + 1] = hi;
  syncSegBases(c);
}

/**
 * rdtscp (0F 01 F9): EDX:EAX = TSC, ECX = TSC_AUX, upper halves cleared; #GP(0) at
 * CPL > 0 under CR4.TSD.
 */
export function rdtscp(c: CpuCore): void {
  if ((c.cr4 & 4) !== 0 && c.cpl !== 0) c.raise(VEC_GP, 0);
  const t = c.platform.rdtsc();
  const r = c.regs, h = c.lm.hi;
  r[0] = t % 4294967296;
  r[2] = Math.floor(t / 4294967296);
  r[1] = c.lm.msr[M_TSC_AUX * 2];
  h[0] = h[1] = h[2] = 0;
}
