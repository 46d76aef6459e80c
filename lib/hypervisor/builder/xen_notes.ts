/**
 * Xen ELF notes (public/elfnote.h) and the legacy `__xen_guest` string, decoded and merged
 * into the boot parameters a PV domain builder needs; mirrors Xen's libelf-dominfo.c rules.
 * @module
 */
import { cString, type ElfImage, type ElfNote, PT_LOAD } from "./elf.ts";
import { type LegacyGuestInfo, readLegacyGuest } from "./legacy_guest.ts";

/** XEN_ELFNOTE_INFO: NAME=VALUE pair (string). */
export const XEN_ELFNOTE_INFO = 0;
/** XEN_ELFNOTE_ENTRY: virtual entry point (numeric). */
export const XEN_ELFNOTE_ENTRY = 1;
/** XEN_ELFNOTE_HYPERCALL_PAGE: virtual address of the hypercall page (numeric). */
export const XEN_ELFNOTE_HYPERCALL_PAGE = 2;
/** XEN_ELFNOTE_VIRT_BASE: where the kernel image is mapped (numeric, default 0). */
export const XEN_ELFNOTE_VIRT_BASE = 3;
/** XEN_ELFNOTE_PADDR_OFFSET: offset of p_paddr from the pseudo-physical address (numeric). */
export const XEN_ELFNOTE_PADDR_OFFSET = 4;
/** XEN_ELFNOTE_XEN_VERSION: Xen version the guest works with (string). */
export const XEN_ELFNOTE_XEN_VERSION = 5;
/** XEN_ELFNOTE_GUEST_OS: guest OS name (string). */
export const XEN_ELFNOTE_GUEST_OS = 6;
/** XEN_ELFNOTE_GUEST_VERSION: guest OS version (string). */
export const XEN_ELFNOTE_GUEST_VERSION = 7;
/** XEN_ELFNOTE_LOADER: loader type (string). */
export const XEN_ELFNOTE_LOADER = 8;
/** XEN_ELFNOTE_PAE_MODE: PAE support: yes, no, bimodal (string). */
export const XEN_ELFNOTE_PAE_MODE = 9;
/** XEN_ELFNOTE_FEATURES: '|'-separated XENFEAT_ names, '!' required (string). */
export const XEN_ELFNOTE_FEATURES = 10;
/** XEN_ELFNOTE_BSD_SYMTAB: the symbol table must be loaded: yes/no (string). */
export const XEN_ELFNOTE_BSD_SYMTAB = 11;
/** XEN_ELFNOTE_HV_START_LOW: lowest start of the hypervisor hole (numeric). */
export const XEN_ELFNOTE_HV_START_LOW = 12;
/** XEN_ELFNOTE_L1_MFN_VALID: mask/value pairs recognising L1 entries with valid MFNs. */
export const XEN_ELFNOTE_L1_MFN_VALID = 13;
/** XEN_ELFNOTE_SUSPEND_CANCEL: cooperative suspend cancellation (numeric). */
export const XEN_ELFNOTE_SUSPEND_CANCEL = 14;
/** XEN_ELFNOTE_INIT_P2M: virtual address for the initial P2M list (numeric). */
export const XEN_ELFNOTE_INIT_P2M = 15;
/** XEN_ELFNOTE_MOD_START_PFN: initrd may be passed by PFN, unmapped (numeric). */
export const XEN_ELFNOTE_MOD_START_PFN = 16;
/** XEN_ELFNOTE_SUPPORTED_FEATURES: XENFEAT_ bitmap of supported features (numeric). */
export const XEN_ELFNOTE_SUPPORTED_FEATURES = 17;
/** XEN_ELFNOTE_PHYS32_ENTRY: 32-bit physical PVH entry point (numeric). */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;
/** XEN_ELFNOTE_MAX: highest guest note type. */
export const XEN_ELFNOTE_MAX = XEN_ELFNOTE_PHYS32_ENTRY;
/** XEN_ELFNOTE_CRASH_INFO: crash note: system information. */
export const XEN_ELFNOTE_CRASH_INFO = 0x1000001;
/** XEN_ELFNOTE_CRASH_REGS: crash note: registers. */
export const XEN_ELFNOTE_CRASH_REGS = 0x1000002;
/** XEN_ELFNOTE_DUMPCORE_NONE: dump-core marker note. */
export const XEN_ELFNOTE_DUMPCORE_NONE = 0x2000000;
/** XEN_ELFNOTE_DUMPCORE_HEADER: dump-core header note. */
export const XEN_ELFNOTE_DUMPCORE_HEADER = 0x2000001;
/** XEN_ELFNOTE_DUMPCORE_XEN_VERSION: dump-core Xen version note. */
export const XEN_ELFNOTE_DUMPCORE_XEN_VERSION = 0x2000002;
/** XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION: dump-core format version note. */
export const XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION = 0x2000003;

