/**
 * Where the domain builder puts everything in a 64-bit PV guest, as libxenguest's
 * xc_dom_build_image and its x86_64 hooks do: the kernel at its addresses from virt_base,
 * the mapped ramdisk, the P2M list (8-byte entries) unless the kernel asks for it
 * elsewhere (INIT_P2M), start_info, xenstore and console pages, the 4-level initial page
 * tables (covering everything so far plus themselves, the boot stack and 512 KiB of
 * slack, up to a 4 MiB boundary), the boot stack, padding to that boundary, an unmapped
 * ramdisk (MOD_START_PFN), and finally an INIT_P2M list with its own page tables.
 *
 * Addresses here are 48-bit (the canonical address with bits 48..63 masked off, as the
 * builder's vaddr_mask does), exact as JS numbers; {@link canonical} turns one back.
 * @module
 */
import { InputError } from "../../errors.ts";

/** 2^48: the masked address space. */
export const VA48 = 2 ** 48;
/** The 48-bit mask as the builder's vaddr_mask (inclusive top). */
export const VADDR_MASK = VA48 - 1;

/** One segment of the layout (48-bit addresses). */
export interface Segment64 {
  /** First virtual address. */
  vstart: number;
  /** End (exclusive). */
  vend: number;
  /** First pfn. */
  pfn: number;
  /** Pages. */
  pages: number;
}

/** The tables of one level of one mapping (count_pgtables' lvls[]). */
export interface LevelTables {
  /** First address the level's tables cover (aligned to what one table maps). */
  from: number;
  /** Last address they cover (inclusive). */
  to: number;
  /** pfn of the first table. */
  pfn: number;
  /** Number of tables. */
  count: number;
}

/** One mapping of the initial page tables: the kernel area, or the INIT_P2M list. */
export interface Mapping64 {
  /** First mapped address. */
  from: number;
  /** Last mapped address (inclusive). */
  to: number;
  /** pfn mapped at `from`. */
  pfn: number;
  /** Page-table pages this mapping adds. */
  tables: number;
  /** Per level, index 0 = the L1s .. 3 = the L4. */
  levels: LevelTables[];
}

/** The start-of-day layout of a 64-bit PV domain. */
export interface DomainLayout64 {
  /** virt_base (48-bit). */
  virtBase: number;
  kernel: Segment64;
  /** The ramdisk, when there is one. */
  ramdisk: Segment64 | null;
  /** Whether the ramdisk is unmapped and passed by pfn (MOD_START_PFN). */
  ramdiskByPfn: boolean;
  /** The P2M list (when INIT_P2M, its vstart is the INIT_P2M address, and its pages include its page tables). */
  p2m: Segment64;
  /** Whether the P2M list is mapped on its own at INIT_P2M. */
  p2mSeparate: boolean;
  startInfoPfn: number;
  xenstorePfn: number;
  consolePfn: number;
  /** The kernel mapping's page tables (L4 first, then L3s, L2s, L1s). */
  pgtables: Segment64;
  bootstackPfn: number;
  /** End (exclusive, 48-bit) of what the kernel mapping covers. */
  virtPgtabEnd: number;
  /** Pages used in all. */
  pagesUsed: number;
  /** The mappings: [kernel area] or [kernel area, INIT_P2M list]. */
  maps: Mapping64[];
}

/** Layout inputs (64-bit addresses as bigint, as the kernel's notes give them). */
export interface LayoutInput64 {
  virtBase: bigint;
  kernelStart: bigint;
  kernelEnd: bigint;
  /** Ramdisk bytes (0 for none). */
  ramdiskBytes: number;
  /** The kernel's MOD_START_PFN note. */
  modStartPfn: boolean;
  /** The kernel's INIT_P2M note, if any. */
  p2mBase?: bigint;
  /** Pages of the domain. */
  totalPages: number;
}

/** Bootstrap slack the builder maps past the page tables: 512 KiB. */
const SLACK_PAGES = (512 * 1024) / 4096;

/**
 * A canonical 64-bit address from a 48-bit one (bit 47 sign-extended).
 * @param va48 the masked address
 */
