/**
 * The image report behind `pvx inspect`: layers, ELF, every Xen note, the legacy string and
 * a derived boot summary (guest kind, addresses, what a loader must provide, problems), as
 * one JSON-safe object whose shape is the documented `--json` schema (version 1).
 * @module
 */
import { type ElfImage, EM_386, EM_X86_64, parseElf, PF_R, PF_W, PF_X } from "../hypervisor/mod.ts";
import { type ImageLayer, unwrapImage } from "../hypervisor/mod.ts";
import { readXenNotes, type XenNote, type XenNotes } from "../hypervisor/mod.ts";
import { bootRefusal } from "../hypervisor/mod.ts";

/** Version of the report schema; bumped on any incompatible change. */
export const INSPECT_SCHEMA_VERSION = 1;

/** Guest kinds: PV 64-bit, PV 32-bit PAE, PV 32-bit without PAE, PVH only, not a Xen kernel. */
export type GuestKind = "pv64" | "pv32pae" | "pv32" | "pvh-only" | "not-xen";

/** A u64 written as "0x..." (JSON has no 64-bit integers). */
export type Hex = string;

/**
 * The `pvx inspect --json` document (schemaVersion 1). Addresses are "0x" hex strings;
 * sizes and file offsets are numbers; absent values are null.
 */
export interface InspectReport {
  schemaVersion: 1;
  file: { path: string; size: number };
  /** wrappers removed, outermost first (empty for a bare ELF) */
  layers: {
    kind: "gzip" | "bzImage" | "compressed";
    format: string;
    offset: number;
    compressedSize: number;
    outputSize: number;
    declaredSize: number | null;
    bzImage: {
      protocol: string;
      setupSects: number;
      payloadOffset: number;
      payloadLength: number;
      relocatable: boolean;
      kernelAlignment: number;
      xloadflags: number;
      prefAddress: Hex;
      initSize: number;
      kernelVersion: string | null;
    } | null;
  }[];
  elf: {
    class: 32 | 64;
    type: string;
    machine: number;
    machineName: string;
    entry: Hex;
    flags: number;
    size: number;
    programHeaders: {
      index: number;
      type: string;
      offset: number;
      vaddr: Hex;
      paddr: Hex;
      filesz: number;
      memsz: Hex;
      /** "R", "W", "X" letters, "-" for a missing one: "R-X" */
      flags: string;
      align: Hex;
    }[];
    sections: {
      index: number;
      name: string;
      type: string;
      addr: Hex;
      offset: number;
      size: number;
      flags: Hex;
    }[];
    warnings: string[];
  };
  xen: {
    /** "notes" (Xen ELF notes), "legacy" (`__xen_guest` only) or "none" */
    source: "notes" | "legacy" | "none";
    /** every note owned by "Xen", in file order; unknown types kept with name "unknown" */
    notes: {
      type: number;
      name: string;
      kind: string;
      descsz: number;
      /** string text, numeric "0x" value, features text; null for raw and L1_MFN_VALID */
      value: string | null;
      features?: { name: string; bit: number | null; required: boolean }[];
      pairs?: { mask: Hex; value: Hex }[];
      /** descriptor bytes as hex */
      raw: string;
    }[];
    legacyGuest: { raw: string; pairs: { key: string; value: string | null }[] } | null;
    guestOs: string | null;
    guestVersion: string | null;
    xenVersion: string | null;
    loader: string | null;
    paeMode: string | null;
    features: { name: string; bit: number | null; required: boolean }[];
    supportedFeatures: string[];
    requiredFeatures: string[];
    supportedFeaturesBitmap: number | null;
    bsdSymtab: boolean;
    hvStartLow: Hex | null;
    l1MfnValid: { mask: Hex; value: Hex }[];
    suspendCancel: boolean | null;
    modStartPfn: boolean | null;
    initP2m: Hex | null;
    phys32Entry: Hex | null;
  };
  boot: {
    kind: GuestKind;
    /** the image also has a PVH entry point */
    pvh: boolean;
    virtBase: Hex;
    elfPaddrOffset: Hex;
    entry: Hex;
    hypercallPage: Hex | null;
    /** virtual extent [virtStart, virtEnd) */
    virtStart: Hex;
    virtEnd: Hex;
    pae: string;
    loaderMustProvide: string[];
    problems: string[];
    /** why `pvx boot` refuses this image (the loader's own sentence), or null: it boots it */
    pvxBootRefusal: string | null;
  };
}

const hex = (v: bigint | number): Hex => `0x${v.toString(16)}`;
const hexOrNull = (v: bigint | null): Hex | null => v === null ? null : hex(v);
const bytesHex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function flagLetters(f: number): string {
  return (f & PF_R ? "R" : "-") + (f & PF_W ? "W" : "-") + (f & PF_X ? "X" : "-");
}

