/**
 * Emulation of the privileged instructions a PV kernel may leave in place, after they
 * raised #GP(0) at ring 1 (pv_emulate_privileged_op of xen/arch/x86/pv/emul-priv-op.c):
 * hlt (blocks), cli/sti (the upcall mask, when IOPL allows), in/out (denied unless IOPL
 * or the I/O bitmap allow; a domU owns no ports: reads give all ones, the PIT's 0x42/0x43
 * and 0x61 included, since Xen 4.17 emulates them only for domains with X86_EMU_PIT, which
 * libxl never gives a PV domU: pv_pit_handler then answers ~0), clts, mov from/to
 * cr0/cr2/cr3/cr4, mov from/to dr0-7, rdmsr/wrmsr (Xen's PV subset), wbinvd/invd.
 * Anything else returns false and the #GP is bounced to the guest.
 * @module
 */
import { ENODEV, TRC_PV_EMULATE_PRIVOP, VI_ARCH_CR2 } from "../../abi/mod.ts";
import { VMASST_TYPE_architectural_iopl } from "../../abi/mod.ts";
import { R_EAX, R_EBX, R_ECX, R_EDI, R_EDX, R_ESI } from "../machine/cpu_port.ts";
import { newBaseptr } from "../../paging/mod.ts";
import { translatedNewBaseptr } from "../pv/mmu_translated.ts";
import { applyFlushes } from "../machine/flush.ts";
import { doFpuTaskswitch, doSetDebugreg, readDebugreg, X86_CR4_DE } from "../pv/misc_hypercalls.ts";
import { DR6_BS, ioBreakpointHits, mergeDr6, VEC_DB, VEC_UD } from "../../cpu/mod.ts";
import { injectException } from "./bounce.ts";
import { pvCpuid } from "./cpuid_policy.ts";
import type { Vcpu } from "../domain/vcpu.ts";

/** CR0 as a PV guest reads it: PE MP ET NE WP AM PG (TS comes from the guest's own view). */
export const GUEST_CR0 = 0x80050033;
/** CR4 as a PV guest reads it: PAE OSFXSR OSXMMEXCPT. */
export const GUEST_CR4 = 0x620;
/** MSRs a PV guest may read, with their values. */
const MSR_TSC = 0x10, MSR_PLATFORM_ID = 0x17, MSR_MISC_ENABLE = 0x1a0;
/** IA32_UCODE_REV (AMD: PATCHLEVEL): Xen gives a domU 0 and ignores a write of 0. */
const MSR_UCODE_REV = 0x8b;
const MSR_EFER = 0xc0000080;
/** MSR_DEBUGCTL (reads as zero: no LBR/BTF for a PV guest), MSR_INTEL_PLATFORM_INFO. */
const MSR_DEBUGCTL = 0x1d9, MSR_PLATFORM_INFO = 0xce;
/** MSR_INTEL_MISC_FEATURES_ENABLES (bit 0: CPUID faulting). */
const MSR_MISC_FEATURES_ENABLES = 0x140;
/** More of guest_rdmsr / read_msr's PV answers (an Intel policy). */
const MSR_FEATURE_CONTROL = 0x3a, MSR_APIC_BASE = 0x1b, MSR_CR_PAT = 0x277;
const MSR_PERF_STATUS = 0x198, MSR_PERF_CTL = 0x199, MSR_THERM_STATUS = 0x19c;
const MSR_PERF_CAPABILITIES = 0x345;
/** PLATFORM_INFO.CPUID_FAULTING (bit 31): Xen offers CPUID faulting to PV guests. */
const PLATFORM_INFO_CPUID_FAULTING = 0x80000000;
/** EFER.NXE as a 32-bit PV guest sees it. */
const GUEST_EFER = 0x800;
/** EFER as a 64-bit PV guest sees it: SCE, LME, LMA, NXE. */
const GUEST_EFER_64 = 0xd01;

const insn = new Uint8Array(16);
const cpuidOut = new Int32Array(4);

/** Delivers #UD for the instruction (x86emul's ud_fault); the emulation is done. */
function injectUd(v: Vcpu): boolean {
  injectException(v, VEC_UD, -1);
  emulDb = -1;
  return true;
}

