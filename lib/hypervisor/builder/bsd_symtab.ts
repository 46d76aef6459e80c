/**
 * XEN_ELFNOTE_BSD_SYMTAB = "yes": the symbol and string tables are loaded after the kernel
 * image, behind a fake ELF header, as libelf's elf_parse_bsdsyms / elf_load_bsdsyms do
 * (xen/common/libelf/libelf-loader.c). Layout from the kernel's end rounded up to 4:
 *
 *     +0    u32 size (bytes from +4 to the end of the string table)
 *     +4    Elf32_Ehdr (copied; e_shoff 64, e_shnum 3, no program headers), zero padding
 *           to the size of an Elf64_Ehdr (Xen's union)
 *     +68   3 Elf32_Shdr: null, SYMTAB (sh_link 2), STRTAB; offsets relative to +4
 *     +260  the symbol table (after Xen's header struct of Elf64-sized unions)
 *           the string table (4-aligned)
 * @module
 */
import { InputError } from "../../errors.ts";
import { type ElfImage, SHT_STRTAB } from "./elf.ts";
import type { LoadSegment } from "./kernel_image.ts";

/** SHT_SYMTAB. */
const SHT_SYMTAB = 2;
const EHDR32 = 52, SHDR32 = 40, EHDR_UNION = 64, SHDR_UNION = 64, SECTIONS = 3;

const up4 = (n: number) => (n + 3) & ~3;

/**
 * Builds the segment holding the symbol table for a 32-bit ELF.
 * @param kernelEnd virt_kend: the image's end
 * @returns the segment and the new end of the kernel's extent
 * @throws InputError when the image has no usable symbol table (libelf marks it broken)
 */
export function bsdSymtabSegment(
  elf: ElfImage,
  kernelEnd: number,
  name: string,
): { segment: LoadSegment; end: number } {
  const fail = (why: string): never => {
    throw new InputError(`Cannot load image "${name}": BSD_SYMTAB is requested but ${why}`);
  };
  const sym = elf.sections.find((s) => s.type === SHT_SYMTAB);
  if (!sym) return fail("it has no symbol table");
  const str = elf.sections[sym.link];
  if (!str || str.type !== SHT_STRTAB) return fail("its symbol table links to no string table");
  const bytes = elf.bytes;
  if (sym.offset + sym.size > bytes.length || str.offset + str.size > bytes.length) {
    fail("its symbol or string table lies outside the file");
  }
  const pstart = up4(kernelEnd);
  const symAt = 4 + EHDR_UNION + SECTIONS * SHDR_UNION; // 260, relative to pstart
  const strAt = up4(symAt + sym.size);
  const total = strAt + str.size;
  // elf_parse_bsdsyms' own estimate of the extent (with 32-bit header sizes).
  const parsed = up4(up4(up4(4 + 4 + EHDR_UNION + SECTIONS * SHDR32) + sym.size) + str.size);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, total - 4, true);
  out.set(bytes.subarray(0, EHDR32), 4);
  const eh = 4;
  dv.setUint32(eh + 20, 1, true); // e_version = EV_CURRENT
  dv.setUint32(eh + 28, 0, true); // e_phoff
  dv.setUint32(eh + 32, EHDR_UNION, true); // e_shoff
  dv.setUint16(eh + 40, EHDR32, true); // e_ehsize
  dv.setUint16(eh + 42, 0, true); // e_phentsize
  dv.setUint16(eh + 44, 0, true); // e_phnum
  dv.setUint16(eh + 46, SHDR32, true); // e_shentsize
  dv.setUint16(eh + 48, SECTIONS, true); // e_shnum
  dv.setUint16(eh + 50, 0, true); // e_shstrndx
  const shdr = (i: number, s: typeof sym, offset: number, link: number) => {
    const at = 4 + EHDR_UNION + i * SHDR32;
    const src = findShdr(elf, s.index);
    out.set(bytes.subarray(src, src + SHDR32), at);
    dv.setUint32(at + 16, offset - 4, true); // sh_offset, relative to the ELF header
    dv.setUint32(at + 24, link, true);
  };
  shdr(1, sym, symAt, 2);
  shdr(2, str, strAt, str.link);
  out.set(bytes.subarray(sym.offset, sym.offset + sym.size), symAt);
  out.set(bytes.subarray(str.offset, str.offset + str.size), strAt);
  const end = pstart + Math.max(total, parsed);
  if (end > 0x100000000) fail("it would end beyond 4 GiB");
  return { segment: { vaddr: pstart, data: out, memsz: total }, end };
}

/** File offset of section header `index` (e_shoff + index * e_shentsize). */
function findShdr(elf: ElfImage, index: number): number {
  const dv = new DataView(elf.bytes.buffer, elf.bytes.byteOffset, elf.bytes.byteLength);
  return dv.getUint32(32, true) + index * dv.getUint16(46, true);
}
