/**
 * Delivering an event to the guest kernel: the trap bounce (which handler, error code,
 * whether events get masked) and the one writer of Xen's 32-bit PV bounce frame on the
 * guest kernel stack: {[failsafe ds,es,fs,gs,] [error code,] eip, cs | saved_upcall_mask
 * << 16, eflags, [esp, ss when coming from ring 3]} (compat_create_bounce_frame). A fault
 * while writing the frame crashes the domain.
 * @module
 */
import { VI_UPCALL_MASK } from "../../abi/mod.ts";
import {
  VMASST_TYPE_architectural_iopl,
  X86_EFLAGS_IF,
  X86_EFLAGS_IOPL,
  X86_EFLAGS_NT,
  X86_EFLAGS_RF,
  X86_EFLAGS_TF,
  X86_EFLAGS_VM,
} from "../../abi/mod.ts";
import { R_ESP, S_CS, S_DS, S_ES, S_FS, S_GS, S_SS } from "../machine/cpu_port.ts";
import { domainCrash } from "../domain/lifecycle.ts";
import { TRC_PV_PAGE_FAULT, TRC_PV_TRAP, TRC_PVX_BOUNCE } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";

/** Bounce flags (Xen's TBF_*). */
export const TBF_EXCEPTION_ERRCODE = 2, TBF_INTERRUPT = 8, TBF_FAILSAFE = 16;

/** Vectors whose exceptions push an error code. */
const HAS_ERRCODE = (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) |
  (1 << 17);

const frameBuf = new Uint8Array(36);
const frameDv = new DataView(frameBuf.buffer);

/**
 * Writes a bounce frame and transfers to cs:eip in the guest kernel.
 * @param v the vcpu (its CPU holds the interrupted context)
 * @param cs handler code selector
 * @param eip handler address
 * @param flags TBF_* bits
 * @param errorCode pushed when TBF_EXCEPTION_ERRCODE
 * @returns false when the domain crashed instead
 */
export function createBounceFrame(
  v: Vcpu,
  cs: number,
  eip: number,
  flags: number,
  errorCode: number,
  failsafeSegs?: readonly number[],
): boolean {
  const cpu = v.cpu;
  const d = v.domain;
  const u8 = d.host.mem.u8;
  if ((cs & ~3) === 0) {
    domainCrash(d, `bounce to a null selector (eip 0x${(eip >>> 0).toString(16)})`);
    return false;
  }
  const curCs = cpu.getSeg(S_CS);
  let ss: number, sp: number;
  // Build the frame bottom-up in frameBuf, then copy it to the stack in one go.
  let n = 0;
  const words: number[] = [];
  if (curCs & 2) {
    ss = v.kernelSs;
    sp = v.kernelSp >>> 0;
    words.unshift(cpu.gpr[R_ESP] >>> 0, cpu.getSeg(S_SS));
  } else {
    ss = cpu.getSeg(S_SS);
    sp = cpu.gpr[R_ESP] >>> 0;
  }
  const maskAddr = v.vcpuInfoMaddr + VI_UPCALL_MASK;
  const saved = u8[maskAddr];
  if (flags & TBF_INTERRUPT) v.setUpcallMask(true);
  let eflags = cpu.eflags & ~(X86_EFLAGS_IF | X86_EFLAGS_IOPL);
  if (saved === 0) eflags |= X86_EFLAGS_IF;
  if (d.vmAssist & (1 << VMASST_TYPE_architectural_iopl)) eflags |= (v.iopl & 3) << 12;
  words.unshift(cpu.eip >>> 0, (curCs | (saved << 16)) >>> 0, eflags >>> 0);
  if (flags & TBF_EXCEPTION_ERRCODE) words.unshift(errorCode >>> 0);
  if (flags & TBF_FAILSAFE) {
    const segs = failsafeSegs ??
      [cpu.getSeg(S_DS), cpu.getSeg(S_ES), cpu.getSeg(S_FS), cpu.getSeg(S_GS)];
    words.unshift(segs[0], segs[1], segs[2], segs[3]);
  }
  for (const w of words) frameDv.setUint32(4 * n++, w, true);
  const newSp = (sp - 4 * n) >>> 0;
  if (!v.access.copyToGuest(newSp, frameBuf.subarray(0, 4 * n))) {
    v.setUpcallMask(saved !== 0);
    domainCrash(
      d,
      `fault while writing a bounce frame at 0x${newSp.toString(16)} (ss 0x${ss.toString(16)})`,
    );
    return false;
  }
  const fl = cpu.eflags & ~(X86_EFLAGS_VM | X86_EFLAGS_RF | X86_EFLAGS_NT | X86_EFLAGS_TF);
  if (cpu.enterHandler(cs, eip, ss, newSp) !== 0) {
    domainCrash(d, `bad bounce target ${cs.toString(16)}:${(eip >>> 0).toString(16)}`);
    return false;
  }
  cpu.eflags = fl | X86_EFLAGS_IF;
  v.inKernel = true;
  const t = d.host.tracer;
  if (t.on) t.rec(TRC_PVX_BOUNCE, 4, flags, cs, eip, errorCode, 0, 0);
  return true;
}