/** Whether the guest's privilege allows IOPL-sensitive instructions (iopl_ok). */
export function ioplOk(v: Vcpu): boolean {
  const kernel = v.pv64 !== null ? v.pv64.kernelMode : v.cpu.cpl !== 3;
  const cpl = kernel ? (v.domain.vmAssist & (1 << VMASST_TYPE_architectural_iopl) ? 0 : 1) : 3;
  return cpl <= v.iopl;
}

/** guest_io_okay: IOPL, else the guest's I/O bitmap (a clear bit permits). */
export function ioOkay(v: Vcpu, port: number, bytes: number): boolean {
  if (ioplOk(v)) return true;
  if (port + bytes > v.iobitmapPorts) return false;
  for (let p = port; p < port + bytes; p++) {
    const b = new Uint8Array(1);
    if (!v.access.copyFromGuest(v.iobitmapVa + (p >>> 3), b)) return false;
    if (b[0] & (1 << (p & 7))) return false;
  }
  return true;
}

/**
 * After an emulated I/O instruction: a #DB trap when it matched an I/O breakpoint
 * (check_guest_io_breakpoint: only with CR4.DE and emulated DR7 enables).
 */
function ioDone(v: Vcpu, ok: boolean, port: number, size: number): boolean {
  if (v.dr7Emul === 0 || (v.guestCr4 & X86_CR4_DE) === 0) return ok;
  emulDb |= ioBreakpointHits(v.debugreg, (v.debugreg[7] & ~0xff) | v.dr7Emul, port, size);
  return ok;
}

/** DR6 bits the instruction being emulated raised (I/O breakpoints); -1: it faulted. */
let emulDb = 0;

/**
 * After an emulated instruction (pv_emul_instruction_done, and emulate_privileged_op's
 * bpmatch): a #DB trap with its I/O breakpoint bits, plus BS when EFLAGS.TF was set.
 * @param tf whether TF was set when the instruction began
 */
export function retireEmulated(v: Vcpu, tf: boolean): void {
  let bits = emulDb;
  emulDb = 0;
  if (bits < 0) return; // an exception was delivered instead
  if (tf) bits |= DR6_BS;
  if (bits === 0) return;
  v.debugreg[6] = mergeDr6(v.debugreg[6], bits);
  v.loadDebugRegs();
  injectException(v, VEC_DB, -1);
}

/**
 * Tries to emulate the instruction at eip that raised #GP(0).
 * @returns true when emulated (eip advanced, or the vcpu blocked); false to bounce #GP
 */
export function emulatePrivilegedOp(v: Vcpu): boolean {
  emulDb = 0;
  const cpu = v.cpu;
  const eip = cpu.eip >>> 0;
  // Fetch what is readable of the next 16 bytes (an instruction may end a page early).
  let len = 16;
  while (len > 0 && !v.access.copyFromGuest(eip, insn.subarray(0, len))) len--;
  if (len === 0) return false;
  let i = 0;
  let o16 = false, rep = false;
  for (; i < len; i++) {
    const b = insn[i];
    if (b === 0x66) o16 = true;
    else if (b === 0xf3 || b === 0xf2) rep = true;
    else if (b === 0x67 || b === 0xf0 || b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) {
      continue;
    } else if (b === 0x64 || b === 0x65) continue;
    else break;
  }
  if (i >= len) return false;
  const op = insn[i++];
  const t = v.domain.host.tracer;
  if (t.on) t.rec(TRC_PV_EMULATE_PRIVOP, 1, eip, 0, 0, 0, 0, 0);
  const done = (n: number) => {
    cpu.eip = (eip + n) >>> 0;
    return true;
  };
  const r = cpu.gpr;
  const kernel = cpu.cpl !== 3;
  switch (op) {
    case 0xf4: // hlt: block until an event is pending
      if (!kernel) return false;
      done(i);
      v.blocked = true;
      cpu.stop();
      return true;
    case 0xfa:
    case 0xfb:
      if (!ioplOk(v)) return false;
      v.setUpcallMask(op === 0xfa);
      return done(i);
    case 0xe4:
    case 0xe5:
    case 0xec:
    case 0xed: {
      const size = op & 1 ? (o16 ? 2 : 4) : 1;
      const port = op < 0xe8 ? insn[i++] : r[R_EDX] & 0xffff;
      if (i > len || !ioOkay(v, port, size)) return false;
      if (size === 1) r[R_EAX] = r[R_EAX] | 0xff;
      else if (size === 2) r[R_EAX] = r[R_EAX] | 0xffff;
      else r[R_EAX] = -1;
      return ioDone(v, done(i), port, size);
    }
    case 0xe6:
    case 0xe7:
    case 0xee:
    case 0xef: {
      const size = op & 1 ? (o16 ? 2 : 4) : 1;
      const port = op < 0xe8 ? insn[i++] : r[R_EDX] & 0xffff;
      if (i > len || !ioOkay(v, port, size)) return false;
      // A domU's writes to ports it does not own are dropped.
      return ioDone(v, done(i), port, size);
    }
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f: {
      const size = op & 1 ? (o16 ? 2 : 4) : 1;
      if (!ioOkay(v, r[R_EDX] & 0xffff, size)) return false;
      const count = rep ? r[R_ECX] >>> 0 : 1;
      const step = (cpu.eflags & 0x400 ? -size : size) * count;
      if (op <= 0x6d) {
        const fill = new Uint8Array(size * count).fill(0xff);
        const dst = step < 0 ? (r[R_EDI] >>> 0) + step + size : r[R_EDI] >>> 0;
        if (count > 0 && !v.access.copyToGuest(dst, fill)) return false;
        r[R_EDI] = (r[R_EDI] + step) | 0;
      } else {
        r[R_ESI] = (r[R_ESI] + step) | 0;
      }
      if (rep) r[R_ECX] = 0;
      return ioDone(v, done(i), r[R_EDX] & 0xffff, size);
    }
    case 0x0f:
      if (i >= len) return false;
      return emulate0f(v, insn[i], i + 1, len, eip, kernel);
    default:
      return false;
  }
}

