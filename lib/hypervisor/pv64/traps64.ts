/**
 * Entering a 64-bit PV guest kernel on the running CPU (Xen's x86_64 entry.S and
 * pv/traps.c): the kernel/user toggle (page tables and GS bases, toggle_guest_mode), the
 * bounce frame written through the kernel's page tables (create_bounce_frame over
 * {@link createBounceFrame64}), exception injection through the virtual IDT
 * (pv_inject_event, #PF's address in vcpu_info.arch.cr2), and event/NMI upcalls at
 * instruction boundaries. A bounce that cannot be made crashes the domain, as in Xen.
 * @module
 */
import { LAYOUT_X86_64 } from "../../abi/mod.ts";
import { VMASST_TYPE_architectural_iopl, X86_EFLAGS_IF } from "../../abi/mod.ts";
import { TRC_64_FLAG, TRC_PV_PAGE_FAULT, TRC_PV_TRAP } from "../../abi/mod.ts";
import { TRC_PVX_BOUNCE, TRC_PVX_UPCALL } from "../../abi/mod.ts";
import { setGuestMode64 } from "../../paging/mod.ts";
import { domainCrash } from "../domain/lifecycle.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { applyFlushes } from "../machine/flush.ts";
import { TBF_EXCEPTION_ERRCODE, TBF_FAILSAFE, TBF_INTERRUPT } from "../traps/bounce.ts";
import {
  BOUNCE_BAD_STACK,
  createBounceFrame64,
  frameBase,
  frameWords,
  returnToGuest64,
  TBF_EXCEPTION,
  type TrapBounce64,
} from "./bounce64.ts";
import { CB_EVENT, CB_FAILSAFE, CB_NMI, Regs64, U_RIP } from "./vcpu64.ts";
import { addrOf, hex64 } from "./guest_access64.ts";

const VI = LAYOUT_X86_64.vcpuInfo;

/** Vectors whose exceptions push an error code. */
const HAS_ERRCODE = (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) |
  (1 << 17);

/** Scratch registers of a bounce (one bounce at a time). */
export const scratchRegs: Regs64 = new Regs64();
const tb: TrapBounce64 = { flags: 0, errorCode: 0, eipLo: 0, eipHi: 0, upcallMask: 0 };
const frameBytes = new Uint8Array(96);
const frameU32 = new Uint32Array(frameBytes.buffer);

/**
 * toggle_guest_mode: switches the vcpu between its kernel and user L4 (the walker
 * follows, the TLB is flushed) and swaps the active and shadow GS bases, as Xen's swapgs
 * on the guest's behalf.
 */
export function setKernelMode64(v: Vcpu, kernel: boolean): void {
  const p = v.pv64!, c = v.cpu64!;
  const was = v.domain.mm.kernelMode[v.id] === 1;
  p.kernelMode = kernel;
  v.inKernel = kernel;
  if (was === kernel) return;
  setGuestMode64(v.domain.mm, v.id, kernel);
  const gs = new Uint32Array(2), shadow = new Uint32Array(2);
  c.getBase(1, gs);
  c.getBase(2, shadow);
  c.setGsBase(shadow[0], shadow[1]);
  c.setGsShadow(gs[0], gs[1]);
  applyFlushes(v.domain);
}

/** The vcpu's evtchn_upcall_mask. */
export function upcallMask(v: Vcpu): number {
  return v.domain.host.mem.u8[v.vcpuInfoMaddr + VI.evtchnUpcallMask];
}

/**
 * Completes a bounce prepared in `regs` (a bounce frame built by createBounceFrame64):
 * toggles to kernel mode when the frame says so, writes the frame through the kernel's
 * tables, loads the registers with sysret semantics.
 * @returns false when the domain crashed
 */
