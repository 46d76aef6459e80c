/**
 * VCPUOP_initialise for a 32-bit PV vcpu: loads a vcpu_guest_context (x86_32 layout from
 * lib/abi's LAYOUT_X86_32, 2800 bytes) into a vcpu that has not run yet, as arch_set_info_guest does: registers
 * and selectors, the virtual IDT, LDT and GDT, kernel stack, control and debug
 * registers (cr3 validated as an L3 and installed), callbacks and vm_assist.
 * @module
 */
import { EEXIST, EFAULT, EINVAL } from "../../abi/mod.ts";
import { FIRST_RESERVED_GDT_ENTRY, LAYOUT_X86_32 } from "../../abi/mod.ts";
import {
  R_EAX,
  R_EBP,
  R_EBX,
  R_ECX,
  R_EDI,
  R_EDX,
  R_ESI,
  S_DS,
  S_ES,
  S_FS,
  S_GS,
} from "../machine/cpu_port.ts";
import { newBaseptr, setLdt } from "../../paging/mod.ts";
import { translatedNewBaseptr } from "../pv/mmu_translated.ts";
import { PGT_seg_desc_page } from "../../paging/mod.ts";
import { getPageAndType, putPageAndType } from "../../paging/mod.ts";
import { applyFlushes } from "../machine/flush.ts";
import { DR6_RESET, DR7_RESET, type Vcpu } from "../domain/vcpu.ts";
import { domainCrash } from "../domain/lifecycle.ts";
import { fixupGuestSelector } from "../pv/misc_hypercalls.ts";
import { doSetDebugreg, X86_CR4_DE } from "../pv/misc_hypercalls.ts";

/** The x86_32 layouts this loader reads (lib/abi's per-width table). */
const CTX = LAYOUT_X86_32.vcpuGuestContext, REGS = LAYOUT_X86_32.cpuUserRegs;
const TRAP = LAYOUT_X86_32.trapInfo;
/** sizeof(struct vcpu_guest_context) for x86_32. */
export const VCPU_GUEST_CONTEXT_SIZE: number = CTX.size;
const CTX_USER_REGS = CTX.userRegs, CTX_TRAP_CTXT = CTX.trapCtxt, CTX_LDT_BASE = CTX.ldtBase;
const CTX_LDT_ENTS = CTX.ldtEnts, CTX_GDT_FRAMES = CTX.gdtFrames, CTX_GDT_ENTS = CTX.gdtEnts;
const CTX_KERNEL_SS = CTX.kernelSs, CTX_KERNEL_SP = CTX.kernelSp, CTX_CTRLREG = CTX.ctrlreg;
const CTX_DEBUGREG = CTX.debugreg, CTX_EVENT_CS = CTX.eventCallbackCs;
const CTX_EVENT_EIP = CTX.eventCallbackEip, CTX_FAILSAFE_CS = CTX.failsafeCallbackCs;
const CTX_FAILSAFE_EIP = CTX.failsafeCallbackEip, CTX_FLAGS = CTX.flags;
/** VGCF_failsafe_disables_events. */
const VGCF_failsafe_disables_events = 1 << 3;

/**
 * VCPUOP_initialise(vcpuid, ctxt).
 * @param v the calling vcpu
 * @param target the vcpu to initialise
 * @param arg guest address of the context
 */
