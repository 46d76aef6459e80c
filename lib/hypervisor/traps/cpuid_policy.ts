/**
 * The CPUID a pvx PV guest sees (plain or through the forced-emulation prefix): a fixed,
 * deterministic policy listing only what the pvx CPU implements, with the features Xen
 * hides from PV guests cleared (APIC, MTRR, PSE, PGE, VME, DS, ACPI, MONITOR, SEP), the
 * hypervisor bit set, and Xen's leaves at 0x40000000. The domain's width matters as in
 * Xen 4.17: a 32-bit PV domain does not see LM (nor, on an Intel vendor string, SYSCALL),
 * nor the features only 64-bit mode implements here (CX16, LAHF_LM, RDTSCP). POPCNT is
 * offered to both widths, as Xen's default PV policy does on hosts that have it (both the
 * 32-bit decoder, which also runs a 64-bit domain's compatibility-mode processes, and
 * 64-bit mode execute it).
 * MMX is not offered: the CPU does not model the MMX registers (0F 77 and the MMX forms
 * raise #UD); SSE3/SSSE3 and later are not implemented either.
 * @module
 */
import { XEN_MAJOR, XEN_MINOR } from "../pv/xen_identity.ts";

/** Leaf 1 EDX: FPU TSC MSR PAE CX8 CMOV CLFSH FXSR SSE SSE2 (both widths). */
export const LEAF1_EDX = (1 << 0) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 15) |
  (1 << 19) | (1 << 24) | (1 << 25) | (1 << 26);
/** Leaf 1 ECX for 32-bit domains: POPCNT, hypervisor. */
export const LEAF1_ECX = (1 << 23) | (1 << 31);
/** Leaf 1 ECX for 64-bit domains: CX16 (cmpxchg16b), hypervisor. */
export const LEAF1_ECX_64 = LEAF1_ECX | (1 << 13);
/** Leaf 0x80000001 EDX for 32-bit domains: NX. */
export const EXT1_EDX = 1 << 20;
/** Leaf 0x80000001 EDX for 64-bit domains: SYSCALL, NX, RDTSCP, LM. */
export const EXT1_EDX_64 = EXT1_EDX | (1 << 11) | (1 << 27) | (1 << 29);
/** Leaf 0x80000001 ECX for 64-bit domains: LAHF_LM (lahf/sahf in 64-bit mode). */
export const EXT1_ECX_64 = 1 << 0;

/** A PV domain's width (the guest kernel's ELF class): the policy differs by it. */
export type DomainWidth = 32 | 64;

function str4(s: string, i: number): number {
  return s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) |
    (s.charCodeAt(i + 3) << 24);
}

const BRAND = "pvx virtual CPU (Xen PV)".padEnd(48, "\0");

/**
 * Fills eax, ebx, ecx, edx for a leaf.
 * @param out receives the four registers (int32)
 * @param width the domain's width (32-bit PV unless told otherwise)
 */
export function pvCpuid(
  leaf: number,
  subleaf: number,
  out: Int32Array,
  width: DomainWidth = 32,
): void {
  out[0] =
    out[1] =
    out[2] =
    out[3] =
      0;
  leaf = leaf >>> 0;
  switch (leaf) {
    case 0:
      out[0] = 0xd;
      out[1] = str4("GenuineIntel", 0);
      out[3] = str4("GenuineIntel", 4);
      out[2] = str4("GenuineIntel", 8);
      return;
    case 1:
      out[0] = 0x000006f1; // family 6, model 15, stepping 1
      out[1] = 0x00010800; // CLFLUSH line 8*8 bytes, 1 logical processor
      out[2] = width === 64 ? LEAF1_ECX_64 : LEAF1_ECX;
      out[3] = LEAF1_EDX;
      return;
    case 0xd:
      return; // no XSAVE
    case 0x40000000:
      out[0] = 0x40000005;
      out[1] = str4("XenVMMXenVMM", 0);
      out[2] = str4("XenVMMXenVMM", 4);
      out[3] = str4("XenVMMXenVMM", 8);
      return;
    case 0x40000001:
      out[0] = (XEN_MAJOR << 16) | XEN_MINOR;
      return;
    case 0x40000002:
      out[0] = 1; // hypercall transfer pages
      out[1] = 0x40000000; // MSR base for the hypercall page
      return;
    case 0x40000003:
      if (subleaf === 0) out[2] = 1_000_000; // tsc_khz: the guest TSC runs at 1 GHz
      return;
    case 0x80000000:
      out[0] = 0x80000008;
      return;
    case 0x80000001:
      out[2] = width === 64 ? EXT1_ECX_64 : 0;
      out[3] = width === 64 ? EXT1_EDX_64 : EXT1_EDX;
      return;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      const base = (leaf - 0x80000002) * 16;
      for (let i = 0; i < 4; i++) out[i] = str4(BRAND, base + i * 4);
      return;
    }
    case 0x80000008:
      // 36-bit physical; linear 32 bits (48 for 64-bit domains)
      out[0] = width === 64 ? 0x3024 : 0x2024;
      return;
    default:
      return;
  }
}
