/**
 * The initial 4-level page tables of a 64-bit PV domain, as setup_pgtables_pv writes
 * them for x86_64: for each level from the L4 down and each mapping, every entry of the
 * mapping's range names the next table down (or, in the L1s, the mapped page), with
 * present|rw|accessed|dirty|user above the L1s and present|rw|accessed in them, and the
 * page-table pages themselves read-only.
 * @module
 */
import type { DomainLayout64, LevelTables, Mapping64 } from "./layout64.ts";

/** Protection of the entries of the L1s. */
export const L1_PROT64 = 0x001 | 0x002 | 0x020;
/** Protection of the entries of the L2s, L3s and the L4. */
export const UPPER_PROT64 = 0x001 | 0x002 | 0x020 | 0x040 | 0x004;

/**
 * Writes the tables into machine memory.
 * @param u32 a u32 view of machine memory
 * @param layout the layout
 * @param pfnToMfn the domain's P2M
 */
export function writeInitialPageTables64(
  u32: Uint32Array,
  layout: DomainLayout64,
  pfnToMfn: (pfn: number) => number,
): void {
  const maps = layout.maps;
  const isTable = (pfn: number) =>
    maps.some((m) => pfn >= m.levels[3].pfn && pfn < m.levels[3].pfn + m.tables);
  for (let l = 3; l >= 0; l--) {
    for (const m1 of maps) {
      const lv = m1.levels[l];
      if (lv.count === 0) continue;
      const shift = 12 + l * 9;
      for (const m2 of maps) {
        const lower: LevelTables | Mapping64 = l > 0 ? m2.levels[l - 1] : m2;
        if (l > 0 && (lower as LevelTables).count === 0) continue;
        if (lower.from >= lv.to || lower.to <= lv.from) continue;
        const lo = Math.max(lv.from, lower.from);
        const pS = Math.floor((lo - lv.from) / 2 ** shift);
        const pE = Math.floor((Math.min(lv.to, lower.to) - lv.from) / 2 ** shift);
        let pfn = Math.floor((lo - lower.from) / 2 ** shift) + lower.pfn;
        for (let p = pS; p <= pE; p++, pfn++) {
          const table = pfnToMfn(lv.pfn + Math.floor(p / 512));
          const i = table * 1024 + (p % 512) * 2;
          const mfn = pfnToMfn(pfn);
          const prot = l > 0 ? UPPER_PROT64 : isTable(pfn) ? L1_PROT64 & ~0x002 : L1_PROT64;
          u32[i] = ((mfn % 0x100000) * 4096 + prot) >>> 0;
          u32[i + 1] = Math.floor(mfn / 0x100000);
        }
      }
    }
  }
}
