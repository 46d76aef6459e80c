/**
 * Emulation of the privileged instructions a 64-bit PV guest may leave in place, after
 * they raised #GP(0) at CPL 3 (pv_emulate_privileged_op for a native guest, Xen's
 * emul-priv-op.c): the guest kernel's hlt, clts, wbinvd/invd, mov from/to cr0/cr2/cr3/
 * cr4 and dr0-7, rdmsr/wrmsr (Xen's PV subset plus FS_BASE, GS_BASE and
 * SHADOW_GS_BASE), swapgs, cpuid under CPUID faulting; and, where the virtual IOPL or
 * the I/O bitmap allow, cli/sti (the upcall mask) and in/out (a domU owns no ports:
 * reads give all ones). Anything else returns false and the #GP is bounced.
 * @module
 */
import { ENODEV, TRC_64_FLAG, TRC_PV_EMULATE_PRIVOP } from "../../abi/mod.ts";
import { LAYOUT_X86_64 } from "../../abi/mod.ts";
import { VEC_UD } from "../../cpu/mod.ts";
import { newBaseptr64 } from "../../paging/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { applyFlushes } from "../machine/flush.ts";
import {
  doFpuTaskswitch,
  doSetDebugreg,
  readDebugreg,
  readDebugregHi,
  X86_CR4_DE,
} from "../pv/misc_hypercalls.ts";
import { pvCpuid } from "../traps/cpuid_policy.ts";
import {
  GUEST_CR0,
  GUEST_CR4,
  ioOkay,
  ioplOk,
  pvRdmsr,
  pvWrmsr,
} from "../traps/emulate_priv_op.ts";
import { addrOf } from "./guest_access64.ts";
import { injectException64 } from "./traps64.ts";
import { SB_FS, SB_GS_KERNEL, SB_GS_USER } from "./vcpu64.ts";

const MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101, MSR_SHADOW_GS_BASE = 0xc0000102;
const VI = LAYOUT_X86_64.vcpuInfo;

const insn = new Uint8Array(16);
const msrOut = new Uint32Array(2);
const base = new Uint32Array(2);
const cpuidOut = new Int32Array(4);

/**
 * Tries to emulate the instruction at rip that raised #GP(0).
 * @returns true when emulated (rip advanced, the vcpu blocked, or an exception
 *   delivered instead); false to bounce the #GP
 */
export function emulatePrivilegedOp64(v: Vcpu): boolean {
  const c = v.cpu64!, cpu = v.cpu;
  const ripLo = cpu.eip >>> 0, ripHi = c.ripHi;
  const at = addrOf(ripLo, ripHi);
  let len = 16;
  while (len > 0 && !v.access.copyFromGuest(at, insn.subarray(0, len))) len--;
  if (len === 0) return false;
  let i = 0, o16 = false, rep = false, rex = 0;
  for (; i < len; i++) {
    const b = insn[i];
    if (b === 0x66) o16 = true;
    else if (b === 0xf3 || b === 0xf2) rep = true;
    else if (
      b === 0x67 || b === 0xf0 || b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e ||
      b === 0x64 || b === 0x65
    ) continue;
    else if ((b & 0xf0) === 0x40) {
      rex = b;
      if (i + 1 < len && (insn[i + 1] & 0xf0) === 0x40) rex = 0; // only the last counts
      continue;
    } else break;
  }
  if (i >= len) return false;
  const op = insn[i++];
  const t = v.domain.host.tracer;
  if (t.on) t.rec(TRC_PV_EMULATE_PRIVOP | TRC_64_FLAG, 2, ripLo, ripHi, 0, 0, 0, 0);
  const done = (n: number) => {
    const lo = ripLo + n;
    if (lo > 0xffffffff) c.ripHi = ripHi + 1;
    cpu.eip = lo >>> 0;
    return true;
  };
  const kernel = v.pv64!.kernelMode;
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
      const port = op < 0xe8 ? insn[i++] : c.lo(2) & 0xffff;
      if (i > len || !ioOkay(v, port, size)) return false;
      const lo = c.lo(0);
      if (size === 1) c.setReg(0, lo | 0xff, c.hi(0));
      else if (size === 2) c.setReg(0, lo | 0xffff, c.hi(0));
      else c.setReg(0, 0xffffffff, 0);
      return done(i);
    }
    case 0xe6:
    case 0xe7:
    case 0xee:
    case 0xef: {
      const size = op & 1 ? (o16 ? 2 : 4) : 1;
      const port = op < 0xe8 ? insn[i++] : c.lo(2) & 0xffff;
      if (i > len || !ioOkay(v, port, size)) return false;
      return done(i); // a domU's writes to ports it does not own are dropped
    }
    case 0x0f:
      if (i >= len || !kernel) return false;
      return emulate0f64(v, insn[i], i + 1, len, rex, done);
    default:
      void rep;
      return false;
  }
}

