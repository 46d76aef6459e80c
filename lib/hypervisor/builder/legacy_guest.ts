/**
 * The legacy `__xen_guest` section: a comma-separated `KEY=VALUE` string that predates Xen
 * ELF notes and that GNU Mach still uses; keys and meanings as Xen's libelf reads them.
 * @module
 */
import { cString, type ElfImage, SHT_NOBITS } from "./elf.ts";

/** One `KEY=VALUE` (or bare `KEY`) item of the string, in order. */
export interface LegacyGuestPair {
  key: string;
  /** null for a bare key without `=` */
  value: string | null;
}

/** The decoded `__xen_guest` string. Unset keys are null. */
export interface LegacyGuestInfo {
  /** the string as stored (up to its NUL) */
  raw: string;
  /** every item, known or not */
  pairs: LegacyGuestPair[];
  guestOs: string | null;
  /** GUEST_VER (Xen's key) or GUEST_VERSION (as GNU Mach spells it) */
  guestVersion: string | null;
  xenVersion: string | null;
  loader: string | null;
  /** PAE value as written: "yes", "no", "yes[extended-cr3]", "bimodal", ... */
  pae: string | null;
  /** BSD_SYMTAB: presence is the flag */
  bsdSymtab: boolean;
  virtBase: bigint | null;
  virtEntry: bigint | null;
  elfPaddrOffset: bigint | null;
  /** HYPERCALL_PAGE: a page number relative to VIRT_BASE, not an address */
  hypercallPage: bigint | null;
  /** FEATURES: '|'-separated names, '!' marks required ones */
  features: string | null;
}

/** Keys Xen's libelf understands in the legacy string. */
export const LEGACY_GUEST_KEYS = [
  "LOADER",
  "GUEST_OS",
  "GUEST_VER",
  "XEN_VER",
  "PAE",
  "BSD_SYMTAB",
  "VIRT_BASE",
  "VIRT_ENTRY",
  "ELF_PADDR_OFFSET",
  "HYPERCALL_PAGE",
  "FEATURES",
] as const;

const U64 = (1n << 64n) - 1n;

/**
 * Parses an unsigned number as C's `strtoull(s, NULL, 0)` does: leading blanks, optional
 * sign, `0x` hex, leading-`0` octal or decimal, stopping at the first other character.
 * @param s the text
 * @returns the value modulo 2^64 (0 when no digits)
 */
export function strtoull(s: string): bigint {
  let i = 0;
  while (i < s.length && " \t\n\r\f\v".includes(s[i])) i++;
  let neg = false;
  if (s[i] === "+" || s[i] === "-") neg = s[i++] === "-";
  let base = 10n;
  if (
    s[i] === "0" && (s[i + 1] === "x" || s[i + 1] === "X") && /[0-9a-fA-F]/.test(s[i + 2] ?? "")
  ) {
    base = 16n;
    i += 2;
  } else if (s[i] === "0") {
    base = 8n;
  }
  let v = 0n;
  for (; i < s.length; i++) {
    const d = parseInt(s[i], 36);
    if (Number.isNaN(d) || BigInt(d) >= base) break;
    v = (v * base + BigInt(d)) & U64;
  }
  return neg ? (-v) & U64 : v;
}

/**
 * Decodes a `__xen_guest` string.
 * @param raw the string (without its NUL)
 * @returns the items and the known keys' values
 * @example
 * ```ts
 * const g = parseLegacyGuestString("GUEST_OS=GNU Mach,XEN_VER=xen-3.0,VIRT_BASE=0x40000000");
 * console.log(g.virtBase); // 1073741824n
 * ```
 */
export function parseLegacyGuestString(raw: string): LegacyGuestInfo {
  const info: LegacyGuestInfo = {
    raw,
    pairs: [],
    guestOs: null,
    guestVersion: null,
    xenVersion: null,
    loader: null,
    pae: null,
    bsdSymtab: false,
    virtBase: null,
    virtEntry: null,
    elfPaddrOffset: null,
    hypercallPage: null,
    features: null,
  };
  for (const item of raw.split(",")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? null : item.slice(eq + 1);
    info.pairs.push({ key, value });
    const v = value ?? "";
    switch (key) {
      case "LOADER":
        info.loader = v;
        break;
      case "GUEST_OS":
        info.guestOs = v;
        break;
      case "GUEST_VER":
      case "GUEST_VERSION":
        info.guestVersion = v;
        break;
      case "XEN_VER":
        info.xenVersion = v;
        break;
      case "PAE":
        info.pae = v;
        break;
      case "BSD_SYMTAB":
        info.bsdSymtab = true;
        break;
      case "VIRT_BASE":
        info.virtBase = strtoull(v);
        break;
      case "VIRT_ENTRY":
        info.virtEntry = strtoull(v);
        break;
      case "ELF_PADDR_OFFSET":
        info.elfPaddrOffset = strtoull(v);
        break;
      case "HYPERCALL_PAGE":
        info.hypercallPage = strtoull(v);
        break;
      case "FEATURES":
        info.features = v;
        break;
    }
  }
  return info;
}

/**
 * Finds and decodes the `__xen_guest` section of an image.
 * @param elf the parsed image
 * @returns the decoded string, or null when the image has no such section
 */
export function readLegacyGuest(elf: ElfImage): LegacyGuestInfo | null {
  const s = elf.sections.find((x) => x.name === "__xen_guest");
  if (!s || s.type === SHT_NOBITS) return null;
  return parseLegacyGuestString(cString(elf.bytes, s.offset, s.offset + s.size));
}
