/**
 * The hypervisor side of the CPU's Platform for one 64-bit PV vcpu (Xen's x86_64 entry
 * points): `syscall` from guest kernel mode is a hypercall, from guest user mode a bounce
 * to the syscall callback (toggling to kernel mode); `int n` passes the virtual IDT's
 * DPL check or becomes #GP(n*8+2); #GP(0) tries privileged-op emulation; #UD checks the
 * forced-emulation prefix (cpuid); #NM does the lazy-FPU dance; #PF and everything else
 * is bounced through the virtual IDT in 64-bit frames.
 * @module
 */
import {
  EXC_FAULT,
  EXC_SOFTINT,
  type Platform,
  VEC_DB,
  VEC_GP,
  VEC_NM,
  VEC_PF,
  VEC_UD,
} from "../../cpu/mod.ts";
import { TRC_64_FLAG, TRC_PV_FORCED_INVALID_OP } from "../../abi/mod.ts";
import { FLAT_RING3_CS32, FLAT_RING3_CS64, FLAT_RING3_SS64, X86_EFLAGS_TF } from "../../abi/mod.ts";

/** CS.L (descriptor bit 53) in the CPU's segment attributes. */
const ATTR_L = 0x2000;
import { S_CS, S_SS } from "./cpu_port.ts";
import { deviceNotAvailable, isForcedCpuid } from "./pv_platform.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { pvCpuid } from "../traps/cpuid_policy.ts";
import { pvHypercall64 } from "../pv64/dispatch64.ts";
import { bounceWith, deliverEvents64, injectException64, scratchRegs } from "../pv64/traps64.ts";
import { syscallFromUser64 } from "../pv64/bounce64.ts";
import { isSysenter, sysenterBounce64 } from "../pv64/sysenter64.ts";
import { emulatePrivilegedOp64 } from "../pv64/emulate_priv_op64.ts";
import { addrOf } from "../pv64/guest_access64.ts";
import { ptwrPageFault64 } from "../pv64/ro_page_fault64.ts";

/** Platform of one 64-bit vcpu. */
export class Pv64Platform implements Platform {
  /** The vcpu. */
  readonly v: Vcpu;
  private readonly out = new Int32Array(4);
  private readonly prefix = new Uint8Array(7);
  private readonly ud = new Uint32Array(3);
  private readonly two = new Uint8Array(2);

  /** @param v the vcpu */
  constructor(v: Vcpu) {
    this.v = v;
  }

  /** @inheritdoc */
  syscall(): void {
    const v = this.v, c = v.cpu64!;
    // lstar_enter records FLAT_KERNEL_CS64/SS64 (FLAT_USER_*, the same selectors) as the
    // guest's cs and ss whatever they were, and sysret returns on them; cstar_enter (a
    // compatibility-mode syscall) records FLAT_USER_CS32/SS32
    const cs = (c.cpu.segAttr[S_CS] & ATTR_L) !== 0 ? FLAT_RING3_CS64 : FLAT_RING3_CS32;
    if (v.cpu.getSeg(S_CS) !== cs || v.cpu.getSeg(S_SS) !== FLAT_RING3_SS64) {
      c.enter64(cs, v.cpu.eip, c.ripHi, FLAT_RING3_SS64, c.lo(4), c.hi(4));
    }
    if (v.pv64!.kernelMode) {
      pvHypercall64(v);
      deliverEvents64(v);
      return;
    }
    const p = v.pv64!, r = scratchRegs;
    v.cpu64!.save(r);
    const ud = this.ud;
    ud[0] = p.trapAddr[12];
    ud[1] = p.trapAddr[13];
    ud[2] = p.trapFlagsCs[6] >>> 16;
    bounceWith(v, r, (tb, iopl) => syscallFromUser64(p, r, tb, ud, iopl));
  }