function emulate0f64(
  v: Vcpu,
  op: number,
  i: number,
  len: number,
  rex: number,
  done: (n: number) => boolean,
): boolean {
  const c = v.cpu64!, d = v.domain, p = v.pv64!;
  switch (op) {
    case 0x06: // clts
      doFpuTaskswitch(v, 0);
      return done(i);
    case 0x08: // invd
    case 0x09: // wbinvd
      return done(i);
    case 0x01: // swapgs (0f 01 f8)
      if (i >= len || insn[i] !== 0xf8) return false;
      c.getBase(1, base);
      {
        const gs0 = base[0], gs1 = base[1];
        c.getBase(2, base);
        c.setGsBase(base[0], base[1]);
        c.setGsShadow(gs0, gs1);
      }
      return done(i + 1);
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23: {
      if (i >= len) return false;
      const modrm = insn[i++];
      const n = ((modrm >>> 3) & 7) | (rex & 4 ? 8 : 0);
      const rm = (modrm & 7) | (rex & 1 ? 8 : 0);
      if (op === 0x21) {
        const val = readDebugreg(v, n);
        if (val < 0) return ud(v);
        c.setReg(rm, val >>> 0, readDebugregHi(v, n));
        return done(i);
      }
      if (op === 0x23) {
        const rc = doSetDebugreg(v, n, c.lo(rm), c.hi(rm));
        if (rc === -ENODEV) return ud(v);
        return rc === 0 ? done(i) : false;
      }
      if (op === 0x20) {
        switch (n) {
          case 0:
            c.setReg(rm, (GUEST_CR0 | (v.guestTs ? 8 : 0)) >>> 0, 0);
            return done(i);
          case 2: {
            const dv = d.host.mem.dv, a = v.vcpuInfoMaddr + VI.archCr2;
            c.setReg(rm, dv.getUint32(a, true), dv.getUint32(a + 4, true));
            return done(i);
          }
          case 3: {
            // the current base: the user L4 in user mode (Xen's guest cr3)
            const mfn = p.kernelMode ? d.mm.baseMfn[v.id] : d.mm.userBaseMfn[v.id];
            c.setReg(rm, (mfn << 12) >>> 0, mfn >>> 20);
            return done(i);
          }
          case 4:
            c.setReg(rm, (GUEST_CR4 | v.guestCr4) >>> 0, 0);
            return done(i);
          default:
            return false;
        }
      }
      const lo = c.lo(rm), hi = c.hi(rm);
      switch (n) {
        case 0:
          if (hi !== 0 || ((lo ^ GUEST_CR0) & ~8) !== 0) return false;
          doFpuTaskswitch(v, lo & 8);
          return done(i);
        case 2: {
          const mem = d.host.mem, a = v.vcpuInfoMaddr + VI.archCr2;
          mem.dv.setUint32(a, lo, true);
          mem.dv.setUint32(a + 4, hi, true);
          mem.noteWrite(a, 8);
          return done(i);
        }
        case 3: {
          const mfn = ((lo >>> 12) | (hi << 20)) >>> 0;
          if (!p.kernelMode || newBaseptr64(d.mm, v.id, mfn) !== 0) return false;
          applyFlushes(d);
          return done(i);
        }
        case 4:
          v.guestCr4 = lo & X86_CR4_DE;
          v.loadDebugRegs();
          return done(i);
        default:
          return false;
      }
    }
    case 0x30: { // wrmsr
      const msr = c.lo(1), lo = c.lo(0), hi = c.lo(2);
      const canonical = ((hi | 0) >> 15) === 0 || ((hi | 0) >> 15) === -1;
      switch (msr) {
        case MSR_FS_BASE:
          if (!canonical) return false;
          c.setFsBase(lo, hi);
          p.segBase[2 * SB_FS] = lo;
          p.segBase[2 * SB_FS + 1] = hi;
          return done(i);
        case MSR_GS_BASE:
          if (!canonical) return false;
          c.setGsBase(lo, hi);
          p.segBase[2 * SB_GS_KERNEL] = lo;
          p.segBase[2 * SB_GS_KERNEL + 1] = hi;
          return done(i);
        case MSR_SHADOW_GS_BASE:
          if (!canonical) return false;
          c.setGsShadow(lo, hi);
          p.segBase[2 * SB_GS_USER] = lo;
          p.segBase[2 * SB_GS_USER + 1] = hi;
          return done(i);
      }
      return pvWrmsr(v, msr, lo, hi) ? done(i) : false;
    }
    case 0x32: { // rdmsr
      const msr = c.lo(1);
      if (msr === MSR_FS_BASE) c.getBase(0, msrOut);
      else if (msr === MSR_GS_BASE) c.getBase(1, msrOut);
      else if (msr === MSR_SHADOW_GS_BASE) c.getBase(2, msrOut);
      else if (!pvRdmsr(v, msr, msrOut)) return false;
      c.setReg(0, msrOut[0], 0);
      c.setReg(2, msrOut[1], 0);
      return done(i);
    }
    case 0xa2: { // cpuid with faulting on: the kernel's is emulated
      pvCpuid(c.lo(0), c.lo(1), cpuidOut, 64);
      c.setReg(0, cpuidOut[0] >>> 0, 0);
      c.setReg(3, cpuidOut[1] >>> 0, 0);
      c.setReg(1, cpuidOut[2] >>> 0, 0);
      c.setReg(2, cpuidOut[3] >>> 0, 0);
      return done(i);
    }
    default:
      return false;
  }
}

/** Delivers #UD for the instruction; the emulation is done. */
function ud(v: Vcpu): boolean {
  injectException64(v, VEC_UD, -1);
  return true;
}