export function vcpuInitialise(v: Vcpu, target: Vcpu, arg: number): number {
  if (target.initialised) return -EEXIST;
  const ctx = new Uint8Array(VCPU_GUEST_CONTEXT_SIZE);
  if (!v.access.copyFromGuest(arg, ctx)) return -EFAULT;
  const s = new DataView(ctx.buffer);
  const u = (off: number) => s.getUint32(off, true);
  const d = target.domain;
  const f = d.host.frames;
  // GDT first: everything else is cheap to undo.
  const gdtEnts = u(CTX_GDT_ENTS);
  if (gdtEnts > FIRST_RESERVED_GDT_ENTRY) return -EINVAL;
  const frames: number[] = [];
  for (let i = 0; i < Math.ceil(gdtEnts / 512); i++) {
    const mfn = d.mm.gfnToMfn(u(CTX_GDT_FRAMES + i * 4)); // a pfn when translated
    if (mfn >= f.count || getPageAndType(f, mfn, PGT_seg_desc_page, d.domid) !== 0) {
      for (const m of frames) putPageAndType(f, m);
      return -EINVAL;
    }
    frames.push(mfn);
  }
  const cr3 = u(CTX_CTRLREG + 3 * 4);
  const l3 = ((cr3 >>> 12) | (cr3 << 20)) >>> 0; // xen_cr3_to_pfn
  const setBase = () =>
    d.mm.translated ? translatedNewBaseptr(d, target.id, l3) : newBaseptr(d.mm, target.id, l3);
  if (setLdt(d.mm, target.id, u(CTX_LDT_BASE), u(CTX_LDT_ENTS)) !== 0 || setBase() !== 0) {
    for (const m of frames) putPageAndType(f, m);
    return -EINVAL;
  }
  target.gdtFrames = frames;
  target.gdtEnts = gdtEnts;
  target.syncCr3();
  applyFlushes(d);
  for (let i = 0; i < 256; i++) {
    const off = CTX_TRAP_CTXT + i * TRAP.size;
    const flags = ctx[off + TRAP.flags];
    const cs = fixupGuestSelector(s.getUint16(off + TRAP.cs, true));
    target.trapFlagsCs[i] = (flags << 16) | cs;
    target.trapEip[i] = u(off + TRAP.address);
  }
  target.kernelSs = fixupGuestSelector(u(CTX_KERNEL_SS));
  target.kernelSp = u(CTX_KERNEL_SP);
  target.eventCs = fixupGuestSelector(u(CTX_EVENT_CS));
  target.eventEip = u(CTX_EVENT_EIP);
  target.failsafeCs = fixupGuestSelector(u(CTX_FAILSAFE_CS));
  target.failsafeEip = u(CTX_FAILSAFE_EIP);
  target.failsafeDisablesEvents = (u(CTX_FLAGS) & VGCF_failsafe_disables_events) !== 0;
  target.guestTs = (u(CTX_CTRLREG) & 8) !== 0;
  // pv_fixup_guest_cr4 (the guest's DE), then the debug registers from their reset
  // values through set_debugreg, whose refusals leave the reset value (as Xen).
  target.guestCr4 = u(CTX_CTRLREG + 4 * 4) & X86_CR4_DE;
  target.debugreg.fill(0);
  target.debugregHi.fill(0);
  target.debugreg[6] = DR6_RESET;
  target.debugreg[7] = DR7_RESET;
  target.dr7Emul = 0;
  for (const r of [0, 1, 2, 3, 6, 7]) doSetDebugreg(target, r, u(CTX_DEBUGREG + r * 4));
  target.loadDebugRegs();
  // Registers and selectors (cpu_user_regs: ebx ecx edx esi edi ebp eax ... eip cs ...).
  // Xen only fixes the selectors' privilege here; they are loaded when the vcpu runs.
  const regs: [number, number][] = [
    [R_EBX, REGS.ebx],
    [R_ECX, REGS.ecx],
    [R_EDX, REGS.edx],
    [R_ESI, REGS.esi],
    [R_EDI, REGS.edi],
    [R_EBP, REGS.ebp],
    [R_EAX, REGS.eax],
  ];
  const gpr = new Int32Array(8);
  for (const [reg, off] of regs) gpr[reg] = u(CTX_USER_REGS + off) | 0;
  const ur = (off: number) => CTX_USER_REGS + off;
  target.pendingContext = {
    gpr,
    eip: u(ur(REGS.eip)),
    cs: fixupGuestSelector(s.getUint16(ur(REGS.cs), true)),
    eflags: u(ur(REGS.eflags)),
    esp: u(ur(REGS.esp)),
    ss: fixupGuestSelector(s.getUint16(ur(REGS.ss), true)),
    segs: [REGS.es, REGS.ds, REGS.fs, REGS.gs].map((off) => s.getUint16(ur(off), true)),
  };
  target.initialised = true;
  return 0;
}

/**
 * Loads a context stored by VCPUOP_initialise into the CPU, as the first return to the
 * vcpu does. A selector that does not load crashes the domain (Xen cannot enter it).
 * @returns false when the domain was crashed
 */
export function loadPendingContext(target: Vcpu): boolean {
  const c = target.pendingContext;
  if (c === null) return true;
  target.pendingContext = null;
  const cpu = target.cpu;
  if (cpu.enterHandler(c.cs, c.eip, c.ss, c.esp) !== 0) {
    domainCrash(
      target.domain,
      `d${target.domain.domid}v${target.id}: cannot load cs ${hex4(c.cs)} / ss ${
        hex4(c.ss)
      } of its initial context`,
    );
    return false;
  }
  for (const r of [R_EAX, R_ECX, R_EDX, R_EBX, R_EBP, R_ESI, R_EDI]) cpu.gpr[r] = c.gpr[r];
  [S_ES, S_DS, S_FS, S_GS].forEach((seg, i) => {
    if (cpu.loadSeg(seg, c.segs[i]) !== 0) cpu.loadSeg(seg, 0);
  });
  cpu.eflags = (c.eflags & ~0x3000) | 0x200;
  cpu.ts = target.guestTs;
  return true;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}
