/**
 * ELF32/ELF64 (little-endian) parser for guest kernel images: header, program headers,
 * sections with names, and the notes of PT_NOTE segments and SHT_NOTE sections.
 * Every offset is bounds-checked; malformed input throws {@link ElfFormatError}.
 * @module
 */
import { InputError } from "../../errors.ts";

/** Bad or unsupported ELF input. Exit code 2, as every {@link InputError}. */
export class ElfFormatError extends InputError {
  override name = "ElfFormatError";
}

/** PT_NULL: Unused program header. */
export const PT_NULL = 0;
/** PT_LOAD: Loadable segment. */
export const PT_LOAD = 1;
/** PT_DYNAMIC: Dynamic linking information. */
export const PT_DYNAMIC = 2;
/** PT_INTERP: Interpreter path. */
export const PT_INTERP = 3;
/** PT_NOTE: Notes segment. */
export const PT_NOTE = 4;
/** PT_PHDR: The program header table itself. */
export const PT_PHDR = 6;
/** SHT_NULL: Unused section header. */
export const SHT_NULL = 0;
/** SHT_STRTAB: String table section. */
export const SHT_STRTAB = 3;
/** SHT_NOTE: Notes section. */
export const SHT_NOTE = 7;
/** SHT_NOBITS: Section occupying no file space (.bss). */
export const SHT_NOBITS = 8;
/** EM_386: Intel 80386 (32-bit x86). */
export const EM_386 = 3;
/** EM_X86_64: AMD x86-64. */
export const EM_X86_64 = 62;
/** PF_X: Segment is executable. */
export const PF_X = 1;
/** PF_W: Segment is writable. */
export const PF_W = 2;
/** PF_R: Segment is readable. */
export const PF_R = 4;

