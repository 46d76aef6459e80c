/**
 * VCPUOP_initialise of a 64-bit PV vcpu, the part that needs no running 64-bit CPU: the
 * x86_64 vcpu_guest_context (5168 bytes, offsets from lib/abi's LAYOUT_X86_64) is
 * decoded and checked as arch_set_info_guest does for a native guest (canonical
 * addresses, __addr_ok on the LDT base, the LDT and GDT limits, vm_assist bits, a user
 * L4 when starting in user mode, selectors given the guest kernel's RPL 3), then applied:
 * GDT frames typed as descriptor pages, the kernel and user L4s validated and installed,
 * the LDT, callbacks, kernel stack, segment bases, trap table and registers.
 * The registers land in a {@link Regs64}; loading them into the CPU is the long-mode
 * glue's job (README.md in this folder).
 * @module
 */
import { EINVAL, FIRST_RESERVED_GDT_ENTRY, LAYOUT_X86_64, VGCF_in_kernel } from "../../abi/mod.ts";
import {
  addrOk64,
  getPageAndType,
  isCanonical,
  newBaseptr64,
  newUserBaseptr64,
  PGT_seg_desc_page,
  putPageAndType,
  setGuestMode64,
  setLdt64,
  syncWalker64,
} from "../../paging/mod.ts";
import type { PagingDomain } from "../../paging/mod.ts";
import { CB_EVENT, CB_FAILSAFE, CB_SYSCALL, type Pv64Vcpu, Regs64 } from "./vcpu64.ts";
import { SB_FS, SB_GS_KERNEL, SB_GS_USER, U_RFLAGS } from "./vcpu64.ts";

const CTX = LAYOUT_X86_64.vcpuGuestContext, REGS = LAYOUT_X86_64.cpuUserRegs;
const TRAP = LAYOUT_X86_64.trapInfo;
/** sizeof(struct vcpu_guest_context) for x86_64. */
export const VCPU_GUEST_CONTEXT64_SIZE: number = CTX.size;
/** vm_assist bits a 64-bit PV guest may set (NATIVE_VM_ASSIST_VALID): 0-5 low, m2p_strict. */
const VM_ASSIST_VALID_LO = 0x3f, VM_ASSIST_VALID_HI = 1;

/** The cpu_user_regs offsets of the Regs64 slots (U_RAX..U_R15, U_RIP, U_RFLAGS). */
const REG_OFFSETS: readonly number[] = [
  REGS.rax,
  REGS.rcx,
  REGS.rdx,
  REGS.rbx,
  REGS.rsp,
  REGS.rbp,
  REGS.rsi,
  REGS.rdi,
  REGS.r8,
  REGS.r9,
  REGS.r10,
  REGS.r11,
  REGS.r12,
  REGS.r13,
  REGS.r14,
  REGS.r15,
  REGS.rip,
  REGS.rflags,
];

/** A decoded x86_64 vcpu_guest_context (64-bit values as (lo, hi) pairs). */
export interface VcpuContext64 {
  /** VGCF_* flags. */
  flags: number;
  /** rax..r15, rip, rflags. */
  regs: Regs64;
  /** Selectors: cs, ss, ds, es, fs, gs (cs and ss fixed up to RPL 3). */
  sel: { cs: number; ss: number; ds: number; es: number; fs: number; gs: number };
  /** Trap table: per vector (flags << 16) | cs. */
  trapFlagsCs: Int32Array;
  /** Trap table: per vector the handler address (lo, hi). */
  trapAddr: Uint32Array;
  /** LDT base (lo, hi) and entries. */
  ldtBase: [number, number];
  /** LDT entries. */
  ldtEnts: number;
  /** GDT frames (guest frame numbers) covering gdtEnts. */
  gdtFrames: number[];
  /** GDT entries. */
  gdtEnts: number;
  /** Kernel stack selector (RPL 3). */
  kernelSs: number;
  /** Kernel stack pointer (lo, hi). */
  kernelSp: [number, number];
  /** ctrlreg[0]..[7], each (lo, hi): cr3 and ctrlreg[1] (the user L4) in xen_pfn_to_cr3 form. */
  ctrlreg: Uint32Array;
  /** debugreg[0]..[7], each (lo, hi). */
  debugreg: Uint32Array;
  /** event, failsafe, syscall callback addresses (lo, hi) each. */
  callbacks: Uint32Array;
  /** vm_assist (lo, hi). */
  vmAssist: [number, number];
  /**
   * fs_base, gs_base_kernel, gs_base_user (lo, hi) each, in SB_* order; a non-null fs or
   * gs selector zeroes fs_base or gs_base_user, as Xen does.
   */
  segBase: Uint32Array;
}