function noteJson(n: XenNote): InspectReport["xen"]["notes"][number] {
  const value = n.kind === "numeric"
    ? hex(n.number ?? 0n)
    : n.kind === "string" || n.kind === "features"
    ? n.text ?? ""
    : null;
  const out: InspectReport["xen"]["notes"][number] = {
    type: n.type,
    name: n.name,
    kind: n.kind,
    descsz: n.descsz,
    value,
    raw: bytesHex(n.desc),
  };
  if (n.features) out.features = n.features;
  if (n.pairs) out.pairs = n.pairs.map((p) => ({ mask: hex(p.mask), value: hex(p.value) }));
  return out;
}

function layerJson(l: ImageLayer): InspectReport["layers"][number] {
  const bz = l.bzImage;
  return {
    kind: l.kind,
    format: l.format,
    offset: l.offset,
    compressedSize: l.compressedSize,
    outputSize: l.outputSize,
    declaredSize: l.declaredSize,
    bzImage: bz
      ? {
        protocol: bz.protocol,
        setupSects: bz.setupSects,
        payloadOffset: bz.payloadOffset,
        payloadLength: bz.payloadLength,
        relocatable: bz.relocatable,
        kernelAlignment: bz.kernelAlignment,
        xloadflags: bz.xloadflags,
        prefAddress: hex(bz.prefAddress),
        initSize: bz.initSize,
        kernelVersion: bz.kernelVersion,
      }
      : null,
  };
}

/**
 * Classifies the guest as Xen's loaders would (libelf elf_xen_note_check, xc_dom type).
 * @param elf the image
 * @param x its Xen notes
 * @returns the kind and whether a PVH entry exists
 */
export function guestKind(elf: ElfImage, x: XenNotes): { kind: GuestKind; pvh: boolean } {
  const pvh = x.boot.phys32Entry !== null;
  if (x.source === "none") return { kind: "not-xen", pvh: false };
  const pvCapable = ((x.loader ?? "").startsWith("generic") ||
    (x.guestOs ?? "").startsWith("linux")) && (x.xenVersion ?? "").startsWith("xen-3.0");
  if (!pvCapable) return { kind: pvh ? "pvh-only" : "not-xen", pvh };
  if (elf.bits === 64) return { kind: "pv64", pvh };
  return { kind: x.boot.pae === "no" ? "pv32" : "pv32pae", pvh };
}

function problemsOf(elf: ElfImage, x: XenNotes, kind: GuestKind): string[] {
  const p: string[] = [...elf.warnings, ...x.warnings];
  const b = x.boot;
  if (kind === "not-xen") {
    p.push(
      x.source === "none"
        ? "not a Xen kernel: no Xen ELF notes and no __xen_guest section"
        : `not loadable as PV: loader "${x.loader ?? ""}", guest OS "${x.guestOs ?? ""}", ` +
          `Xen version "${
            x.xenVersion ?? ""
          }" (needs loader generic or a Linux guest, and xen-3.0)`,
    );
    return p;
  }
  if (kind === "pvh-only") {
    p.push("PVH-only image: it has a PHYS32_ENTRY but no PV entry; pvx boots PV guests");
    return p;
  }
  const wantMachine = elf.bits === 64 ? EM_X86_64 : EM_386;
  if (elf.machine !== wantMachine) {
    p.push(`ELF machine ${elf.machineName} does not match a ${elf.bits}-bit x86 guest`);
  }
  if (kind === "pv32") {
    p.push("32-bit kernel without PAE: Xen 4.17 runs 32-bit PV guests only in PAE mode");
  }
  if (b.pStart === 0n && b.pEnd === 0n) p.push("no loadable segments");
  if (b.virtBase > b.vStart) {
    p.push(`virt_base ${hex(b.virtBase)} lies above the image start ${hex(b.vStart)}`);
  }
  if (b.entry < b.vStart || b.entry > b.vEnd) {
    p.push(`entry ${hex(b.entry)} outside the image [${hex(b.vStart)}, ${hex(b.vEnd)})`);
  }
  if (b.hypercallPage !== null && (b.hypercallPage < b.vStart || b.hypercallPage >= b.vEnd)) {
    p.push(`hypercall page ${hex(b.hypercallPage)} outside the image`);
  }
  if (b.p2mBase !== null && b.p2mBase >= b.vStart && b.p2mBase < b.vEnd) {
    p.push(`INIT_P2M base ${hex(b.p2mBase)} inside the image`);
  }
  return p;
}

