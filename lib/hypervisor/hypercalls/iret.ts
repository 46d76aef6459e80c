/**
 * The iret hypercall of a 32-bit PV guest (compat_iret of xen/arch/x86/x86_64/compat/
 * traps.c): pops eax, eip, cs, eflags (and esp, ss when returning to ring 2/3) from the
 * guest stack, restores the upcall mask from the supplied EFLAGS.IF, and returns there.
 * A frame it cannot read or load crashes the domain, as in Xen.
 * @module
 */
import {
  VMASST_TYPE_architectural_iopl,
  X86_EFLAGS_IF,
  X86_EFLAGS_IOPL,
  X86_EFLAGS_VM,
} from "../../abi/mod.ts";
import { R_EAX, R_ESP, S_DS, S_ES, S_FS, S_GS } from "../machine/cpu_port.ts";
import { domainCrash } from "../domain/lifecycle.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { fixupGuestSelector } from "../pv/misc_hypercalls.ts";

/** do_iret: restores the frame; the return value is ignored (eax comes from the frame). */
export function doIret(v: Vcpu): number {
  const cpu = v.cpu;
  const d = v.domain;
  v.skipReturn = true;
  const sp = cpu.gpr[R_ESP] >>> 0;
  const frame = new Uint8Array(24);
  const dv = new DataView(frame.buffer);
  if (!v.access.copyFromGuest(sp, frame.subarray(0, 16))) {
    domainCrash(d, `iret: cannot read the frame at 0x${sp.toString(16)}`);
    return 0;
  }
  const eax = dv.getUint32(0, true);
  const eip = dv.getUint32(4, true);
  let cs = dv.getUint32(8, true) & 0xffff;
  const eflags = dv.getUint32(12, true);
  if (eflags & X86_EFLAGS_VM) {
    domainCrash(d, "iret: cannot return to VM86 mode");
    return 0;
  }
  if (d.vmAssist & (1 << VMASST_TYPE_architectural_iopl)) v.iopl = (eflags >>> 12) & 3;
  cs = fixupGuestSelector(cs);
  let ss: number;
  let esp: number;
  if ((cs & 3) === 1) {
    ss = cpu.getSeg(2);
    esp = (sp + 16) >>> 0;
  } else {
    if (!v.access.copyFromGuest(sp + 16, frame.subarray(16, 24))) {
      domainCrash(d, `iret: cannot read the ring-3 frame at 0x${sp.toString(16)}`);
      return 0;
    }
    esp = dv.getUint32(16, true);
    ss = dv.getUint32(20, true) & 0xffff;
  }
  if (cpu.enterHandler(cs, eip, ss, esp) !== 0) {
    domainCrash(d, `iret: bad return selectors cs=0x${cs.toString(16)} ss=0x${ss.toString(16)}`);
    return 0;
  }
  cpu.eflags = (eflags & ~X86_EFLAGS_IOPL) | X86_EFLAGS_IF;
  cpu.gpr[R_EAX] = eax | 0;
  v.inKernel = (cs & 3) === 1;
  v.setUpcallMask((eflags & X86_EFLAGS_IF) === 0);
  if ((cs & 3) === 3) {
    // As the hardware iret to an outer ring does: data segments the new CPL may not use
    // become null (no fault, no failsafe).
    for (const s of [S_DS, S_ES, S_FS, S_GS]) {
      const sel = cpu.getSeg(s);
      if ((sel & ~3) !== 0 && cpu.loadSeg(s, sel) !== 0) cpu.loadSeg(s, 0);
    }
  }
  return 0;
}
