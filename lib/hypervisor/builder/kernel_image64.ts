/**
 * What the 64-bit domain builder needs of a parsed ELF64 x86-64 PV kernel: its loadable
 * segments and the Xen parameters from its notes, with addresses as 64-bit values
 * (bigint: they are canonical upper-half addresses for Linux), and
 * {@link loadKernelImage64}, which makes one from an image file.
 * @module
 */
import { InputError } from "../../errors.ts";
import { EM_X86_64, parseElf, PT_LOAD } from "./elf.ts";
import { readXenNotes } from "./xen_notes.ts";
import { unwrapImage } from "./unwrap.ts";

/** One loadable piece: `data` at `vaddr`, zero-filled up to `memsz`. */
export interface LoadSegment64 {
  /** Virtual address of the first byte. */
  vaddr: bigint;
  /** File bytes. */
  data: Uint8Array;
  /** Bytes in memory (>= data.length). */
  memsz: number;
}

/** A 64-bit PV kernel ready to be laid out. */
export interface KernelImage64 {
  /** XEN_ELFNOTE_VIRT_BASE. */
  virtBase: bigint;
  /** XEN_ELFNOTE_ENTRY (virtual). */
  entry: bigint;
  /** XEN_ELFNOTE_HYPERCALL_PAGE (virtual), or undefined. */
  hypercallPage?: bigint;
  /** virt_kstart / virt_kend. */
  kernelStart: bigint;
  kernelEnd: bigint;
  /** XEN_ELFNOTE_INIT_P2M: where the P2M list is mapped on its own, or undefined. */
  p2mBase?: bigint;
  /** XEN_ELFNOTE_MOD_START_PFN: the module may be passed by pfn, unmapped. */
  modStartPfn: boolean;
  /** XEN_ELFNOTE_SUPPORTED_FEATURES bitmap (0 when absent). */
  supportedFeatures: number;
  /** The loadable segments. */
  segments: LoadSegment64[];
  /** The guest OS name, if known. */
  guestOs?: string;
}

/** 2^64, for range checks. */
const TWO64 = 1n << 64n;

/**
 * Loads a 64-bit PV kernel image (ELF64 x86-64 with Xen notes, possibly wrapped in
 * gzip or a bzImage).
 * @param bytes the file
 * @param name the file name, for messages
 * @throws InputError when the image is not a 64-bit PV kernel
 */
export function loadKernelImage64(bytes: Uint8Array, name = "image"): KernelImage64 {
  const { elf: elfBytes } = unwrapImage(bytes, { name });
  const elf = parseElf(elfBytes, name);
  const fail = (why: string): never => {
    throw new InputError(`Cannot load image "${name}": ${why}`);
  };
  if (elf.bits !== 64 || elf.machine !== EM_X86_64) {
    fail(`it is a ${elf.bits}-bit ${elf.machineName} image, not a 64-bit x86-64 PV kernel`);
  }
  const x = readXenNotes(elf);
  if (x.source === "none") fail("no Xen notes found");
  const b = x.boot;
  const segments: LoadSegment64[] = [];
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_LOAD || ph.memsz === 0n) continue;
    const vaddr = BigInt.asUintN(64, ph.paddr + b.virtOffset);
    if (vaddr + ph.memsz > TWO64) fail(`segment ${ph.index} wraps around the address space`);
    if (BigInt(ph.filesz) > ph.memsz) fail(`segment ${ph.index} has filesz > memsz`);
    if (ph.memsz > 1n << 40n) fail(`segment ${ph.index} is too large`);
    segments.push({
      vaddr,
      data: elfBytes.subarray(ph.offset, ph.offset + ph.filesz),
      memsz: Number(ph.memsz),
    });
  }
  if (segments.length === 0) fail("no loadable segments");
  const p2m = b.p2mBase;
  return {
    virtBase: BigInt.asUintN(64, b.virtBase),
    entry: BigInt.asUintN(64, b.entry),
    hypercallPage: b.hypercallPage === null ? undefined : BigInt.asUintN(64, b.hypercallPage),
    kernelStart: BigInt.asUintN(64, b.vStart),
    kernelEnd: BigInt.asUintN(64, b.vEnd),
    p2mBase: p2m === null ? undefined : BigInt.asUintN(64, p2m),
    modStartPfn: (x.modStartPfn ?? 0n) !== 0n,
    supportedFeatures: x.supportedFeaturesBitmap ?? 0,
    segments,
    guestOs: x.guestOs ?? undefined,
  };
}