function emulate0f(
  v: Vcpu,
  op: number,
  i: number,
  len: number,
  eip: number,
  kernel: boolean,
): boolean {
  const cpu = v.cpu;
  const r = cpu.gpr;
  const d = v.domain;
  if (!kernel) return false;
  const done = (n: number) => {
    cpu.eip = (eip + n) >>> 0;
    return true;
  };
  switch (op) {
    case 0x06: // clts
      doFpuTaskswitch(v, 0);
      return done(i);
    case 0x08: // invd
    case 0x09: // wbinvd: no cache to flush for a domU (cache_flush_permitted is false)
      return done(i);
    case 0x20:
    case 0x22:
    case 0x21:
    case 0x23: {
      if (i >= len) return false;
      const modrm = insn[i++];
      if ((modrm & 0xc0) !== 0xc0) return false;
      const n = (modrm >>> 3) & 7, rm = modrm & 7;
      if (op === 0x21) {
        const val = readDebugreg(v, n);
        if (val < 0) return injectUd(v);
        r[rm] = val | 0;
        return done(i);
      }
      if (op === 0x23) {
        // x86emul_write_dr: -ENODEV is #UD, any other failure #GP(0).
        const rc = doSetDebugreg(v, n, r[rm] >>> 0);
        if (rc === -ENODEV) return injectUd(v);
        return rc === 0 ? done(i) : false;
      }
      if (op === 0x20) {
        const mem = d.host.mem;
        switch (n) {
          case 0:
            r[rm] = (GUEST_CR0 | (v.guestTs ? 8 : 0)) | 0;
            return done(i);
          case 2:
            r[rm] = mem.dv.getUint32(v.vcpuInfoMaddr + VI_ARCH_CR2, true) | 0;
            return done(i);
          case 3: {
            const w = d.mm.walkers[v.id];
            // A translated guest's cr3 is the guest-physical address of its L3.
            const mfn = (d.mm.translated ? Math.max(w.cr3, 0) / 4096 : d.mm.baseMfn[v.id]) >>> 0;
            r[rm] = ((mfn << 12) | (mfn >>> 20)) | 0; // xen_pfn_to_cr3
            return done(i);
          }
          case 4:
            r[rm] = GUEST_CR4 | v.guestCr4;
            return done(i);
          default:
            return false;
        }
      }
      const val = r[rm] >>> 0;
      switch (n) {
        case 0:
          if (((val ^ GUEST_CR0) & ~8) !== 0) return false; // only TS may change
          doFpuTaskswitch(v, val & 8);
          return done(i);
        case 2:
          v.setCr2(val);
          return done(i);
        case 3: {
          const mfn = ((val >>> 12) | (val << 20)) >>> 0; // xen_cr3_to_pfn
          const rc = d.mm.translated
            ? translatedNewBaseptr(d, v.id, mfn)
            : newBaseptr(d.mm, v.id, mfn);
          if (rc !== 0) return false;
          applyFlushes(d);
          v.syncCr3();
          return done(i);
        }
        case 4:
          // pv_fixup_guest_cr4: the guest controls DE (TSD is not modelled and reads
          // back clear); every other bit is Xen's and writes to it are discarded.
          v.guestCr4 = val & X86_CR4_DE;
          v.loadDebugRegs();
          return done(i);
        default:
          return false;
      }
    }
    case 0x30: // wrmsr
      return pvWrmsr(v, r[R_ECX] >>> 0, r[R_EAX] >>> 0, r[R_EDX] >>> 0) ? done(i) : false;
    case 0xa2: { // cpuid with faulting on: the kernel's is emulated
      pvCpuid(r[R_EAX] >>> 0, r[R_ECX] >>> 0, cpuidOut);
      for (let k = 0; k < 4; k++) r[[R_EAX, R_EBX, R_ECX, R_EDX][k]] = cpuidOut[k];
      return done(i);
    }
    case 0x32: { // rdmsr
      if (!pvRdmsr(v, r[R_ECX] >>> 0, msrOut)) return false;
      r[R_EAX] = msrOut[0] | 0;
      r[R_EDX] = msrOut[1] | 0;
      return done(i);
    }
    default:
      return false;
  }
}