/**
 * Decodes and checks a 64-bit vcpu_guest_context.
 * @param b the context's bytes (at least VCPU_GUEST_CONTEXT64_SIZE)
 * @param vcpuId the vcpu being initialised (vm_assist is checked for vcpu 0 only)
 * @returns the context, or -EINVAL
 */
export function decodeVcpuContext64(b: Uint8Array, vcpuId: number): VcpuContext64 | number {
  if (b.length < CTX.size) return -EINVAL;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const lo = (off: number) => dv.getUint32(off, true);
  const hi = (off: number) => dv.getUint32(off + 4, true);
  const canon = (off: number) => isCanonical(hi(off));
  const rpl3 = (sel: number) => ((sel & 3) === 0 ? sel | 3 : sel);
  const ur = CTX.userRegs;
  const callbackOffs = [CTX.eventCallbackEip, CTX.failsafeCallbackEip, CTX.syscallCallbackEip];
  const segOffs = [CTX.fsBase, CTX.gsBaseKernel, CTX.gsBaseUser];
  const ldtEnts = lo(CTX.ldtEnts);
  if (
    !canon(ur + REGS.rip) || !canon(ur + REGS.rsp) || !canon(CTX.kernelSp) ||
    (ldtEnts !== 0 && !canon(CTX.ldtBase)) || !segOffs.every(canon) ||
    !callbackOffs.every(canon) || !addrOk64(hi(CTX.ldtBase))
  ) return -EINVAL;
  if ((lo(CTX.ldtBase) & 0xfff) !== 0 || hi(CTX.ldtEnts) !== 0 || ldtEnts > 8192) return -EINVAL;
  const flags = lo(CTX.flags);
  const ctrlreg = new Uint32Array(16);
  for (let i = 0; i < 16; i++) ctrlreg[i] = dv.getUint32(CTX.ctrlreg + i * 4, true);
  if ((flags & VGCF_in_kernel) === 0 && ctrlreg[2] === 0 && ctrlreg[3] === 0) return -EINVAL;
  const vmAssist: [number, number] = [lo(CTX.vmAssist), hi(CTX.vmAssist)];
  if (
    vcpuId === 0 &&
    ((vmAssist[0] & ~VM_ASSIST_VALID_LO) !== 0 || (vmAssist[1] & ~VM_ASSIST_VALID_HI) !== 0)
  ) return -EINVAL;
  const gdtEnts = lo(CTX.gdtEnts); // pv_set_gdt takes an unsigned int: the high half is dropped
  if (gdtEnts > FIRST_RESERVED_GDT_ENTRY) return -EINVAL;
  const gdtFrames: number[] = [];
  for (let i = 0; i < Math.ceil(gdtEnts / 512); i++) {
    const off = CTX.gdtFrames + i * 8;
    gdtFrames.push(hi(off) * 0x100000000 + lo(off));
  }
  const trapFlagsCs = new Int32Array(256), trapAddr = new Uint32Array(512);
  for (let i = 0; i < 256; i++) {
    const off = CTX.trapCtxt + i * TRAP.size;
    if (!canon(off + TRAP.address)) return -EINVAL;
    trapFlagsCs[i] = (b[off + TRAP.flags] << 16) | rpl3(dv.getUint16(off + TRAP.cs, true));
    trapAddr[2 * i] = lo(off + TRAP.address);
    trapAddr[2 * i + 1] = hi(off + TRAP.address);
  }
  const regs = new Regs64();
  REG_OFFSETS.forEach((off, r) => regs.set(r, lo(ur + off), hi(ur + off)));
  const sel16 = (off: number) => dv.getUint16(ur + off, true);
  const regs64 = (offs: number[]) => {
    const a = new Uint32Array(offs.length * 2);
    offs.forEach((off, i) => ((a[2 * i] = lo(off)), (a[2 * i + 1] = hi(off))));
    return a;
  };
  const debugreg = regs64([0, 1, 2, 3, 4, 5, 6, 7].map((i) => CTX.debugreg + i * 8));
  const segBase = regs64(segOffs);
  if ((sel16(REGS.fs) & ~3) !== 0) segBase.fill(0, 0, 2);
  if ((sel16(REGS.gs) & ~3) !== 0) segBase.fill(0, 4, 6);
  return {
    flags,
    regs,
    sel: {
      cs: rpl3(sel16(REGS.cs)),
      ss: rpl3(sel16(REGS.ss)),
      ds: sel16(REGS.ds),
      es: sel16(REGS.es),
      fs: sel16(REGS.fs),
      gs: sel16(REGS.gs),
    },
    trapFlagsCs,
    trapAddr,
    ldtBase: [lo(CTX.ldtBase), hi(CTX.ldtBase)],
    ldtEnts,
    gdtFrames,
    gdtEnts,
    kernelSs: rpl3(dv.getUint16(CTX.kernelSs, true)),
    kernelSp: [lo(CTX.kernelSp), hi(CTX.kernelSp)],
    ctrlreg,
    debugreg,
    callbacks: regs64(callbackOffs),
    vmAssist,
    segBase,
  };
}

