/**
 * The failsafe callback: after an operation that can invalidate the guest's data
 * segments (set_gdt, update_descriptor, MMUEXT_SET_LDT, iret), the selectors in DS, ES,
 * FS and GS are loaded again, as Xen's exit path reloads them; when one no longer loads,
 * it becomes null and the guest's failsafe callback gets a frame with the four original
 * selectors (Xen's TBF_FAILSAFE bounce) to repair them.
 * @module
 */
import { S_DS, S_ES, S_FS, S_GS } from "../machine/cpu_port.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { bounceFailsafe } from "./bounce.ts";

const SEGS = [S_DS, S_ES, S_FS, S_GS];

/**
 * Reloads the data segment registers; bounces to the failsafe callback when one fails.
 * @returns true when every selector still loads
 */
export function reloadDataSegments(v: Vcpu): boolean {
  const cpu = v.cpu;
  const saved = SEGS.map((s) => cpu.getSeg(s));
  let ok = true;
  for (let i = 0; i < SEGS.length; i++) {
    const sel = saved[i];
    if ((sel & ~3) === 0) continue;
    if (cpu.loadSeg(SEGS[i], sel) !== 0) {
      cpu.loadSeg(SEGS[i], 0);
      ok = false;
    }
  }
  if (!ok) bounceFailsafe(v, saved[0], saved[1], saved[2], saved[3]);
  return ok;
}
