/**
 * What the domain builder needs of a parsed kernel image: its loadable segments and the
 * Xen parameters from its notes (virt_base, entry, hypercall page). The inspector's ELF
 * and Xen-notes parser produces it (see from_elf.ts).
 * @module
 */

/** One loadable piece: `data` at `vaddr`, zero-filled up to `memsz`. */
export interface LoadSegment {
  /** Virtual address of the first byte. */
  vaddr: number;
  /** File bytes. */
  data: Uint8Array;
  /** Bytes in memory (>= data.length; the rest is zeroed). */
  memsz: number;
}

/** A PV kernel ready to be laid out. */
export interface KernelImage {
  /** XEN_ELFNOTE_VIRT_BASE. */
  virtBase: number;
  /** XEN_ELFNOTE_ENTRY (virtual). */
  entry: number;
  /** XEN_ELFNOTE_HYPERCALL_PAGE (virtual), or undefined when absent. */
  hypercallPage?: number;
  /** virt_kstart and virt_kend: the image's extent once loaded. */
  kernelStart: number;
  kernelEnd: number;
  /** The loadable segments. */
  segments: LoadSegment[];
  /** The guest OS name and features (for messages), if known. */
  guestOs?: string;
}
