/**
 * VCPUOP_initialise and the first VCPUOP_up of a 64-bit vcpu (arch_set_info_guest with
 * the native x86_64 vcpu_guest_context): the context is decoded and checked
 * (vcpu_context64.ts), its page tables, GDT, LDT, callbacks, trap table, kernel stack
 * and segment bases applied at once; its registers wait until the vcpu comes up, when
 * they are loaded into its CPU with the selectors, FS/GS bases and CR0.TS.
 * @module
 */
import { EEXIST, EFAULT } from "../../abi/mod.ts";
import { putPageAndType } from "../../paging/mod.ts";
import { domainCrash } from "../domain/lifecycle.ts";
import { DR6_RESET, DR7_RESET, type Vcpu } from "../domain/vcpu.ts";
import { applyFlushes } from "../machine/flush.ts";
import { S_DS, S_ES, S_FS, S_GS } from "../machine/cpu_port.ts";
import { doSetDebugreg, X86_CR4_DE } from "../pv/misc_hypercalls.ts";
import {
  applyVcpuContext64,
  decodeVcpuContext64,
  VCPU_GUEST_CONTEXT64_SIZE,
} from "./vcpu_context64.ts";
import { Regs64, SB_FS, SB_GS_KERNEL, SB_GS_USER } from "./vcpu64.ts";

/** A context waiting for VCPUOP_up: registers and data selectors (es, ds, fs, gs). */
interface Pending64 {
  regs: Regs64;
  segs: number[];
}

const pending = new WeakMap<Vcpu, Pending64>();

/** VCPUOP_initialise(vcpuid, ctxt) of a 64-bit guest. */
export function vcpuInitialise64(v: Vcpu, target: Vcpu, arg: number): number {
  if (target.initialised) return -EEXIST;
  const b = new Uint8Array(VCPU_GUEST_CONTEXT64_SIZE);
  if (!v.access.copyFromGuest(arg, b)) return -EFAULT;
  const c = decodeVcpuContext64(b, target.id);
  if (typeof c === "number") return c;
  const d = target.domain, f = d.host.frames;
  const regs = new Regs64();
  const gdt: number[] = [];
  const rc = applyVcpuContext64(d.mm, target.id, c, target.pv64!, regs, gdt);
  if (rc !== 0) return rc;
  for (const m of target.gdtFrames) putPageAndType(f, m);
  target.gdtFrames = gdt;
  target.gdtEnts = c.gdtEnts;
  target.iopl = (target.pv64!.iopl >>> 12) & 3;
  target.guestTs = (c.ctrlreg[0] & 8) !== 0;
  target.guestCr4 = c.ctrlreg[8] & X86_CR4_DE;
  target.debugreg.fill(0);
  target.debugregHi.fill(0);
  target.debugreg[6] = DR6_RESET;
  target.debugreg[7] = DR7_RESET;
  target.dr7Emul = 0;
  for (const r of [0, 1, 2, 3, 6, 7]) {
    doSetDebugreg(target, r, c.debugreg[2 * r], c.debugreg[2 * r + 1]);
  }
  target.loadDebugRegs();
  pending.set(target, { regs, segs: [c.sel.es, c.sel.ds, c.sel.fs, c.sel.gs] });
  target.initialised = true;
  applyFlushes(d);
  return 0;
}

/**
 * Loads the context stored by {@link vcpuInitialise64} into the vcpu's CPU.
 * @returns false when the domain was crashed (its selectors do not load)
 */
export function loadPendingContext64(target: Vcpu): boolean {
  const p = pending.get(target);
  if (p === undefined) return true;
  pending.delete(target);
  const c = target.cpu64!, pv = target.pv64!;
  if (c.load(p.regs) !== 0) {
    domainCrash(
      target.domain,
      `d${target.domain.domid}v${target.id}: cannot load cs ${p.regs.cs.toString(16)} / ss ${
        p.regs.ss.toString(16)
      } of its initial context`,
    );
    return false;
  }
  [S_ES, S_DS, S_FS, S_GS].forEach((seg, i) => {
    if (target.cpu.loadSeg(seg, p.segs[i]) !== 0) target.cpu.loadSeg(seg, 0);
  });
  const b = pv.segBase;
  c.setFsBase(b[2 * SB_FS], b[2 * SB_FS + 1]);
  const [active, shadow] = pv.kernelMode ? [SB_GS_KERNEL, SB_GS_USER] : [SB_GS_USER, SB_GS_KERNEL];
  c.setGsBase(b[2 * active], b[2 * active + 1]);
  c.setGsShadow(b[2 * shadow], b[2 * shadow + 1]);
  target.inKernel = pv.kernelMode;
  target.cpu.ts = target.guestTs;
  return true;
}
