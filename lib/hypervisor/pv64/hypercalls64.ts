/**
 * The hypercalls whose arguments or structures differ for a 64-bit PV guest (Xen's
 * native x86_64 handlers): set_trap_table (16-byte trap_info), stack_switch,
 * set_callbacks / callback_op / nmi_op with 64-bit addresses, set_segment_base, the iret
 * hypercall (iret_context on the guest stack), update_va_mapping with the PTE in one
 * register, set_timer_op with a 64-bit timeout. Arguments arrive as signed canonical
 * numbers (guest_access64.ts); the raw halves are in {@link ARGS64}.
 * @module
 */
import { EFAULT, EINVAL, ENOSYS, EPERM, ESRCH } from "../../abi/mod.ts";
import {
  CALLBACKOP_register,
  CALLBACKOP_unregister,
  CALLBACKTYPE_nmi,
  UVMF_ALL,
  UVMF_FLUSHTYPE_MASK,
  UVMF_LOCAL,
  XENNMI_register_callback,
  XENNMI_unregister_callback,
} from "../../abi/mod.ts";
import { DOMID_SELF, VMASST_TYPE_architectural_iopl } from "../../abi/mod.ts";
import { updateVaMapping64 } from "../../paging/mod.ts";
import { domainCrash } from "../domain/lifecycle.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { applyFlushes } from "../machine/flush.ts";
import { S_GS } from "../machine/cpu_port.ts";
import { setTimerOp } from "../hypercalls/set_timer_op.ts";
import {
  registerCallback64,
  SEGBASE_FS,
  SEGBASE_GS_KERNEL,
  SEGBASE_GS_USER,
  SEGBASE_GS_USER_SEL,
  setCallbacks64,
  setSegmentBase64,
  stackSwitch64,
  unregisterCallback64,
} from "./callbacks64.ts";
import { iret64, IRET_CONTEXT_WORDS, IRET_NO_USER_TABLES } from "./iret64.ts";
import { returnToGuest64 } from "./bounce64.ts";
import { addrOf, hex64 } from "./guest_access64.ts";
import { failsafeBounce64, scratchRegs, setKernelMode64 } from "./traps64.ts";
import { SB_GS_KERNEL, SB_GS_USER, U_RSP } from "./vcpu64.ts";

/** The raw (lo, hi) halves of the current hypercall's six arguments. */
export const ARGS64: Uint32Array = new Uint32Array(12);

/** sizeof(struct trap_info) of x86_64. */
const TRAP_INFO_SIZE_64 = 16;

/** do_set_trap_table: entries until one with address 0 (NULL clears the table). */
export function doSetTrapTable64(v: Vcpu, traps: number): number {
  const p = v.pv64!;
  if (traps === 0) {
    p.trapFlagsCs.fill(0);
    p.trapAddr.fill(0);
    return 0;
  }
  const e = new Uint8Array(TRAP_INFO_SIZE_64);
  const dv = new DataView(e.buffer);
  for (let i = 0; i < 256 * 16; i++) {
    if (!v.access.copyFromGuest(traps + i * TRAP_INFO_SIZE_64, e)) return -EFAULT;
    const lo = dv.getUint32(8, true), hi = dv.getUint32(12, true);
    if ((lo | hi) === 0) break;
    const top = (hi | 0) >> 15;
    if (top !== 0 && top !== -1) return -EINVAL;
    const vector = e[0];
    let cs = dv.getUint16(2, true);
    if ((cs & 3) < 3) cs = (cs & ~3) | 3; // fixup_guest_code_selector
    p.trapFlagsCs[vector] = (e[1] << 16) | cs;
    p.trapAddr[2 * vector] = lo;
    p.trapAddr[2 * vector + 1] = hi;
  }
  return 0;
}

/** stack_switch(ss, rsp). */
export function doStackSwitch64(v: Vcpu, ss: number): number {
  return stackSwitch64(v.pv64!, ss, ARGS64[2], ARGS64[3]);
}

/** set_callbacks(event, failsafe, syscall). */
export function doSetCallbacks64(v: Vcpu): number {
  return setCallbacks64(v.pv64!, ARGS64.subarray(0, 6));
}

/** callback_op(cmd, arg): struct callback_register { u16 type, flags; u64 address } (16). */
export function doCallbackOp64(v: Vcpu, cmd: number, arg: number): number {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  if (cmd === CALLBACKOP_register) {
    if (!v.access.copyFromGuest(arg, b)) return -EFAULT;
    return registerCallback64(
      v.pv64!,
      dv.getUint16(0, true),
      dv.getUint16(2, true),
      dv.getUint32(8, true),
      dv.getUint32(12, true),
    );
  }
  if (cmd === CALLBACKOP_unregister) {
    if (!v.access.copyFromGuest(arg, b.subarray(0, 4))) return -EFAULT;
    return unregisterCallback64(v.pv64!, dv.getUint16(0, true));
  }
  return -ENOSYS;
}

