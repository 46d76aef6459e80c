/**
 * Whether `pvx boot` runs an image: one verdict, worded once, that the loader enforces
 * (from_elf.ts) and `pvx inspect` reports, so the two never disagree. pvx boots 32-bit
 * PAE PV kernels; 64-bit PV kernels are recognised and can be built
 * (build_domain64.ts) but are refused until the CPU runs long mode.
 * @module
 */
import { type ElfImage, EM_386, EM_X86_64 } from "./elf.ts";
import type { XenNotes } from "./xen_notes.ts";

/** The refusal of a 64-bit PV kernel while the CPU has no long mode. */
export const NO_LONG_MODE =
  "a 64-bit x86-64 PV kernel, which pvx cannot run yet (its CPU has no long mode); " +
  "pvx boots 32-bit PAE PV kernels";

/**
 * libelf's PV check, as `pvx inspect` classifies: a generic loader or a Linux guest, on
 * xen-3.0.
 */
export function isPvCapable(x: XenNotes): boolean {
  return ((x.loader ?? "").startsWith("generic") || (x.guestOs ?? "").startsWith("linux")) &&
    (x.xenVersion ?? "").startsWith("xen-3.0");
}

/**
 * Why `pvx boot` refuses an image, or null when it boots it (layout errors found while
 * loading segments come on top of this).
 * @param elf the parsed ELF
 * @param x its Xen notes
 */
export function bootRefusal(elf: ElfImage, x: XenNotes): string | null {
  if (elf.bits === 64 && elf.machine === EM_X86_64) return NO_LONG_MODE;
  if (elf.bits !== 32 || elf.machine !== EM_386) {
    return `it is a ${elf.bits}-bit ${elf.machineName} kernel; pvx boots 32-bit PAE PV kernels`;
  }
  if (x.source === "none") return "no Xen notes found";
  if (!isPvCapable(x)) {
    return x.boot.phys32Entry !== null
      ? "a PVH-only kernel (a PVH entry point, no PV loader notes); pvx boots PV kernels"
      : `not loadable as PV (loader "${x.loader ?? ""}", xen version "${x.xenVersion ?? ""}")`;
  }
  if (x.boot.pae === "no") return "a non-PAE 32-bit kernel (Xen dropped support for them)";
  return null;
}
