/**
 * The MMU requests of a translated domain (XENFEAT_auto_translated_physmap), as Xen's
 * shadow-translate mode took them: page tables are ordinary RAM named by pfns.
 * @module
 */
import { EINVAL, ENOSYS } from "../../abi/mod.ts";
import { INVALID_MFN } from "../../paging/mod.ts";
import {
  MMU_NORMAL_PT_UPDATE,
  MMU_PT_UPDATE_NO_TRANSLATE,
  MMU_PT_UPDATE_PRESERVE_AD,
} from "../../abi/mod.ts";
import { writeEntry } from "../../paging/mod.ts";
import type { Domain } from "../domain/domain.ts";
import { asGfn } from "../../abi/mod.ts";

/** The domain's own RAM frame behind a pfn, or -1 (unpopulated, or a Xen page). */
function ramMfn(d: Domain, pfn: number): number {
  const mfn = d.mm.p2m.get(asGfn(pfn));
  if (mfn === INVALID_MFN || mfn >= d.host.frames.count || d.xenShared.has(mfn)) return -1;
  return d.owns(mfn) ? mfn : -1;
}

/**
 * One mmu_update request of a translated domain: ptr is a guest-physical address (command
 * in bits 0..2), val holds a pfn and is written as is (the walker translates).
 * @returns 0; -EINVAL for a pfn that is not the domain's RAM; -ENOSYS for other commands
 */
export function translatedMmuUpdate(d: Domain, ptr: number, lo: number, hi: number): number {
  const cmd = ptr % 8;
  if (
    cmd !== MMU_NORMAL_PT_UPDATE && cmd !== MMU_PT_UPDATE_PRESERVE_AD &&
    cmd !== MMU_PT_UPDATE_NO_TRANSLATE
  ) {
    return cmd === 1 ? -EINVAL : -ENOSYS; // MMU_MACHPHYS_UPDATE: no M2P for the guest
  }
  const gpa = ptr - cmd;
  const mfn = ramMfn(d, Math.floor(gpa / 4096));
  if (mfn < 0) return -EINVAL;
  // A present entry must name a populated pfn of the domain (what the walker translates).
  if ((lo & 1) !== 0 && d.mm.p2m.get(asGfn(hi * 2 ** 20 + (lo >>> 12))) === INVALID_MFN) {
    return -EINVAL;
  }
  writeEntry(d.host.frames, mfn, (gpa % 4096) >>> 3, lo, hi, cmd === MMU_PT_UPDATE_PRESERVE_AD);
  return 0;
}

/**
 * MMUEXT_NEW_BASEPTR of a translated domain: the walker's cr3 becomes the L3's
 * guest-physical address (no type reference: tables are ordinary RAM).
 * @returns 0, or -EINVAL when the pfn is not the domain's RAM
 */
export function translatedNewBaseptr(d: Domain, vcpu: number, pfn: number): number {
  if (ramMfn(d, pfn) < 0) return -EINVAL;
  d.mm.walkers[vcpu].cr3 = pfn * 4096;
  d.mm.flush.flushAll(1 << vcpu);
  return 0;
}
