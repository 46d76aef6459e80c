/**
 * Whether `pvx boot` runs an image: one verdict, worded once, that the loader enforces
 * (from_elf.ts) and `pvx inspect` reports, so the two never disagree. pvx boots 32-bit
 * PAE PV kernels (build_domain.ts) and 64-bit x86-64 PV kernels (build_domain64.ts).
 * @module
 */
import { type ElfImage, EM_386, EM_X86_64 } from "./elf.ts";
import type { XenNotes } from "./xen_notes.ts";

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
  const is64 = elf.bits === 64 && elf.machine === EM_X86_64;
  if (!is64 && (elf.bits !== 32 || elf.machine !== EM_386)) {
    return `it is a ${elf.bits}-bit ${elf.machineName} kernel; pvx boots 32-bit PAE and ` +
      "64-bit x86-64 PV kernels";
  }
  if (x.source === "none") return "no Xen notes found";
  if (!isPvCapable(x)) {
    return x.boot.phys32Entry !== null
      ? "a PVH-only kernel (a PVH entry point, no PV loader notes); pvx boots PV kernels"
      : `not loadable as PV (loader "${x.loader ?? ""}", xen version "${x.xenVersion ?? ""}")`;
  }
  if (!is64 && x.boot.pae === "no") return "a non-PAE 32-bit kernel (Xen dropped support for them)";
  return null;
}
