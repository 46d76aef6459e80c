/**
 * Where the domain builder puts everything in a pv32pae guest's virtual address space, as
 * libxenguest's xc_dom_build_image does: the kernel at its addresses from virt_base, then
 * the ramdisk, the phys-to-machine list, start_info, xenstore and console pages, the
 * initial page tables (covering everything so far plus themselves, the boot stack and
 * 512 KiB of slack, up to a 4 MiB boundary), then the boot stack.
 * @module
 */
import { InputError } from "../../errors.ts";
import { HYPERVISOR_VIRT_START } from "../../abi/mod.ts";

/** One segment of the layout. */
export interface Segment {
  /** First virtual address. */
  vstart: number;
  /** End virtual address (exclusive, page aligned). */
  vend: number;
  /** First pfn (vstart - virt_base) >> 12. */
  pfn: number;
  /** Pages. */
  pages: number;
}

/** The complete start-of-day layout. */
export interface DomainLayout {
  virtBase: number;
  kernel: Segment;
  ramdisk: Segment | null;
  p2m: Segment;
  startInfoPfn: number;
  xenstorePfn: number;
  consolePfn: number;
  pgtables: Segment;
  /** Number of L3, L2 (including the one for slot 3) and L1 tables. */
  nrL3: number;
  nrL2: number;
  nrL1: number;
  /** Whether an extra L2 is added for the top GiB (l3 slot 3). */
  extraL2: boolean;
  bootstackPfn: number;
  /** End (exclusive) of what the initial page tables map. */
  virtPgtabEnd: number;
  /** Pages used from virt_base up to the boot stack (inclusive). */
  pagesUsed: number;
}

/** Bootstrap slack Xen's builder maps past the page tables: 512 KiB. */
export const BOOTSTRAP_SLACK_PAGES = (512 * 1024) / 4096;

/** Layout inputs. */
export interface LayoutInput {
  /** The kernel's virt_base (ELF note or default). */
  virtBase: number;
  /** virt_kstart / virt_kend of the loaded image. */
  kernelStart: number;
  kernelEnd: number;
  /** Ramdisk/module length in bytes (0 for none). */
  ramdiskBytes: number;
  /** Total pages of the domain. */
  totalPages: number;
}

/**
 * Computes the layout (pure). Throws InputError when the image does not fit below the
 * hypervisor hole or in the domain's memory.
 * @param inp the image extents and memory size
 */
export function computeLayout(inp: LayoutInput): DomainLayout {
  const base = inp.virtBase >>> 0;
  if (base & 4095) {
    throw new InputError(`Cannot build domain: virt_base 0x${hex(base)} is not page aligned`);
  }
  if (inp.kernelStart < base || inp.kernelEnd < inp.kernelStart) {
    throw new InputError(
      `Cannot build domain: kernel 0x${hex(inp.kernelStart)}-0x${
        hex(inp.kernelEnd)
      } is below virt_base 0x${hex(base)}`,
    );
  }
  let allocEnd = base;
  const seg = (start: number, bytes: number): Segment => {
    const vstart = start === 0 ? allocEnd : start;
    const pages = Math.ceil(bytes / 4096);
    const s = { vstart, vend: vstart + pages * 4096, pfn: (vstart - base) / 4096, pages };
    allocEnd = s.vend;
    return s;
  };
  const kernel = seg(inp.kernelStart, inp.kernelEnd - inp.kernelStart);
  kernel.pfn = Math.floor(kernel.pfn);
  const ramdisk = inp.ramdiskBytes > 0 ? seg(0, inp.ramdiskBytes) : null;
  const p2m = seg(0, inp.totalPages * 4);
  const startInfoPfn = seg(0, 4096).pfn;
  const xenstorePfn = seg(0, 4096).pfn;
  const consolePfn = seg(0, 4096).pfn;

  // alloc_pgtables_pv: grow the mapped range until it covers the tables themselves.
  const extra = 1 + BOOTSTRAP_SLACK_PAGES; // boot stack + slack
  let pages = extra;
  let tryEnd = 0;
  let counts = { l3: 0, l2: 0, l1: 0, extraL2: false };
  for (let guard = 0; guard < 64; guard++) {
    tryEnd = roundUpInclusive(allocEnd + pages * 4096, 22);
    if (tryEnd >= HYPERVISOR_VIRT_START) {
      throw new InputError(
        `Cannot build domain: the initial mappings reach 0x${
          hex(tryEnd)
        }, inside the hypervisor hole`,
      );
    }
    counts = countPgtables(base, tryEnd);
    const total = counts.l3 + counts.l2 + counts.l1;
    pages = total + extra;
    if (allocEnd + pages * 4096 <= tryEnd + 1) break;
  }
  const virtPgtabEnd = tryEnd + 1;
  const nrPt = counts.l3 + counts.l2 + counts.l1;
  const pgtables = seg(0, nrPt * 4096);
  const bootstackPfn = seg(0, 4096).pfn;
  const pagesUsed = bootstackPfn + 1;
  if (pagesUsed > inp.totalPages || (virtPgtabEnd - base) / 4096 > inp.totalPages) {
    throw new InputError(
      `Cannot build domain: the image needs ${
        Math.ceil((virtPgtabEnd - base) / 4096)
      } pages, the domain has ${inp.totalPages}`,
    );
  }
  return {
    virtBase: base,
    kernel,
    ramdisk,
    p2m,
    startInfoPfn,
    xenstorePfn,
    consolePfn,
    pgtables,
    nrL3: counts.l3,
    nrL2: counts.l2,
    nrL1: counts.l1,
    extraL2: counts.extraL2,
    bootstackPfn,
    virtPgtabEnd,
    pagesUsed,
  };
}

/**
 * Page tables needed to map [from, toInclusive] with PAE: one L3, an L2 per GiB, an L1
 * per 2 MiB, plus an L2 for the top GiB when the range ends below it (Xen needs it there).
 */
export function countPgtables(
  from: number,
  toInclusive: number,
): { l3: number; l2: number; l1: number; extraL2: boolean } {
  const l1 = Math.floor(toInclusive / 2 ** 21) - Math.floor(from / 2 ** 21) + 1;
  let l2 = Math.floor(toInclusive / 2 ** 30) - Math.floor(from / 2 ** 30) + 1;
  const extraL2 = toInclusive + 1 <= 0xc0000000;
  if (extraL2) l2++;
  return { l3: 1, l2, l1, extraL2 };
}

/** round_up(x, bits_to_mask(bits)): x | mask, an inclusive end. */
function roundUpInclusive(x: number, bits: number): number {
  const m = 2 ** bits;
  return Math.floor(x / m) * m + m - 1;
}

function hex(n: number): string {
  return (n >>> 0).toString(16);
}