const msrOut = new Uint32Array(2);

/**
 * guest_rdmsr's answers for a PV domU (Xen's PV subset, an Intel policy).
 * @param out receives (lo, hi)
 * @returns false for an MSR a PV guest may not read (#GP)
 */
export function pvRdmsr(v: Vcpu, msr: number, out: Uint32Array): boolean {
  let lo = 0, hi = 0;
  switch (msr) {
    case MSR_TSC: {
      const tsc = v.domain.host.clock.tsc();
      lo = tsc % 2 ** 32;
      hi = Math.floor(tsc / 2 ** 32);
      break;
    }
    case MSR_PLATFORM_ID:
    case MSR_UCODE_REV:
      break;
    case MSR_MISC_ENABLE:
      lo = 0x1; // fast strings
      break;
    case MSR_EFER:
      lo = v.pv64 !== null ? GUEST_EFER_64 : GUEST_EFER;
      break;
    case MSR_DEBUGCTL:
      break;
    case MSR_PLATFORM_INFO:
      lo = PLATFORM_INFO_CPUID_FAULTING;
      break;
    case MSR_MISC_FEATURES_ENABLES:
      lo = v.cpuidFaulting ? 1 : 0;
      break;
    case MSR_FEATURE_CONTROL: // Intel: locked, no VMX outside SMX
      lo = 1;
      break;
    case MSR_APIC_BASE: // what Linux PV guests read: enabled, default base, BSP on vcpu 0
      lo = 0xfee00800 | (v.id === 0 ? 0x100 : 0);
      break;
    case MSR_CR_PAT: // XEN_MSR_PAT
      lo = 0x00070406;
      hi = 0x0501;
      break;
    case MSR_PERF_STATUS: // read-as-zero for a domU (no cpufreq control)
    case MSR_PERF_CTL:
    case MSR_THERM_STATUS:
    case MSR_PERF_CAPABILITIES:
      break;
    default:
      return false;
  }
  out[0] = lo >>> 0;
  out[1] = hi >>> 0;
  return true;
}

/**
 * guest_wrmsr's accepted writes for a PV domU: the value already there (EFER,
 * DEBUGCTL), and MISC_FEATURES_ENABLES.CPUID_FAULTING.
 * @returns false for a write Xen refuses (#GP)
 */
export function pvWrmsr(v: Vcpu, msr: number, lo: number, hi: number): boolean {
  const efer = v.pv64 !== null ? GUEST_EFER_64 : GUEST_EFER;
  if (msr === MSR_EFER && lo === efer && hi === 0) return true;
  if (msr === MSR_DEBUGCTL && lo === 0 && hi === 0) return true;
  if (msr === MSR_UCODE_REV && lo === 0 && hi === 0) return true; // the "read the revision" write
  if (msr === MSR_MISC_FEATURES_ENABLES && (lo & ~1) === 0 && hi === 0) {
    v.cpuidFaulting = lo === 1;
    v.cpu.cpuidFaulting = v.cpuidFaulting;
    return true;
  }
  return false;
}