/**
 * Injects a hardware exception into the guest (pv_inject_event): looks the vector up in
 * the virtual IDT; #PF stores its address in vcpu_info.arch.cr2; an unhandled vector
 * crashes the domain.
 * @param v the vcpu
 * @param vector 0..255
 * @param errorCode the error code, or -1 when the vector has none
 * @param cr2 for #PF: the faulting linear address
 * @returns false when the domain crashed
 */
export function injectException(v: Vcpu, vector: number, errorCode: number, cr2 = 0): boolean {
  const d = v.domain;
  const t = d.host.tracer;
  if (vector === 14) {
    v.setCr2(cr2);
    if (t.on) t.rec(TRC_PV_PAGE_FAULT, 3, v.cpu.eip, cr2, errorCode, 0, 0, 0);
  } else if (t.on) {
    // Xen's 32-bit layout: eip, then trapnr:15 use_error_code:1 error_code:16.
    const ec = errorCode >= 0 ? (1 << 15) | ((errorCode & 0xffff) << 16) : 0;
    t.rec(TRC_PV_TRAP, 2, v.cpu.eip, ((vector & 0x7fff) | ec) >>> 0, 0, 0, 0, 0);
  }
  const fc = v.trapFlagsCs[vector];
  const cs = fc & 0xffff;
  const eip = v.trapEip[vector];
  if ((cs & ~3) === 0 || eip === 0) {
    domainCrash(
      d,
      `unhandled trap ${vector}` +
        (errorCode >= 0 ? ` (error code 0x${errorCode.toString(16)})` : "") +
        (vector === 14 ? ` at address 0x${(cr2 >>> 0).toString(16)}` : ""),
    );
    return false;
  }
  let flags = 0;
  if (errorCode >= 0 && ((HAS_ERRCODE >>> vector) & 1) === 1) flags |= TBF_EXCEPTION_ERRCODE;
  if ((fc >>> 16) & 4) flags |= TBF_INTERRUPT; // TI_GET_IF
  return createBounceFrame(v, cs, eip, flags, errorCode);
}

/**
 * Injects a software interrupt (`int n` passed its DPL check): like an exception
 * without an error code, eip already past the instruction.
 */
export function injectSoftInt(v: Vcpu, vector: number): boolean {
  return injectException(v, vector, -1);
}

/**
 * The failsafe callback: Xen could not load a guest segment selector on the way back;
 * the guest gets the original ds/es/fs/gs in the frame and fixes them up.
 */
export function bounceFailsafe(v: Vcpu, ds: number, es: number, fs: number, gs: number): boolean {
  const flags = TBF_FAILSAFE | (v.failsafeDisablesEvents ? TBF_INTERRUPT : 0);
  if (v.failsafeEip === 0) {
    domainCrash(v.domain, "bad segment on return and no failsafe callback");
    return false;
  }
  return createBounceFrame(v, v.failsafeCs, v.failsafeEip, flags, 0, [ds, es, fs, gs]);
}