export function canonical(va48: number): bigint {
  const v = BigInt(va48);
  return va48 >= 2 ** 47 ? v | 0xffff000000000000n : v;
}

/** Whether a 64-bit value is a canonical address. */
function isCanonical64(v: bigint): boolean {
  const top = v >> 47n;
  return top === 0n || top === 0x1ffffn;
}

const floorTo = (x: number, bits: number) => Math.floor(x / 2 ** bits) * 2 ** bits;
const ceilTo = (x: number, bits: number) => floorTo(x, bits) + 2 ** bits - 1;

/**
 * Computes the layout (pure).
 * @throws InputError when the image does not fit in memory, is not canonical, or
 *   reaches Xen's range
 */
export function computeLayout64(inp: LayoutInput64): DomainLayout64 {
  const hex = (v: bigint | number) => `0x${v.toString(16)}`;
  const fail = (why: string): never => {
    throw new InputError(`Cannot build domain: ${why}`);
  };
  if (!isCanonical64(inp.virtBase)) fail(`virt_base ${hex(inp.virtBase)} is not canonical`);
  if (inp.virtBase & 4095n) fail(`virt_base ${hex(inp.virtBase)} is not page aligned`);
  if (inp.kernelStart < inp.virtBase || inp.kernelEnd < inp.kernelStart) {
    fail(`kernel ${hex(inp.kernelStart)}-${hex(inp.kernelEnd)} is below virt_base`);
  }
  if (inp.kernelEnd - inp.virtBase > BigInt(inp.totalPages) * 4096n) {
    fail(`the kernel needs more than the domain's ${inp.totalPages} pages`);
  }
  const total = inp.totalPages;
  const virtBase = Number(inp.virtBase & BigInt(VADDR_MASK));
  let virtEnd = virtBase; // virt_alloc_end
  let pfnEnd = 0; // pfn_alloc_end
  const take = (what: string, pages: number) => {
    if (pages > total || pfnEnd > total - pages) {
      fail(`${what} does not fit: the domain has ${total} pages`);
    }
    pfnEnd += pages;
    virtEnd += pages * 4096;
  };
  const pad = (boundary: number) => {
    if (boundary % 4096 !== 0) fail(`boundary ${hex(boundary)} is not page aligned`);
    if (boundary < virtEnd) fail(`segments overlap at ${hex(boundary)}`);
    take("padding", (boundary - virtEnd) / 4096);
  };
  const seg = (what: string, start: number, bytes: number): Segment64 => {
    if (start !== 0) pad(start);
    const pages = Math.ceil(bytes / 4096);
    const s = { vstart: virtEnd, vend: virtEnd + pages * 4096, pfn: pfnEnd, pages };
    take(what, pages);
    return s;
  };
  const kernel = seg(
    "the kernel",
    Number(inp.kernelStart & BigInt(VADDR_MASK)),
    Number(inp.kernelEnd - inp.kernelStart),
  );
  const byPfn = inp.modStartPfn && inp.ramdiskBytes > 0;
  const ramdisk = inp.ramdiskBytes > 0 && !byPfn ? seg("the ramdisk", 0, inp.ramdiskBytes) : null;
  // INIT_P2M is used only below virt_base and page aligned (xc_dom_build_image).
  const p2mBase = inp.p2mBase;
  const separate = p2mBase !== undefined && isCanonical64(p2mBase) && p2mBase < inp.virtBase &&
    (p2mBase & 4095n) === 0n;
  const p2mBytes = Math.ceil((total * 8) / 4096) * 4096;
  const maps: Mapping64[] = [];
  let p2m = separate ? null : seg("the P2M list", 0, p2mBytes);
  const startInfoPfn = seg("start_info", 0, 4096).pfn;
  const xenstorePfn = seg("the xenstore page", 0, 4096).pfn;
  const consolePfn = seg("the console page", 0, 4096).pfn;

  // alloc_pgtables_pv: grow the mapping until it covers its own tables, the boot stack
  // and the slack.
  const extra = 1 + SLACK_PAGES;
  let pages = extra;
  let tryEnd = 0;
  let map: Mapping64 | null = null;
  for (let guard = 0;; guard++) {
    if (guard > 64) fail("the initial page tables do not converge");
    tryEnd = ceilTo(virtEnd + pages * 4096, 22);
    map = countPgtables(maps, virtBase, tryEnd, 0, pfnEnd, total, fail);
    pages = map.tables + extra;
    if (virtEnd + pages * 4096 <= tryEnd + 1) break;
  }
  maps.push(map);
  const virtPgtabEnd = tryEnd + 1;
  const pgtables = seg("the page tables", 0, map.tables * 4096);
  const bootstackPfn = seg("the boot stack", 0, 4096).pfn;
  pad(virtPgtabEnd);
  const ramdiskPfn = byPfn ? seg("the ramdisk", 0, inp.ramdiskBytes) : null;
  if (separate) {
    const from = Number(p2mBase! & BigInt(VADDR_MASK));
    const m2 = countPgtables(maps, from, from + p2mBytes - 1, pfnEnd, pfnEnd, total, fail);
    m2.pfn = pfnEnd;
    for (const l of m2.levels) l.pfn += p2mBytes / 4096;
    maps.push(m2);
    p2m = seg("the P2M list", 0, p2mBytes + m2.tables * 4096);
    p2m.vstart = from;
    p2m.vend = from + p2m.pages * 4096;
  }
  checkOutsideXen(maps, fail);
  return {
    virtBase,
    kernel,
    ramdisk: ramdisk ?? ramdiskPfn,
    ramdiskByPfn: byPfn,
    p2m: p2m!,
    p2mSeparate: separate,
    startInfoPfn,
    xenstorePfn,
    consolePfn,
    pgtables,
    bootstackPfn,
    virtPgtabEnd,
    pagesUsed: pfnEnd,
    maps,
  };
}