/** How a note's descriptor is decoded. */
export type XenNoteKind = "string" | "numeric" | "features" | "l1_mfn_valid" | "raw";

/** Name (without XEN_ELFNOTE_) and descriptor kind per note type. */
export const XEN_NOTE_TYPES: Readonly<Record<number, { name: string; kind: XenNoteKind }>> = {
  [XEN_ELFNOTE_INFO]: { name: "INFO", kind: "string" },
  [XEN_ELFNOTE_ENTRY]: { name: "ENTRY", kind: "numeric" },
  [XEN_ELFNOTE_HYPERCALL_PAGE]: { name: "HYPERCALL_PAGE", kind: "numeric" },
  [XEN_ELFNOTE_VIRT_BASE]: { name: "VIRT_BASE", kind: "numeric" },
  [XEN_ELFNOTE_PADDR_OFFSET]: { name: "PADDR_OFFSET", kind: "numeric" },
  [XEN_ELFNOTE_XEN_VERSION]: { name: "XEN_VERSION", kind: "string" },
  [XEN_ELFNOTE_GUEST_OS]: { name: "GUEST_OS", kind: "string" },
  [XEN_ELFNOTE_GUEST_VERSION]: { name: "GUEST_VERSION", kind: "string" },
  [XEN_ELFNOTE_LOADER]: { name: "LOADER", kind: "string" },
  [XEN_ELFNOTE_PAE_MODE]: { name: "PAE_MODE", kind: "string" },
  [XEN_ELFNOTE_FEATURES]: { name: "FEATURES", kind: "features" },
  [XEN_ELFNOTE_BSD_SYMTAB]: { name: "BSD_SYMTAB", kind: "string" },
  [XEN_ELFNOTE_HV_START_LOW]: { name: "HV_START_LOW", kind: "numeric" },
  [XEN_ELFNOTE_L1_MFN_VALID]: { name: "L1_MFN_VALID", kind: "l1_mfn_valid" },
  [XEN_ELFNOTE_SUSPEND_CANCEL]: { name: "SUSPEND_CANCEL", kind: "numeric" },
  [XEN_ELFNOTE_INIT_P2M]: { name: "INIT_P2M", kind: "numeric" },
  [XEN_ELFNOTE_MOD_START_PFN]: { name: "MOD_START_PFN", kind: "numeric" },
  [XEN_ELFNOTE_SUPPORTED_FEATURES]: { name: "SUPPORTED_FEATURES", kind: "numeric" },
  [XEN_ELFNOTE_PHYS32_ENTRY]: { name: "PHYS32_ENTRY", kind: "numeric" },
  [XEN_ELFNOTE_CRASH_INFO]: { name: "CRASH_INFO", kind: "raw" },
  [XEN_ELFNOTE_CRASH_REGS]: { name: "CRASH_REGS", kind: "raw" },
  [XEN_ELFNOTE_DUMPCORE_NONE]: { name: "DUMPCORE_NONE", kind: "raw" },
  [XEN_ELFNOTE_DUMPCORE_HEADER]: { name: "DUMPCORE_HEADER", kind: "raw" },
  [XEN_ELFNOTE_DUMPCORE_XEN_VERSION]: { name: "DUMPCORE_XEN_VERSION", kind: "raw" },
  [XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION]: { name: "DUMPCORE_FORMAT_VERSION", kind: "raw" },
};

/** XENFEAT_* names of public/features.h, indexed by bit. */
export const XENFEAT_NAMES: readonly string[] = [
  "writable_page_tables",
  "writable_descriptor_tables",
  "auto_translated_physmap",
  "supervisor_mode_kernel",
  "pae_pgdir_above_4gb",
  "mmu_pt_update_preserve_ad",
  "highmem_assist",
  "gnttab_map_avail_bits",
  "hvm_callback_vector",
  "hvm_safe_pvclock",
  "hvm_pirqs",
  "dom0",
  "grant_map_identity",
  "memory_op_vnode_supported",
  "ARM_SMCCC_supported",
  "linux_rsdp_unrestricted",
  "not_direct_mapped",
  "direct_mapped",
];