const PT_NAMES: Record<number, string> = {
  0: "NULL",
  1: "LOAD",
  2: "DYNAMIC",
  3: "INTERP",
  4: "NOTE",
  5: "SHLIB",
  6: "PHDR",
  7: "TLS",
  0x6474e550: "GNU_EH_FRAME",
  0x6474e551: "GNU_STACK",
  0x6474e552: "GNU_RELRO",
  0x6474e553: "GNU_PROPERTY",
};
const SHT_NAMES: Record<number, string> = {
  0: "NULL",
  1: "PROGBITS",
  2: "SYMTAB",
  3: "STRTAB",
  4: "RELA",
  5: "HASH",
  6: "DYNAMIC",
  7: "NOTE",
  8: "NOBITS",
  9: "REL",
  11: "DYNSYM",
  14: "INIT_ARRAY",
  15: "FINI_ARRAY",
};
const ET_NAMES: Record<number, string> = { 0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE" };
const EM_NAMES: Record<number, string> = { 3: "i386", 62: "x86-64", 40: "arm", 183: "aarch64" };

/** One program header. Addresses and memory sizes are u64 (bigint); file ranges are checked numbers. */
export interface ElfProgramHeader {
  index: number;
  /** p_type */
  type: number;
  /** "LOAD", "NOTE", ... or "0x..." when unknown */
  typeName: string;
  /** p_offset (within the file when filesz > 0) */
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  /** p_filesz (offset + filesz is within the file) */
  filesz: number;
  memsz: bigint;
  /** p_flags (PF_R | PF_W | PF_X) */
  flags: number;
  align: bigint;
}

/** One section header, with its name from the section-name string table when present. */
export interface ElfSection {
  index: number;
  /** the name from the section-name string table ("" when there is none) */
  name: string;
  /** sh_name: offset of the name in the section-name string table */
  nameOffset: number;
  type: number;
  typeName: string;
  flags: bigint;
  addr: bigint;
  /** sh_offset (within the file unless the section is SHT_NOBITS) */
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: bigint;
  entsize: bigint;
}

/** One ELF note (any owner), as found in a PT_NOTE segment or an SHT_NOTE section. */
export interface ElfNote {
  /** owner name without its NUL, e.g. "Xen", "GNU", "Linux" */
  name: string;
  type: number;
  /** the descriptor bytes (a view into the image; shorter than descsz when clipped) */
  desc: Uint8Array;
  /** the descriptor size the note declares */
  descsz: number;
  /** file offset of the note header */
  offset: number;
  /** where the note was found */
  source: "segment" | "section";
  /** index of the program header or section holding it */
  container: number;
}

/** A parsed ELF image. */
export interface ElfImage {
  /** the whole file */
  bytes: Uint8Array;
  /** 32 for ELFCLASS32, 64 for ELFCLASS64 */
  bits: 32 | 64;
  /** e_type and its name */
  type: number;
  typeName: string;
  /** e_machine and its name */
  machine: number;
  machineName: string;
  /** EI_OSABI */
  osabi: number;
  /** e_entry */
  entry: bigint;
  /** e_flags */
  flags: number;
  programHeaders: ElfProgramHeader[];
  sections: ElfSection[];
  /** notes of the PT_NOTE segments, or of the SHT_NOTE sections when no segment holds any */
  notes: ElfNote[];
  /** every note of the PT_NOTE segments */
  segmentNotes: ElfNote[];
  /** every note of the SHT_NOTE sections (may repeat segment notes) */
  sectionNotes: ElfNote[];
  /** tolerated oddities (a note overrunning its segment, ...) */
  warnings: string[];
}

/** Most program headers / sections we accept (hostile counts must not cost time). */
const MAX_HEADERS = 65535;
/** Most warnings kept (one per malformed note container). */
const MAX_WARNINGS = 32;
/** Most notes per image, over all containers (many headers may name one region). */
const MAX_NOTES = 16384;

/** Bounds-checked little-endian reader over the image. */
class Reader {
  readonly dv: DataView;
  constructor(readonly bytes: Uint8Array, readonly what: string) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(msg: string): never {
    throw new ElfFormatError(`Cannot load image "${this.what}": ${msg}`);
  }
  need(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.bytes.length) {
      this.fail(
        `${what} at offset ${off} (${len} bytes) lies outside the file (${this.bytes.length} bytes)`,
      );
    }
  }
  u8(off: number): number {
    return this.bytes[off];
  }
  u16(off: number): number {
    return this.dv.getUint16(off, true);
  }
  u32(off: number): number {
    return this.dv.getUint32(off, true);
  }
  u64(off: number): bigint {
    return this.dv.getBigUint64(off, true);
  }
  /** A u64 that must be a file offset or size: fits in a JS number. */
  fileNum(v: bigint, what: string): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} 0x${v.toString(16)} is too large`);
    return Number(v);
  }
}

/**
 * Parses an ELF image.
 * @param bytes the file contents
 * @param what the name used in error messages (usually the file path)
 * @returns the header, program headers, sections and notes
 * @throws {ElfFormatError} when the image is not a well-formed little-endian ELF32/ELF64
 * @example
 * ```ts
 * const elf = parseElf(await Deno.readFile("guest.elf"), "guest.elf");
 * console.log(elf.bits, elf.entry.toString(16));
 * ```
 */
export function parseElf(bytes: Uint8Array, what = "image"): ElfImage {
  const r = new Reader(bytes, what);
  if (bytes.length < 16) r.fail(`file too short for an ELF header (${bytes.length} bytes)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    r.fail("not an ELF file (bad magic)");
  }
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) r.fail(`unknown ELF class ${cls}`);
  if (bytes[5] !== 1) {
    r.fail(
      bytes[5] === 2 ? "big-endian ELF is not supported" : `bad ELF data encoding ${bytes[5]}`,
    );
  }
  const bits: 32 | 64 = cls === 1 ? 32 : 64;
  const ehsize = bits === 32 ? 52 : 64;
  r.need(0, ehsize, "the ELF header");
  const type = r.u16(16);
  const machine = r.u16(18);
  const word = (off: number): bigint => bits === 32 ? BigInt(r.u32(off)) : r.u64(off);
  const entry = word(24);
  const phoff = r.fileNum(word(bits === 32 ? 28 : 32), "e_phoff");
  const shoff = r.fileNum(word(bits === 32 ? 32 : 40), "e_shoff");
  const b = bits === 32 ? 36 : 48;
  const flags = r.u32(b);
  const phentsize = r.u16(b + 6);
  let phnum = r.u16(b + 8);
  const shentsize = r.u16(b + 10);
  let shnum = r.u16(b + 12);
  let shstrndx = r.u16(b + 14);
  const wantPh = bits === 32 ? 32 : 56;
  const wantSh = bits === 32 ? 40 : 64;

  // Extended numbering (gABI): counts too large for the header live in section 0.
  if (
    shoff !== 0 && shentsize >= wantSh && (shnum === 0 || shstrndx === 0xffff || phnum === 0xffff)
  ) {
    r.need(shoff, wantSh, "section header 0");
    const size0 = r.fileNum(word(shoff + (bits === 32 ? 20 : 32)), "sh_size of section 0");
    if (shnum === 0 && size0 !== 0) shnum = size0;
    if (shstrndx === 0xffff) shstrndx = r.u32(shoff + (bits === 32 ? 24 : 40));
    if (phnum === 0xffff) phnum = r.u32(shoff + (bits === 32 ? 28 : 44));
  }
  if (phnum > MAX_HEADERS) r.fail(`too many program headers (${phnum})`);
  if (shnum > MAX_HEADERS) r.fail(`too many sections (${shnum})`);

  const programHeaders: ElfProgramHeader[] = [];
  if (phnum > 0) {
    if (phentsize < wantPh) r.fail(`e_phentsize ${phentsize} is smaller than ${wantPh}`);
    r.need(phoff, phnum * phentsize, "the program header table");
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      const ph = bits === 32
        ? {
          type: r.u32(o),
          offset: BigInt(r.u32(o + 4)),
          vaddr: BigInt(r.u32(o + 8)),
          paddr: BigInt(r.u32(o + 12)),
          filesz: BigInt(r.u32(o + 16)),
          memsz: BigInt(r.u32(o + 20)),
          flags: r.u32(o + 24),
          align: BigInt(r.u32(o + 28)),
        }
        : {
          type: r.u32(o),
          flags: r.u32(o + 4),
          offset: r.u64(o + 8),
          vaddr: r.u64(o + 16),
          paddr: r.u64(o + 24),
          filesz: r.u64(o + 32),
          memsz: r.u64(o + 40),
          align: r.u64(o + 48),
        };
      const offset = r.fileNum(ph.offset, `p_offset of program header ${i}`);
      const filesz = r.fileNum(ph.filesz, `p_filesz of program header ${i}`);
      if (filesz > 0) r.need(offset, filesz, `program header ${i} (${ptName(ph.type)})`);
      if (ph.type === PT_LOAD && ph.memsz < ph.filesz) {
        r.fail(`program header ${i}: p_memsz is smaller than p_filesz`);
      }
      programHeaders.push({
        index: i,
        type: ph.type,
        typeName: ptName(ph.type),
        offset,
        vaddr: ph.vaddr,
        paddr: ph.paddr,
        filesz,
        memsz: ph.memsz,
        flags: ph.flags,
        align: ph.align,
      });
    }
  }

  const sections: ElfSection[] = [];
  if (shnum > 0 && shoff !== 0) {
    if (shentsize < wantSh) r.fail(`e_shentsize ${shentsize} is smaller than ${wantSh}`);
    r.need(shoff, shnum * shentsize, "the section header table");
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      const s = bits === 32
        ? {
          nameOff: r.u32(o),
          type: r.u32(o + 4),
          flags: BigInt(r.u32(o + 8)),
          addr: BigInt(r.u32(o + 12)),
          offset: BigInt(r.u32(o + 16)),
          size: BigInt(r.u32(o + 20)),
          link: r.u32(o + 24),
          info: r.u32(o + 28),
          addralign: BigInt(r.u32(o + 32)),
          entsize: BigInt(r.u32(o + 36)),
        }
        : {
          nameOff: r.u32(o),
          type: r.u32(o + 4),
          flags: r.u64(o + 8),
          addr: r.u64(o + 16),
          offset: r.u64(o + 24),
          size: r.u64(o + 32),
          link: r.u32(o + 40),
          info: r.u32(o + 44),
          addralign: r.u64(o + 48),
          entsize: r.u64(o + 56),
        };
      const offset = r.fileNum(s.offset, `sh_offset of section ${i}`);
      const size = r.fileNum(s.size, `sh_size of section ${i}`);
      if (s.type !== SHT_NOBITS && s.type !== SHT_NULL && size > 0) {
        r.need(offset, size, `section ${i}`);
      }
      sections.push({
        index: i,
        name: "", // resolved below, once the string table is known
        nameOffset: s.nameOff,
        type: s.type,
        typeName: SHT_NAMES[s.type] ?? `0x${s.type.toString(16)}`,
        flags: s.flags,
        addr: s.addr,
        offset,
        size,
        link: s.link,
        info: s.info,
        addralign: s.addralign,
        entsize: s.entsize,
      });
    }
    resolveSectionNames(r, sections, shstrndx);
  }

  const warnings: string[] = [];
  const segNotes: ElfNote[] = [];
  for (const ph of programHeaders) {
    // Some binutils leave p_offset 0 in note segments; Xen's readnotes skips those too.
    if (ph.type !== PT_NOTE || ph.offset === 0) continue;
    parseNotes(r, ph.offset, ph.filesz, "segment", ph.index, segNotes, warnings);
  }
  const sectionNotes: ElfNote[] = [];
  for (const s of sections) {
    if (s.type !== SHT_NOTE) continue;
    parseNotes(r, s.offset, s.size, "section", s.index, sectionNotes, warnings);
  }

  return {
    bytes,
    bits,
    type,
    typeName: ET_NAMES[type] ?? `0x${type.toString(16)}`,
    machine,
    machineName: EM_NAMES[machine] ?? `machine ${machine}`,
    osabi: bytes[7],
    entry,
    flags,
    programHeaders,
    sections,
    notes: segNotes.length > 0 ? segNotes : sectionNotes,
    segmentNotes: segNotes,
    sectionNotes,
    warnings,
  };
}

