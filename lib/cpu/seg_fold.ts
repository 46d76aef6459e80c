/**
 * The ring-1 fast path: Xen-style PV data segments fold their limit check into the TLB.
 * When every usable data segment ends below one page-aligned boundary B, the data segments
 * that are base 0, writable, expand-up and limited exactly at B get SC_FLAT (no per-access
 * check). The core then never caches a data translation at or above B, so such an access
 * reaches its slow path (raiseFold), and the run loop re-runs that instruction with the
 * checks on (Cpu.unfoldedStep), which raises what the segment used raises: #GP(0), or
 * #SS(0) through SS. PV guests never have the hypervisor hole above B mapped, so nothing
 * is lost by not caching it.
 * @module
 */

import { SC_BIG, SC_DOWN, SC_FLAT, SC_R, SC_VALID, SC_W, segChkFromAttrs } from "./seg_check.ts";

/** The boundary page when nothing is folded (beyond 4 GiB). */
export const NO_FOLD = 0x100000;

const CS = 1, DS = 3;
const RW_UP = SC_VALID | SC_R | SC_W;

function foldable(k: number, base: number, limit: number): boolean {
  return (k & (RW_UP | SC_DOWN)) === RW_UP && base === 0 && limit !== -1 &&
    (limit & 4095) === 4095;
}

/**
 * Recomputes segChk of the data segments (ES SS DS FS GS) with the folded ones marked
 * SC_FLAT.
 * @returns the first linear page at or above the folded limit, or {@link NO_FOLD}
 */
export function foldSegments(
  attr: Int32Array,
  base: Int32Array,
  limit: Int32Array,
  chk: Uint8Array,
): number {
  let b = NO_FOLD;
  if (foldable(segChkFromAttrs(attr[DS], base[DS], limit[DS]), base[DS], limit[DS])) {
    b = ((limit[DS] >>> 0) + 1) / 4096;
    for (let s = 0; s < 6; s++) {
      if (s === CS) continue;
      const k = segChkFromAttrs(attr[s], base[s], limit[s]);
      if ((k & SC_VALID) === 0) continue;
      const top = (k & SC_DOWN) !== 0
        ? (base[s] >>> 0) + ((k & SC_BIG) !== 0 ? 0xffffffff : 0xffff)
        : (base[s] >>> 0) + (limit[s] >>> 0);
      if (top >= b * 4096) {
        b = NO_FOLD;
        break;
      }
    }
  }
  for (let s = 0; s < 6; s++) {
    if (s === CS) continue;
    const k = segChkFromAttrs(attr[s], base[s], limit[s]);
    const fold = b < NO_FOLD && foldable(k, base[s], limit[s]) &&
      (limit[s] >>> 0) + 1 === b * 4096;
    chk[s] = fold ? k | SC_FLAT : k;
  }
  return b;
}

/** Recomputes segChk of the data segments without any folding (every check on). */
export function unfoldSegments(
  attr: Int32Array,
  base: Int32Array,
  limit: Int32Array,
  chk: Uint8Array,
): void {
  for (let s = 0; s < 6; s++) {
    if (s !== CS) chk[s] = segChkFromAttrs(attr[s], base[s], limit[s]);
  }
}