/** One feature of a FEATURES string. */
export interface XenFeature {
  /** the name as written, without '!' */
  name: string;
  /** XENFEAT_ bit, or null when the name is unknown */
  bit: number | null;
  /** written with a leading '!' */
  required: boolean;
}

/** One decoded "Xen" note. Fields beyond `kind` are set according to it. */
export interface XenNote {
  type: number;
  /** XEN_ELFNOTE_ name without prefix, or "unknown" */
  name: string;
  kind: XenNoteKind;
  descsz: number;
  /** string and features notes */
  text?: string;
  /** numeric notes (descsz 1, 2, 4 or 8; other sizes read as 0, as Xen does) */
  number?: bigint;
  /** features notes */
  features?: XenFeature[];
  /** L1_MFN_VALID: mask/value pairs */
  pairs?: { mask: bigint; value: bigint }[];
  /** the descriptor bytes */
  desc: Uint8Array;
}

/** PAE handling of a 32-bit guest, as Xen's XEN_PAE_* values. */
export type PaeMode = "no" | "yes" | "extended-cr3" | "bimodal";

/** The values a PV loader computes from notes/legacy string and the load segments. */
export interface XenBootParams {
  virtBase: bigint;
  elfPaddrOffset: bigint;
  /** virtBase - elfPaddrOffset: added to a segment's paddr to get its virtual address */
  virtOffset: bigint;
  /** virtual entry point: ENTRY note / VIRT_ENTRY, else e_entry */
  entry: bigint;
  /** virtual address of the hypercall page, or null when none is requested */
  hypercallPage: bigint | null;
  /** virtual extent of the loaded kernel [vStart, vEnd) */
  vStart: bigint;
  vEnd: bigint;
  /** lowest / highest+1 paddr of the loadable segments */
  pStart: bigint;
  pEnd: bigint;
  pae: PaeMode;
  /** 32-bit physical entry for PVH (PHYS32_ENTRY), or null */
  phys32Entry: bigint | null;
  /** INIT_P2M virtual address, or null */
  p2mBase: bigint | null;
}

/** Everything Xen-specific about an image. */
export interface XenNotes {
  /** every note owned by "Xen", in file order */
  notes: XenNote[];
  /** the legacy `__xen_guest` string, when present */
  legacy: LegacyGuestInfo | null;
  /** where the parameters come from: Xen uses the notes when any exist, else the string */
  source: "notes" | "legacy" | "none";
  guestOs: string | null;
  guestVersion: string | null;
  xenVersion: string | null;
  loader: string | null;
  /** PAE_MODE note or PAE= as written */
  paeText: string | null;
  /** FEATURES (note or legacy), decoded */
  features: XenFeature[];
  /** SUPPORTED_FEATURES note value (a bitmap of XENFEAT_ bits), or null */
  supportedFeaturesBitmap: number | null;
  /** names of supported features: FEATURES entries and SUPPORTED_FEATURES bits */
  supportedFeatures: string[];
  /** names of features marked required ('!') */
  requiredFeatures: string[];
  bsdSymtab: boolean;
  hvStartLow: bigint | null;
  l1MfnValid: { mask: bigint; value: bigint }[];
  suspendCancel: bigint | null;
  modStartPfn: bigint | null;
  /** derived loader parameters */
  boot: XenBootParams;
  /** problems found while decoding (unknown required feature, ELF_PADDR_OFFSET without VIRT_BASE, ...) */
  warnings: string[];
}

const U64 = (1n << 64n) - 1n;

/**
 * Decodes a FEATURES string ('|'-separated, '!' marks a required feature).
 * @param text the string
 * @returns the features in order, unknown names kept with bit null
 */
export function parseFeatures(text: string): XenFeature[] {
  const out: XenFeature[] = [];
  for (const part of text.split("|")) {
    if (part === "") continue;
    const required = part.startsWith("!");
    const name = required ? part.slice(1) : part;
    const bit = XENFEAT_NAMES.indexOf(name);
    out.push({ name, bit: bit < 0 ? null : bit, required });
  }
  return out;
}