  /** @inheritdoc */
  exception(vector: number, errorCode: number, kind: number): void {
    const v = this.v;
    const cpu = v.cpu;
    if (vector === VEC_DB) v.debugreg[6] = cpu.dr6;
    if (kind === EXC_SOFTINT) {
      // permit_softint: the gate's DPL against the guest's mode (kernel counts as ring 1)
      const dpl = (v.pv64!.trapFlagsCs[vector] >>> 16) & 3;
      if (dpl >= (v.pv64!.kernelMode ? 1 : 3)) {
        injectException64(v, vector, -1);
        return;
      }
      const lo = cpu.eip >>> 0;
      if (lo < 2) v.cpu64!.ripHi = v.cpu64!.ripHi - 1;
      cpu.eip = (lo - 2) >>> 0; // the #GP reports the int instruction itself
      injectException64(v, VEC_GP, (vector << 3) | 2);
      return;
    }
    if (kind !== EXC_FAULT) {
      injectException64(v, vector, -1);
      return;
    }
    switch (vector) {
      case VEC_GP:
        if (errorCode === 0 && emulatePrivilegedOp64(v)) {
          deliverEvents64(v);
          return;
        }
        injectException64(v, VEC_GP, errorCode);
        return;
      case VEC_UD:
        if (this.forcedCpuid() || this.sysenter()) return;
        injectException64(v, VEC_UD, -1);
        return;
      case VEC_NM:
        if (deviceNotAvailable(v)) injectException64(v, VEC_NM, -1);
        return;
      case VEC_PF: {
        const lo = cpu.cr2 >>> 0, hi = v.cpu64!.cr2Hi;
        if (ptwrPageFault64(v, lo, hi, errorCode)) return;
        injectException64(v, VEC_PF, errorCode, lo, hi);
        return;
      }
      default:
        injectException64(v, vector, errorCode);
    }
  }

  /** sysenter at rip (Intel: valid in IA-32e mode): Xen's sysenter_entry bounce. */
  private sysenter(): boolean {
    const v = this.v, c = v.cpu64!;
    if (!v.access.copyFromGuest(addrOf(v.cpu.eip >>> 0, c.ripHi), this.two)) return false;
    if (!isSysenter(this.two[0], this.two[1])) return false;
    const p = v.pv64!, r = scratchRegs;
    c.save(r);
    bounceWith(v, r, (tb, iopl) => sysenterBounce64(p, r, tb, iopl));
    return true;
  }

  /** The forced-emulation prefix at rip: emulates cpuid and skips the 7 bytes. */
  private forcedCpuid(): boolean {
    const v = this.v, c = v.cpu64!;
    const lo = v.cpu.eip >>> 0, hi = c.ripHi;
    if (!v.access.copyFromGuest(addrOf(lo, hi), this.prefix)) return false;
    if (!isForcedCpuid(this.prefix)) return false;
    if (v.cpuidFaulting && !v.pv64!.kernelMode) {
      // CPUID faulting: #GP at the cpuid itself (after the signature)
      advance(v, 5);
      injectException64(v, VEC_GP, 0);
      return true;
    }
    const t = v.domain.host.tracer;
    if (t.on) t.rec(TRC_PV_FORCED_INVALID_OP | TRC_64_FLAG, 2, lo, hi, 0, 0, 0, 0);
    pvCpuid(c.lo(0), c.lo(1), this.out, 64);
    c.setReg(0, this.out[0] >>> 0, 0);
    c.setReg(3, this.out[1] >>> 0, 0);
    c.setReg(1, this.out[2] >>> 0, 0);
    c.setReg(2, this.out[3] >>> 0, 0);
    advance(v, 7);
    if ((v.cpu.eflags & X86_EFLAGS_TF) !== 0) injectException64(v, VEC_DB, -1);
    return true;
  }

  /** @inheritdoc */
  cpuid(leaf: number, subleaf: number, out: Int32Array): void {
    pvCpuid(leaf, subleaf, out, 64);
  }

  /** @inheritdoc */
  rdtsc(): number {
    return this.v.domain.host.clock.tsc();
  }
}

/** Moves rip forward by n bytes (carrying into the high half). */
export function advance(v: Vcpu, n: number): void {
  const lo = (v.cpu.eip >>> 0) + n;
  if (lo > 0xffffffff) v.cpu64!.ripHi = v.cpu64!.ripHi + 1;
  v.cpu.eip = lo >>> 0;
}
