/**
 * Turns an image file into a {@link KernelImage} for the pv32pae builder: unwraps
 * gzip/bzImage layers, parses the ELF and its Xen notes (or legacy `__xen_guest`
 * string) with the inspector's parsers, and checks it is a 32-bit PAE PV kernel. Each
 * PT_LOAD segment goes to its paddr + virt_offset, as Xen's libelf loads it; with
 * BSD_SYMTAB the symbol table follows the image (bsd_symtab.ts).
 * @module
 */
import { InputError } from "../../errors.ts";
import { parseElf, PT_LOAD } from "./elf.ts";
import { bootRefusal } from "./bootable.ts";
import { readXenNotes } from "./xen_notes.ts";
import { unwrapImage } from "./unwrap.ts";
import { bsdSymtabSegment } from "./bsd_symtab.ts";
import type { KernelImage, LoadSegment } from "./kernel_image.ts";
import { type KernelImage64, loadKernelImage64 } from "./kernel_image64.ts";
import { EM_X86_64 } from "./elf.ts";

/**
 * Loads a PV kernel of either width: a 64-bit x86-64 one for the 64-bit builder, else a
 * 32-bit PAE one (both checked by the same {@link bootRefusal}).
 * @throws InputError when the image is not a bootable PV kernel
 */
export function loadPvKernel(bytes: Uint8Array, name = "image"): KernelImage | KernelImage64 {
  const { elf: elfBytes } = unwrapImage(bytes, { name });
  const elf = parseElf(elfBytes, name);
  if (elf.bits === 64 && elf.machine === EM_X86_64) {
    const refusal = bootRefusal(elf, readXenNotes(elf));
    if (refusal !== null) throw new InputError(`Cannot load image "${name}": ${refusal}`);
    return loadKernelImage64(bytes, name);
  }
  return loadKernelImage(bytes, name);
}

/** Whether a loaded kernel is a 64-bit one. */
export function isKernel64(k: KernelImage | KernelImage64): k is KernelImage64 {
  return typeof k.entry === "bigint";
}

/**
 * Loads a PV kernel image.
 * @param bytes the file
 * @param name the file name, for messages
 * @throws InputError when the image is not a bootable 32-bit PAE PV kernel
 */
export function loadKernelImage(bytes: Uint8Array, name = "image"): KernelImage {
  const { elf: elfBytes } = unwrapImage(bytes, { name });
  const elf = parseElf(elfBytes, name);
  const fail = (why: string): never => {
    throw new InputError(`Cannot load image "${name}": ${why}`);
  };
  const x = readXenNotes(elf);
  const refusal = elf.bits === 64 ? "a 64-bit kernel (use loadPvKernel)" : bootRefusal(elf, x);
  if (refusal !== null) fail(refusal);
  const b = x.boot;
  const segments: LoadSegment[] = [];
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_LOAD || ph.memsz === 0n) continue;
    const vaddr = ph.paddr + b.virtOffset;
    if (vaddr < 0n || vaddr + ph.memsz > 0x100000000n) {
      fail(`segment ${ph.index} lies outside the 32-bit address space`);
    }
    if (BigInt(ph.filesz) > ph.memsz) fail(`segment ${ph.index} has filesz > memsz`);
    segments.push({
      vaddr: Number(vaddr),
      data: elfBytes.subarray(ph.offset, ph.offset + ph.filesz),
      memsz: Number(ph.memsz),
    });
  }
  if (segments.length === 0) fail("no loadable segments");
  const num = (v: bigint, what: string): number => {
    if (v < 0n || v > 0xffffffffn) fail(`${what} 0x${v.toString(16)} is not a 32-bit address`);
    return Number(v);
  };
  let kernelEnd = num(b.vEnd, "kernel end");
  if (x.bsdSymtab) {
    const t = bsdSymtabSegment(elf, kernelEnd, name);
    segments.push(t.segment);
    kernelEnd = t.end;
  }
  return {
    virtBase: num(b.virtBase, "virt_base"),
    entry: num(b.entry, "entry"),
    hypercallPage: b.hypercallPage === null ? undefined : num(b.hypercallPage, "hypercall page"),
    kernelStart: num(b.vStart, "kernel start"),
    kernelEnd,
    segments,
    guestOs: x.guestOs ?? undefined,
  };
}