function loaderNeeds(elf: ElfImage, x: XenNotes, kind: GuestKind, pvh: boolean): string[] {
  const b = x.boot;
  const n: string[] = [];
  if (kind === "pv64" || kind === "pv32pae" || kind === "pv32") {
    n.push(
      kind === "pv64"
        ? "a 64-bit PV domain (4-level page tables, kernel in ring 3 with its own page tables)"
        : kind === "pv32pae"
        ? `a 32-bit PAE PV domain (3-level page tables${
          b.pae === "extended-cr3" ? ", L3 tables above 4 GiB allowed" : ""
        }, kernel at CPL 1)`
        : "a 32-bit non-PAE PV domain (2-level page tables), which Xen 4.17 no longer offers",
    );
    n.push(
      `kernel segments loaded at ${hex(b.vStart)}-${hex(b.vEnd)} (virtual), paddr - ${
        hex(b.elfPaddrOffset)
      } + ${hex(b.virtBase)}`,
    );
    n.push(`entry at ${hex(b.entry)} with ${elf.bits === 64 ? "rsi" : "esi"} = start_info`);
    n.push("initial page tables mapping the kernel, start_info, P2M list and bootstrap stack");
    n.push("start_info, shared_info, console and xenstore ring pages, their event channels");
    n.push(
      b.p2mBase !== null
        ? `the P2M list mapped at ${hex(b.p2mBase)} (INIT_P2M)`
        : "the P2M list mapped after the kernel",
    );
    if (b.hypercallPage !== null) n.push(`a hypercall page written at ${hex(b.hypercallPage)}`);
    if (x.requiredFeatures.length > 0) {
      n.push(`required features: ${x.requiredFeatures.join(", ")}`);
    }
    if (x.bsdSymtab) n.push("the symbol table loaded after the kernel (BSD_SYMTAB)");
    if (x.modStartPfn !== null && x.modStartPfn !== 0n) {
      n.push("modules may be passed by PFN (MOD_START_PFN), unmapped");
    }
  }
  if (pvh) {
    n.push(
      `PVH: 32-bit protected-mode entry at ${
        hex(b.phys32Entry ?? 0n)
      } with paging off, ebx = hvm_start_info`,
    );
  }
  return n;
}

/**
 * Inspects an image: unwraps it, parses the ELF and the Xen notes, derives the boot summary.
 * @param bytes the file contents
 * @param path the name shown in the report and in errors
 * @returns the report (the `--json` document)
 * @throws {InputError} (ElfFormatError) when the image is malformed
 * @example
 * ```ts
 * const r = inspectImage(await Deno.readFile("vmlinuz"), "vmlinuz");
 * console.log(r.boot.kind, r.boot.entry);
 * ```
 */
export function inspectImage(bytes: Uint8Array, path: string): InspectReport {
  const { elf: inner, layers } = unwrapImage(bytes, { name: path });
  const elf = parseElf(inner, path);
  const x = readXenNotes(elf);
  const { kind, pvh } = guestKind(elf, x);
  const b = x.boot;
  return {
    schemaVersion: INSPECT_SCHEMA_VERSION,
    file: { path, size: bytes.length },
    layers: layers.map(layerJson),
    elf: {
      class: elf.bits,
      type: elf.typeName,
      machine: elf.machine,
      machineName: elf.machineName,
      entry: hex(elf.entry),
      flags: elf.flags,
      size: inner.length,
      programHeaders: elf.programHeaders.map((ph) => ({
        index: ph.index,
        type: ph.typeName,
        offset: ph.offset,
        vaddr: hex(ph.vaddr),
        paddr: hex(ph.paddr),
        filesz: ph.filesz,
        memsz: hex(ph.memsz),
        flags: flagLetters(ph.flags),
        align: hex(ph.align),
      })),
      sections: elf.sections.map((s) => ({
        index: s.index,
        name: s.name,
        type: s.typeName,
        addr: hex(s.addr),
        offset: s.offset,
        size: s.size,
        flags: hex(s.flags),
      })),
      warnings: elf.warnings,
    },
    xen: {
      source: x.source,
      notes: x.notes.map(noteJson),
      legacyGuest: x.legacy ? { raw: x.legacy.raw, pairs: x.legacy.pairs } : null,
      guestOs: x.guestOs,
      guestVersion: x.guestVersion,
      xenVersion: x.xenVersion,
      loader: x.loader,
      paeMode: x.paeText,
      features: x.features,
      supportedFeatures: x.supportedFeatures,
      requiredFeatures: x.requiredFeatures,
      supportedFeaturesBitmap: x.supportedFeaturesBitmap,
      bsdSymtab: x.bsdSymtab,
      hvStartLow: hexOrNull(x.hvStartLow),
      l1MfnValid: x.l1MfnValid.map((p) => ({ mask: hex(p.mask), value: hex(p.value) })),
      suspendCancel: x.suspendCancel === null ? null : x.suspendCancel !== 0n,
      modStartPfn: x.modStartPfn === null ? null : x.modStartPfn !== 0n,
      initP2m: hexOrNull(b.p2mBase),
      phys32Entry: hexOrNull(b.phys32Entry),
    },
    boot: {
      kind,
      pvh,
      virtBase: hex(b.virtBase),
      elfPaddrOffset: hex(b.elfPaddrOffset),
      entry: hex(b.entry),
      hypercallPage: hexOrNull(b.hypercallPage),
      virtStart: hex(b.vStart),
      virtEnd: hex(b.vEnd),
      pae: b.pae,
      loaderMustProvide: loaderNeeds(elf, x, kind, pvh),
      problems: problemsOf(elf, x, kind),
      pvxBootRefusal: bootRefusal(elf, x),
    },
  };
}