function finishBounce(v: Vcpu, regs: Regs64, words: number, wasKernel: boolean): boolean {
  const d = v.domain;
  if (words === BOUNCE_BAD_STACK || words < 0) {
    v.pv64!.kernelMode = wasKernel;
    domainCrash(
      d,
      words === BOUNCE_BAD_STACK
        ? "bounce frame on a stack in Xen's range"
        : "bounce to a handler at address 0",
    );
    return false;
  }
  if (!wasKernel) setKernelMode64(v, true);
  for (let i = 0; i < words * 2; i++) frameU32[i] = frameWords[i];
  const at = addrOf(frameBase[0], frameBase[1]);
  if (!v.access.copyToGuest(at, frameBytes.subarray(0, words * 8))) {
    domainCrash(
      d,
      `fault while writing a bounce frame at 0x${hex64(frameBase[0], frameBase[1])}`,
    );
    return false;
  }
  returnToGuest64(regs);
  regs.w[34] |= X86_EFLAGS_IF;
  const c = v.cpu64!;
  if (c.load(regs) !== 0) {
    domainCrash(d, "bounce: Xen's flat selectors did not load");
    return false;
  }
  const mask = tb.upcallMask & 1;
  const u8 = d.host.mem.u8;
  if (u8[v.vcpuInfoMaddr + VI.evtchnUpcallMask] !== mask) {
    u8[v.vcpuInfoMaddr + VI.evtchnUpcallMask] = mask;
    d.host.mem.noteWrite(v.vcpuInfoMaddr + VI.evtchnUpcallMask, 1);
  }
  const t = d.host.tracer;
  if (t.on) t.rec(TRC_PVX_BOUNCE, 4, tb.flags, regs.cs, regs.lo(U_RIP), tb.errorCode, 0, 0);
  return true;
}

/**
 * Bounces the interrupted context to a handler (create_bounce_frame).
 * @param flags TBF_* bits
 * @param regs the interrupted registers (saved from the CPU), or null to save them now
 * @returns false when the domain crashed
 */
export function bounce64(
  v: Vcpu,
  lo: number,
  hi: number,
  flags: number,
  errorCode: number,
  regs: Regs64 | null = null,
): boolean {
  const p = v.pv64!;
  const r = regs ?? scratchRegs;
  if (regs === null) v.cpu64!.save(r);
  tb.flags = flags;
  tb.errorCode = errorCode;
  tb.segs = (flags & TBF_FAILSAFE) !== 0 ? failsafeSegs(v) : undefined;
  tb.eipLo = lo;
  tb.eipHi = hi;
  tb.upcallMask = upcallMask(v);
  const wasKernel = p.kernelMode;
  const iopl = (v.domain.vmAssist & (1 << VMASST_TYPE_architectural_iopl)) !== 0;
  p.iopl = (v.iopl & 3) << 12;
  const n = createBounceFrame64(p, r, tb, iopl);
  return finishBounce(v, r, n, wasKernel);
}

/** The loaded ds, es, fs, gs selectors (the failsafe frame's). */
function failsafeSegs(v: Vcpu): number[] {
  const c = v.cpu;
  return [c.getSeg(3), c.getSeg(0), c.getSeg(4), c.getSeg(5)];
}

/**
 * The failsafe callback (Xen's iretq fixup): the return to the guest faulted on its
 * selectors, so the guest's failsafe handler gets `regs` (the context that did not load)
 * in an 11-word frame with ds, es, fs, gs; without a failsafe callback the domain crashes.
 * @param why the crash reason when there is no failsafe callback
 * @returns false when the domain crashed
 */
export function failsafeBounce64(v: Vcpu, regs: Regs64, why: string): boolean {
  const p = v.pv64!;
  const lo = p.callbacks[2 * CB_FAILSAFE], hi = p.callbacks[2 * CB_FAILSAFE + 1];
  if ((lo | hi) === 0) {
    domainCrash(v.domain, `${why}, and no failsafe callback`);
    return false;
  }
  const flags = TBF_FAILSAFE |
    ((p.vgcFlags & VGCF_FAILSAFE_DISABLES_EVENTS) !== 0 ? TBF_INTERRUPT : 0);
  return bounce64(v, lo, hi, flags, 0, regs);
}

/** VGCF_failsafe_disables_events. */
const VGCF_FAILSAFE_DISABLES_EVENTS = 1 << 3;

/** The bounce of a prepared TrapBounce64 (syscall from user mode). */
export function bounceWith(
  v: Vcpu,
  regs: Regs64,
  build: (tb: TrapBounce64, iopl: boolean) => number,
): boolean {
  const p = v.pv64!;
  tb.upcallMask = upcallMask(v);
  const wasKernel = p.kernelMode;
  const iopl = (v.domain.vmAssist & (1 << VMASST_TYPE_architectural_iopl)) !== 0;
  p.iopl = (v.iopl & 3) << 12;
  return finishBounce(v, regs, build(tb, iopl), wasKernel);
}