/** nmi_op(cmd, arg): xennmi_callback { u64 handler_address, pad }. */
export function doNmiOp64(v: Vcpu, cmd: number, arg: number): number {
  if (cmd === XENNMI_register_callback) {
    const b = new Uint8Array(8);
    if (!v.access.copyFromGuest(arg, b)) return -EFAULT;
    const dv = new DataView(b.buffer);
    return registerCallback64(
      v.pv64!,
      CALLBACKTYPE_nmi,
      0,
      dv.getUint32(0, true),
      dv.getUint32(4, true),
    );
  }
  if (cmd === XENNMI_unregister_callback) return unregisterCallback64(v.pv64!, CALLBACKTYPE_nmi);
  return -ENOSYS;
}

/** set_segment_base(which, base): the bases go to the CPU as Xen writes the MSRs. */
export function doSetSegmentBase64(v: Vcpu, which: number): number {
  const p = v.pv64!, c = v.cpu64!;
  const lo = ARGS64[2], hi = ARGS64[3];
  const rc = setSegmentBase64(p, which, lo, hi, (sel) => {
    // The user GS selector is loaded with the user's GS active (Xen's swapgs dance).
    if (v.cpu.loadSeg(S_GS, sel) !== 0) {
      v.cpu.loadSeg(S_GS, 0);
      return null;
    }
    return [0, 0];
  });
  if (rc !== 0) return rc;
  switch (which) {
    case SEGBASE_FS:
      c.setFsBase(lo, hi);
      break;
    case SEGBASE_GS_USER:
    case SEGBASE_GS_USER_SEL:
      c.setGsShadow(p.segBase[2 * SB_GS_USER], p.segBase[2 * SB_GS_USER + 1]);
      break;
    case SEGBASE_GS_KERNEL:
      c.setGsBase(p.segBase[2 * SB_GS_KERNEL], p.segBase[2 * SB_GS_KERNEL + 1]);
      break;
  }
  return 0;
}

/**
 * The iret hypercall: the iret_context the stub and the guest pushed at rsp; toggles to
 * user mode (page tables and GS) for a return to RPL 3; crashes the domain on a frame it
 * cannot read or a user return without user page tables.
 */
export function doIret64(v: Vcpu): number {
  const d = v.domain, c = v.cpu64!, p = v.pv64!;
  v.skipReturn = true;
  const regs = scratchRegs;
  c.save(regs);
  const ctx = new Uint32Array(IRET_CONTEXT_WORDS * 2);
  const sp = addrOf(regs.lo(U_RSP), regs.hi(U_RSP));
  if (!v.access.copyFromGuest(sp, new Uint8Array(ctx.buffer))) {
    domainCrash(d, `iret: cannot read the frame at 0x${hex64(regs.lo(U_RSP), regs.hi(U_RSP))}`);
    return 0;
  }
  const wasKernel = p.kernelMode;
  regs.viaSyscall = true;
  const iopl = (d.vmAssist & (1 << VMASST_TYPE_architectural_iopl)) !== 0;
  const mask = iret64(p, regs, ctx, d.mm.userBaseMfn[v.id] !== 0, iopl);
  if (iopl) v.iopl = (p.iopl >>> 12) & 3;
  if (mask === IRET_NO_USER_TABLES) {
    domainCrash(d, "iret: return to user mode without user page tables");
    return 0;
  }
  if (p.kernelMode !== wasKernel) {
    const to = p.kernelMode;
    p.kernelMode = wasKernel;
    setKernelMode64(v, to);
  }
  v.setUpcallMask(mask !== 0);
  returnToGuest64(regs);
  regs.w[34] |= 0x200;
  if (c.load(regs) !== 0) {
    // Xen's iretq to the guest faults: the failsafe callback gets the context
    failsafeBounce64(
      v,
      regs,
      `iret: bad return selectors cs=0x${regs.cs.toString(16)} ss=0x${regs.ss.toString(16)}`,
    );
  }
  return 0;
}

/** update_va_mapping(va, val, flags) and the _otherdomain form (domid in arg 4). */
export function doUpdateVaMapping64(v: Vcpu, other: boolean): number {
  const A = ARGS64, d = v.domain;
  const flagsLo = A[4], flagsHi = A[5];
  const target = flagsLo & ~UVMF_FLUSHTYPE_MASK;
  const pointer = flagsHi !== 0 || (target !== UVMF_LOCAL && target !== UVMF_ALL);
  let mask = 0;
  if (pointer) {
    mask = v.access.readU32(addrOf(target >>> 0, flagsHi));
    if (v.access.fault) return -EFAULT;
  }
  if (other) {
    const domid = A[6] & 0xffff;
    if (domid !== DOMID_SELF && domid !== d.domid) {
      return d.host.domains.has(domid) ? -EPERM : -ESRCH;
    }
  }
  // a pointer target (any value but LOCAL and ALL) flushes the vcpus of its bitmap
  const flags = pointer ? (flagsLo & UVMF_FLUSHTYPE_MASK) | 8 : flagsLo;
  const rc = updateVaMapping64(d.mm, v.id, A[0], A[1], A[2], A[3], flags, mask);
  applyFlushes(d);
  return rc;
}

/** set_timer_op(timeout): a u64 of system time in ns. */
export function doSetTimerOp64(v: Vcpu): number {
  return setTimerOp(v, ARGS64[1] * 2 ** 32 + ARGS64[0]);
}