/** The frame of a cr3 value in xen_pfn_to_cr3 form (64-bit: the plain address). */
function cr3Pfn(ctrlreg: Uint32Array, n: number): number {
  return ctrlreg[2 * n + 1] * 0x100000 + (ctrlreg[2 * n] >>> 12);
}

/**
 * Applies a decoded context to a vcpu that has not run: GDT, vm_assist (vcpu 0), kernel
 * and user L4s, LDT, then the Xen-side vcpu state and registers. On an error nothing the
 * context references stays held.
 * @param d the domain's paging state (a 64-bit domain)
 * @param vcpu the vcpu's index
 * @param c the decoded context
 * @param pv the vcpu's 64-bit PV state (filled)
 * @param regs receives the registers the vcpu starts with (rflags: IOPL cleared, IF set)
 * @param gdt receives the GDT's machine frames (each holding a seg_desc_page type)
 * @returns 0 or -EINVAL / the L4 validation errno
 */
export function applyVcpuContext64(
  d: PagingDomain,
  vcpu: number,
  c: VcpuContext64,
  pv: Pv64Vcpu,
  regs: Regs64,
  gdt: number[],
): number {
  if (!d.pv64) return -EINVAL;
  const f = d.frames;
  const held: number[] = [];
  const undo = (rc: number) => {
    for (const m of held) putPageAndType(f, m);
    return rc;
  };
  for (const gfn of c.gdtFrames) {
    const mfn = d.gfnToMfn(gfn);
    if (mfn < 0 || mfn >= f.count || getPageAndType(f, mfn, PGT_seg_desc_page, d.domid) !== 0) {
      return undo(-EINVAL);
    }
    held.push(mfn);
  }
  if (vcpu === 0) d.m2pStrict = (c.vmAssist[1] & 1) !== 0;
  const kernelMfn = d.gfnToMfn(cr3Pfn(c.ctrlreg, 3));
  if (kernelMfn < 0 || kernelMfn >= f.count) return undo(-EINVAL);
  const oldKernel = d.baseMfn[vcpu], oldUser = d.userBaseMfn[vcpu];
  let rc = newBaseptr64(d, vcpu, kernelMfn);
  if (rc !== 0) return undo(rc);
  const userPfn = cr3Pfn(c.ctrlreg, 1);
  const userMfn = userPfn === 0 ? 0 : d.gfnToMfn(userPfn);
  rc = userMfn < 0 || userMfn >= f.count ? -EINVAL : newUserBaseptr64(d, vcpu, userMfn);
  if (rc === 0) rc = setLdt64(d, vcpu, c.ldtBase[0], c.ldtBase[1], c.ldtEnts);
  if (rc !== 0) {
    // Back to the bases the vcpu had (none, for a vcpu that has not run).
    newUserBaseptr64(d, vcpu, oldUser);
    if (oldKernel !== 0) newBaseptr64(d, vcpu, oldKernel);
    else if (d.baseMfn[vcpu] !== 0) {
      putPageAndType(f, d.baseMfn[vcpu]);
      d.baseMfn[vcpu] = 0;
      syncWalker64(d, vcpu);
    }
    return undo(rc);
  }
  gdt.length = 0;
  gdt.push(...held);
  pv.kernelMode = (c.flags & VGCF_in_kernel) !== 0;
  setGuestMode64(d, vcpu, pv.kernelMode);
  pv.vgcFlags = c.flags; // v->arch.vgc_flags = flags
  for (const [i, slot] of [CB_EVENT, CB_FAILSAFE, CB_SYSCALL].entries()) {
    pv.callbacks[2 * slot] = c.callbacks[2 * i];
    pv.callbacks[2 * slot + 1] = c.callbacks[2 * i + 1];
  }
  pv.kernelSs = c.kernelSs;
  pv.kernelSp[0] = c.kernelSp[0];
  pv.kernelSp[1] = c.kernelSp[1];
  for (const [i, slot] of [SB_FS, SB_GS_KERNEL, SB_GS_USER].entries()) {
    pv.segBase[2 * slot] = c.segBase[2 * i];
    pv.segBase[2 * slot + 1] = c.segBase[2 * i + 1];
  }
  pv.trapFlagsCs.set(c.trapFlagsCs);
  pv.trapAddr.set(c.trapAddr);
  regs.w.set(c.regs.w);
  const rflags = c.regs.lo(U_RFLAGS);
  pv.iopl = rflags & 0x3000;
  regs.set(U_RFLAGS, ((rflags & ~0x3000) | 0x200) >>> 0, c.regs.hi(U_RFLAGS));
  regs.cs = c.sel.cs;
  regs.ss = c.sel.ss;
  return 0;
}