function ptName(t: number): string {
  return PT_NAMES[t] ?? `0x${t.toString(16)}`;
}

/** Sets each section's name from its sh_name offset into the section-name string table. */
function resolveSectionNames(r: Reader, sections: ElfSection[], shstrndx: number): void {
  const strtab = shstrndx > 0 && shstrndx < sections.length ? sections[shstrndx] : undefined;
  for (const s of sections) {
    if (!strtab || strtab.type === SHT_NOBITS || s.nameOffset >= strtab.size) continue;
    s.name = cString(r.bytes, strtab.offset + s.nameOffset, strtab.offset + strtab.size, MAX_NAME);
  }
}

/** Longest string read from an image: names and Xen strings are short; hostile ones are not. */
export const MAX_STRING = 4096;
/** Longest section name kept. */
const MAX_NAME = 256;

/**
 * Reads a NUL-terminated string in [start, limit) as Latin-1 (names and Xen strings are ASCII),
 * at most `maxLen` characters, so that many headers sharing one unterminated table stay cheap.
 * @param bytes the buffer
 * @param start first byte
 * @param limit end of the region (exclusive); the string stops there if no NUL is found
 * @param maxLen most characters returned (default {@link MAX_STRING})
 * @returns the string without its NUL
 */
export function cString(
  bytes: Uint8Array,
  start: number,
  limit: number,
  maxLen = MAX_STRING,
): string {
  let end = start;
  const stop = Math.min(limit, bytes.length, start + maxLen);
  while (end < stop && bytes[end] !== 0) end++;
  // maxLen bounds the argument count; one native call beats a char-by-char concatenation
  return String.fromCharCode.apply(null, Array.from(bytes.subarray(start, end)));
}