/**
 * count_pgtables: the tables a new mapping of [from, to] needs at each level, next to the
 * mappings already made (a level range they already cover needs no new tables; the L4
 * exists once, in the first mapping).
 */
function countPgtables(
  prior: Mapping64[],
  from: number,
  to: number,
  pfn: number,
  pfnAllocEnd: number,
  total: number,
  fail: (why: string) => never,
): Mapping64 {
  if (pfn + Math.floor((to - from) / 4096) >= total) {
    fail(`not enough memory for the initial mapping: the domain has ${total} pages`);
  }
  for (const m of prior) {
    if (from < m.to && to > m.from) fail("the initial mappings overlap");
  }
  const map: Mapping64 = { from, to, pfn: 0, tables: 0, levels: [] };
  const levels: LevelTables[] = [];
  for (let l = 3; l >= 0; l--) {
    const lv: LevelTables = { from: 0, to: 0, pfn: pfnAllocEnd + map.tables, count: 0 };
    levels[l] = lv;
    if (l === 3) {
      if (prior.length === 0) {
        lv.to = VADDR_MASK;
        lv.count = 1;
        map.tables++;
      }
      continue;
    }
    const bits = 12 + (l + 1) * 9;
    lv.from = floorTo(from, bits);
    lv.to = ceilTo(to, bits);
    for (const m of prior) {
      const c = m.levels[l];
      if (c.from === c.to) continue;
      if (lv.from >= c.from && lv.to <= c.to) {
        lv.from = 0;
        lv.to = 0;
        break;
      }
      if (lv.from >= c.from && lv.from <= c.to) lv.from = c.to + 1;
      if (lv.to >= c.from && lv.to <= c.to) lv.to = c.from - 1;
    }
    if (lv.from < lv.to) lv.count = Math.floor((lv.to - lv.from) / 2 ** bits) + 1;
    map.tables += lv.count;
  }
  map.levels = levels;
  return map;
}

/** The first and last L4 slot of Xen's range in the 48-bit space. */
const XEN_FROM = 0x800000000000, XEN_TO = 0x87ffffffffff;

function checkOutsideXen(maps: Mapping64[], fail: (why: string) => never): void {
  for (const m of maps) {
    if (m.from <= XEN_TO && m.to >= XEN_FROM) {
      fail(`the initial mappings reach 0x${canonical(m.to).toString(16)}, inside Xen's range`);
    }
  }
}