/**
 * Reads a numeric note descriptor as Xen's elf_note_numeric does (little-endian, 1/2/4/8 bytes).
 * @param desc the descriptor
 * @returns the value, 0 for other sizes
 */
export function noteNumeric(desc: Uint8Array): bigint {
  if (desc.length !== 1 && desc.length !== 2 && desc.length !== 4 && desc.length !== 8) return 0n;
  let v = 0n;
  for (let i = desc.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(desc[i]);
  return v;
}

function leUint(desc: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(desc[off + i]);
  return v;
}

function descString(desc: Uint8Array): string {
  return cString(desc, 0, desc.length);
}

/**
 * Decodes one "Xen" note.
 * @param note the raw note
 * @returns the note with its value decoded according to its type
 */
export function decodeXenNote(note: ElfNote): XenNote {
  const def = XEN_NOTE_TYPES[note.type];
  const out: XenNote = {
    type: note.type,
    name: def?.name ?? "unknown",
    kind: def?.kind ?? "raw",
    descsz: note.descsz,
    desc: note.desc,
  };
  switch (out.kind) {
    case "string":
      out.text = descString(note.desc);
      break;
    case "features":
      out.text = descString(note.desc);
      out.features = parseFeatures(out.text);
      break;
    case "numeric":
      out.number = note.desc.length === note.descsz ? noteNumeric(note.desc) : 0n;
      break;
    case "l1_mfn_valid": {
      // maddr_t-sized mask/value pairs: 8-byte halves when they fit, else 4-byte ones.
      const size = note.desc.length % 16 === 0 ? 8 : note.desc.length % 8 === 0 ? 4 : 0;
      out.pairs = [];
      for (let o = 0; size > 0 && o + 2 * size <= note.desc.length; o += 2 * size) {
        out.pairs.push({
          mask: leUint(note.desc, o, size),
          value: leUint(note.desc, o + size, size),
        });
      }
      break;
    }
  }
  return out;
}

function paeFrom(text: string | null, legacy: boolean): PaeMode {
  if (text === null) return "no";
  // libelf: legacy PAE= is "yes[extended-cr3]" or starts with "yes"; in the note "yes" means
  // extended-cr3 and "bimodal" anywhere wins.
  if (legacy) {
    if (text === "yes[extended-cr3]") return "extended-cr3";
    return text.startsWith("yes") ? "yes" : "no";
  }
  if (text.includes("bimodal")) return "bimodal";
  return text === "yes" ? "extended-cr3" : "no";
}

/**
 * Decodes every Xen note of an image, merges the legacy `__xen_guest` string, and derives
 * the loader's parameters as Xen's libelf does (elf_xen_parse, elf_xen_addr_calc_check).
 * @param elf the parsed image
 * @returns the decoded notes and boot parameters (defaults when the image has none)
 * @example
 * ```ts
 * const x = readXenNotes(parseElf(bytes));
 * console.log(x.guestOs, x.boot.entry.toString(16), x.boot.hypercallPage);
 * ```
 */
export function readXenNotes(elf: ElfImage): XenNotes {
  // libelf: "Xen" notes of the PT_NOTE segments; the SHT_NOTE sections only when those
  // hold none (whatever other notes the segments carry).
  const segXen = elf.segmentNotes.filter((n) => n.name === "Xen");
  const notes = (segXen.length > 0 ? segXen : elf.sectionNotes.filter((n) => n.name === "Xen"))
    .map(decodeXenNote);
  const legacy = readLegacyGuest(elf);
  const source = notes.length > 0 ? "notes" : legacy ? "legacy" : "none";
  const warnings: string[] = [];
  const last = (type: number): XenNote | undefined => notes.findLast((n) => n.type === type);
  const num = (type: number): bigint | null => last(type)?.number ?? null;
  const str = (type: number): string | null => last(type)?.text ?? null;

  let guestOs: string | null = null, guestVersion: string | null = null;
  let xenVersion: string | null = null, loader: string | null = null;
  let paeText: string | null = null, featuresText: string | null = null;
  let bsdSymtab = false;
  let virtBase: bigint | null = null, paddrOffset: bigint | null = null;
  let entry: bigint | null = null, hypercall: bigint | null = null;
  if (source === "notes") {
    guestOs = str(XEN_ELFNOTE_GUEST_OS);
    guestVersion = str(XEN_ELFNOTE_GUEST_VERSION);
    xenVersion = str(XEN_ELFNOTE_XEN_VERSION);
    loader = str(XEN_ELFNOTE_LOADER);
    paeText = str(XEN_ELFNOTE_PAE_MODE);
    featuresText = str(XEN_ELFNOTE_FEATURES);
    bsdSymtab = str(XEN_ELFNOTE_BSD_SYMTAB) === "yes";
    virtBase = num(XEN_ELFNOTE_VIRT_BASE);
    paddrOffset = num(XEN_ELFNOTE_PADDR_OFFSET);
    entry = num(XEN_ELFNOTE_ENTRY);
    hypercall = num(XEN_ELFNOTE_HYPERCALL_PAGE);
  } else if (legacy) {
    ({ guestOs, guestVersion, xenVersion, loader, bsdSymtab, virtBase } = legacy);
    paeText = legacy.pae;
    featuresText = legacy.features;
    paddrOffset = legacy.elfPaddrOffset;
    entry = legacy.virtEntry;
  }

  const features = featuresText === null ? [] : parseFeatures(featuresText);
  for (const f of features) {
    if (f.bit === null && f.required) warnings.push(`unknown required feature "${f.name}"`);
  }
  const bitmapNote = source === "notes" ? num(XEN_ELFNOTE_SUPPORTED_FEATURES) : null;
  const supportedFeaturesBitmap = bitmapNote === null ? null : Number(bitmapNote & 0xffffffffn);
  const supported = new Set(features.filter((f) => f.bit !== null).map((f) => f.name));
  for (let bit = 0; supportedFeaturesBitmap !== null && bit < 32; bit++) {
    if ((supportedFeaturesBitmap >>> bit) & 1) supported.add(XENFEAT_NAMES[bit] ?? `bit${bit}`);
  }
  const required = features.filter((f) => f.required).map((f) => f.name);

  // elf_xen_addr_calc_check
  if (paddrOffset !== null && virtBase === null) {
    warnings.push("ELF_PADDR_OFFSET set, VIRT_BASE unset");
  }
  const vb = virtBase ?? 0n;
  const po = paddrOffset ?? (source === "legacy" ? vb : 0n);
  const virtOffset = (vb - po) & U64;
  let pStart = U64, pEnd = 0n;
  for (const ph of elf.programHeaders) {
    // elf_phdr_is_loadable: PT_LOAD with any of R/W/X
    if (ph.type !== PT_LOAD || (ph.flags & 7) === 0) continue;
    if (ph.paddr < pStart) pStart = ph.paddr;
    const end = ph.paddr + ph.memsz;
    if (end > pEnd) pEnd = end;
  }
  if (pStart > pEnd) pStart = pEnd = 0n;
  if (
    source === "legacy" && legacy?.hypercallPage !== null && legacy?.hypercallPage !== undefined
  ) {
    hypercall = (vb + (legacy.hypercallPage << 12n)) & U64;
  }
  const boot: XenBootParams = {
    virtBase: vb,
    elfPaddrOffset: po,
    virtOffset,
    entry: entry ?? elf.entry,
    hypercallPage: hypercall,
    vStart: (pStart + virtOffset) & U64,
    vEnd: (pEnd + virtOffset) & U64,
    pStart,
    pEnd,
    pae: paeFrom(paeText, source === "legacy"),
    phys32Entry: source === "notes" ? num(XEN_ELFNOTE_PHYS32_ENTRY) : null,
    p2mBase: source === "notes" ? num(XEN_ELFNOTE_INIT_P2M) : null,
  };

  const l1 = last(XEN_ELFNOTE_L1_MFN_VALID);
  return {
    notes,
    legacy,
    source,
    guestOs,
    guestVersion,
    xenVersion,
    loader,
    paeText,
    features,
    supportedFeaturesBitmap,
    supportedFeatures: [...supported],
    requiredFeatures: required,
    bsdSymtab,
    hvStartLow: source === "notes" ? num(XEN_ELFNOTE_HV_START_LOW) : null,
    l1MfnValid: l1?.pairs ?? [],
    suspendCancel: source === "notes" ? num(XEN_ELFNOTE_SUSPEND_CANCEL) : null,
    modStartPfn: source === "notes" ? num(XEN_ELFNOTE_MOD_START_PFN) : null,
    boot,
    warnings,
  };
}
