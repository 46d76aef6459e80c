/**
 * The hypervisor side of the CPU's Platform for one PV vcpu (Xen's entry points for a
 * 32-bit PV guest): `int $0x82` from ring 1 is a hypercall; `int n` passes the virtual
 * IDT's DPL check or becomes #GP(n*8+2); #GP(0) tries privileged-op emulation; #UD
 * checks the forced-emulation prefix (cpuid); #NM does the lazy-FPU dance; everything
 * else is bounced to the guest's trap table. cpuid and rdtsc follow pvx's policies.
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
import { HYPERCALL_VECTOR, X86_EFLAGS_TF } from "../../abi/mod.ts";
import { R_EAX, R_EBX, R_ECX, R_EDX } from "./cpu_port.ts";
import { pvHypercall } from "../hypercalls/dispatch.ts";
import { TRC_PV_FORCED_INVALID_OP, TRC_PV_MATH_STATE_RESTORE } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { injectException, injectSoftInt } from "../traps/bounce.ts";
import { pvCpuid } from "../traps/cpuid_policy.ts";
import { emulatePrivilegedOp, retireEmulated } from "../traps/emulate_priv_op.ts";
import { deliverEvents } from "../traps/events.ts";
import { ptwrPageFault } from "../traps/ro_page_fault.ts";

/** ud2; .ascii "xen" — Xen's forced-emulation prefix, followed by cpuid (0f a2). */
/** ud2; .ascii "xen" — Xen's forced-emulation prefix, followed by cpuid (0f a2). */
const FORCED_PREFIX = [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2];

/** Whether the 7 bytes at the faulting instruction are the forced-emulation cpuid. */
export function isForcedCpuid(bytes: Uint8Array): boolean {
  for (let i = 0; i < 7; i++) if (bytes[i] !== FORCED_PREFIX[i]) return false;
  return true;
}

/**
 * do_device_not_available: with the guest's virtual TS set, TS is cleared and the #NM is
 * the guest's to handle; otherwise it was pvx's lazy FPU switch and the instruction
 * simply runs again.
 * @returns whether the #NM goes to the guest
 */
export function deviceNotAvailable(v: Vcpu): boolean {
  v.cpu.ts = false;
  if (v.guestTs) {
    v.guestTs = false;
    return true;
  }
  const t = v.domain.host.tracer;
  if (t.on) t.rec(TRC_PV_MATH_STATE_RESTORE, 0, 0, 0, 0, 0, 0, 0);
  return false;
}

/** Platform of one vcpu. */
export class PvPlatform implements Platform {
  /** The vcpu. */
  readonly v: Vcpu;
  private readonly out = new Int32Array(4);
  private readonly prefix = new Uint8Array(7);

  /** @param v the vcpu */
  constructor(v: Vcpu) {
    this.v = v;
  }

  /** @inheritdoc */
  exception(vector: number, errorCode: number, kind: number): void {
    const v = this.v;
    const cpu = v.cpu;
    // A #DB from the CPU's debug unit: its DR6 is what the guest reads (do_debug).
    if (vector === VEC_DB) v.debugreg[6] = cpu.dr6;
    if (kind === EXC_SOFTINT) {
      if (vector === HYPERCALL_VECTOR && cpu.cpl === 1) {
        pvHypercall(v);
        deliverEvents(v);
        return;
      }
      // permit_softint: the gate's DPL against the guest's ring (1 for the kernel).
      const dpl = (v.trapFlagsCs[vector] >>> 16) & 3;
      if (dpl >= (cpu.cpl === 3 ? 3 : 1)) {
        injectSoftInt(v, vector);
        return;
      }
      cpu.eip = (cpu.eip - 2) >>> 0; // the #GP reports the int instruction itself
      injectException(v, VEC_GP, (vector << 3) | 2);
      return;
    }
    if (kind !== EXC_FAULT) {
      injectException(v, vector, -1);
      return;
    }
    switch (vector) {
      case VEC_GP: {
        const tf = (cpu.eflags & X86_EFLAGS_TF) !== 0;
        if (errorCode === 0 && emulatePrivilegedOp(v)) {
          retireEmulated(v, tf);
          deliverEvents(v);
          return;
        }
        injectException(v, VEC_GP, errorCode);
        return;
      }
      case VEC_UD:
        if (this.forcedCpuid()) return;
        injectException(v, VEC_UD, -1);
        return;
      case VEC_NM:
        if (deviceNotAvailable(v)) injectException(v, VEC_NM, -1);
        return;
      case VEC_PF:
        if (ptwrPageFault(v, cpu.cr2, errorCode)) return;
        injectException(v, VEC_PF, errorCode, cpu.cr2);
        return;
      default:
        injectException(v, vector, errorCode);
    }
  }

  /** The forced-emulation prefix at eip: emulates cpuid and skips the 7 bytes. */
  private forcedCpuid(): boolean {
    const v = this.v;
    const eip = v.cpu.eip >>> 0;
    if (!v.access.copyFromGuest(eip, this.prefix)) return false;
    if (!isForcedCpuid(this.prefix)) return false;
    if (v.cpuidFaulting && v.cpu.cpl === 3) {
      // CPUID faulting: #GP at the cpuid itself (after the signature) instead of emulation.
      v.cpu.eip = (eip + 5) >>> 0;
      injectException(v, VEC_GP, 0);
      return true;
    }
    const r = v.cpu.gpr;
    const t = v.domain.host.tracer;
    if (t.on) t.rec(TRC_PV_FORCED_INVALID_OP, 1, eip, 0, 0, 0, 0, 0);
    pvCpuid(r[R_EAX] >>> 0, r[R_ECX] >>> 0, this.out);
    r[R_EAX] = this.out[0];
    r[R_EBX] = this.out[1];
    r[R_ECX] = this.out[2];
    r[R_EDX] = this.out[3];
    v.cpu.eip = (eip + 7) >>> 0;
    if ((v.cpu.eflags & X86_EFLAGS_TF) !== 0) retireEmulated(v, true); // instruction done
    return true;
  }

  /** @inheritdoc */
  cpuid(leaf: number, subleaf: number, out: Int32Array): void {
    pvCpuid(leaf, subleaf, out);
  }

  /** @inheritdoc */
  rdtsc(): number {
    return this.v.domain.host.clock.tsc();
  }
}