/**
 * Injects an exception (pv_inject_event): the virtual IDT entry, #PF's address in
 * vcpu_info.arch.cr2; no handler crashes the domain.
 * @param errorCode the error code, or -1
 * @returns false when the domain crashed
 */
export function injectException64(
  v: Vcpu,
  vector: number,
  errorCode: number,
  cr2Lo = 0,
  cr2Hi = 0,
): boolean {
  const p = v.pv64!, d = v.domain;
  const t = d.host.tracer;
  if (vector === 14) {
    // the hardware's U/S bit is always set (CPL 3): the guest sees its own mode's
    errorCode = p.kernelMode ? errorCode & ~4 : errorCode | 4;
    const mem = d.host.mem, at = v.vcpuInfoMaddr + VI.archCr2;
    mem.dv.setUint32(at, cr2Lo >>> 0, true);
    mem.dv.setUint32(at + 4, cr2Hi >>> 0, true);
    mem.noteWrite(at, 8);
    // Xen's x86_64 record: {rip, addr} as 64-bit words, then the error code
    if (t.on) {
      t.rec(
        TRC_PV_PAGE_FAULT | TRC_64_FLAG,
        5,
        v.cpu.eip,
        v.cpu64!.ripHi,
        cr2Lo,
        cr2Hi,
        errorCode,
        0,
      );
    }
  } else if (t.on) {
    // {rip (64-bit), trapnr:15 use_error_code:1 error_code:16}
    const ec = errorCode >= 0 ? (1 << 15) | ((errorCode & 0xffff) << 16) : 0;
    const packed = ((vector & 0x7fff) | ec) >>> 0;
    t.rec(TRC_PV_TRAP | TRC_64_FLAG, 3, v.cpu.eip, v.cpu64!.ripHi, packed, 0, 0, 0);
  }
  const lo = p.trapAddr[2 * vector], hi = p.trapAddr[2 * vector + 1];
  if ((lo | hi) === 0) {
    const rip = hex64(v.cpu.eip, v.cpu64!.ripHi);
    domainCrash(
      d,
      `unhandled trap ${vector}` +
        (errorCode >= 0 ? ` (error code 0x${errorCode.toString(16)})` : "") +
        (vector === 14 ? ` at address 0x${hex64(cr2Lo, cr2Hi)}` : "") +
        ` (rip 0x${rip})`,
    );
    return false;
  }
  let flags = TBF_EXCEPTION;
  if (errorCode >= 0 && ((HAS_ERRCODE >>> vector) & 1) === 1) flags |= TBF_EXCEPTION_ERRCODE;
  if ((p.trapFlagsCs[vector] >>> 16) & 4) flags |= TBF_INTERRUPT;
  return bounce64(v, lo, hi, flags, errorCode);
}

/**
 * Delivers a pending NMI, then the event upcall when pending and unmasked.
 * @returns true when a bounce was made
 */
export function deliverEvents64(v: Vcpu): boolean {
  if (v.blocked || !v.online || v.domain.isShutdown) return false;
  const p = v.pv64!;
  const u8 = v.domain.host.mem.u8;
  if (v.nmiPending) {
    const lo = p.callbacks[2 * CB_NMI], hi = p.callbacks[2 * CB_NMI + 1];
    if ((lo | hi) !== 0) {
      v.nmiPending = false;
      return bounce64(v, lo, hi, 0, 0);
    }
  }
  const vi = v.vcpuInfoMaddr;
  if (u8[vi + VI.evtchnUpcallPending] === 0 || u8[vi + VI.evtchnUpcallMask] !== 0) return false;
  const lo = p.callbacks[2 * CB_EVENT], hi = p.callbacks[2 * CB_EVENT + 1];
  if ((lo | hi) === 0) return false;
  const t = v.domain.host.tracer;
  if (t.on) t.rec(TRC_PVX_UPCALL, 3, v.domain.domid, v.id, lo, 0, 0, 0);
  return bounce64(v, lo, hi, TBF_INTERRUPT, 0);
}