/** Parses the notes of one region (4-byte aligned name and desc, as Xen and Linux emit them). */
function parseNotes(
  r: Reader,
  start: number,
  size: number,
  source: "segment" | "section",
  container: number,
  out: ElfNote[],
  warnings: string[],
): void {
  const end = start + size;
  let off = start;
  while (off + 12 <= end) {
    const namesz = r.u32(off);
    const descsz = r.u32(off + 4);
    const type = r.u32(off + 8);
    const nameStart = off + 12;
    const descStart = nameStart + align4(namesz);
    const next = descStart + align4(descsz);
    if (nameStart + namesz > end || descStart > end) {
      if (warnings.length < MAX_WARNINGS) {
        warnings.push(
          `note at offset ${off} (${source} ${container}) overruns its ${source}; ignored`,
        );
      }
      break;
    }
    // GRUB's PAE_MODE note declares 12 bytes but its segment holds 4: keep what the
    // container holds, as Xen's libelf does, and say so.
    const descEnd = Math.min(descStart + descsz, end);
    if (descEnd < descStart + descsz && warnings.length < MAX_WARNINGS) {
      warnings.push(
        `note at offset ${off} (${source} ${container}) declares ${descsz} descriptor bytes, ` +
          `its ${source} holds ${descEnd - descStart}`,
      );
    }
    out.push({
      name: cString(r.bytes, nameStart, nameStart + namesz),
      type,
      desc: r.bytes.subarray(descStart, descEnd),
      descsz,
      offset: off,
      source,
      container,
    });
    if (out.length > MAX_NOTES) r.fail(`too many notes (more than ${MAX_NOTES})`);
    off = next;
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
