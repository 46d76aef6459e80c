/**
 * The derived per-segment access-check bits (segChk) and the descriptor attribute bits,
 * shared by the memory path (core.ts) and the segment loads (segmentation.ts).
 * @module
 */

/** segChk bits: the segment is usable. */
export const SC_VALID = 1;
/** Readable. */
export const SC_R = 2;
/** Writable. */
export const SC_W = 4;
/** Expand-down data segment. */
export const SC_DOWN = 8;
/** D/B bit (32-bit default / big stack). */
export const SC_BIG = 16;
/** Base 0, limit 4 GiB, expand-up (fetches need no limit check). */
export const SC_WIDE = 32;
/** SC_WIDE and readable and writable: data accesses need no check at all. */
export const SC_FLAT = 64;
/** Base 0, expand-up, readable and writable: only the limit needs checking. */
export const SC_BASE0 = 128;

/** Descriptor attribute bits (attrs = descriptor bits 40..55 >> 8). */
export const A_ACCESSED = 1, A_RW = 2, A_DC = 4, A_CODE = 8, A_S = 0x10, A_P = 0x80;
export const A_DB = 0x4000, A_G = 0x8000;

/** DPL of an attribute word. */
export function dplOf(attrs: number): number {
  return (attrs >> 5) & 3;
}

/**
 * Computes the segChk bits of a segment.
 * @param attrs descriptor attributes (0 = unusable / null)
 * @param base base (int32)
 * @param limit byte limit (int32, -1 = 4 GiB)
 */
export function segChkFromAttrs(attrs: number, base: number, limit: number): number {
  if ((attrs & A_P) === 0 || (attrs & A_S) === 0) return 0;
  let k = SC_VALID;
  if ((attrs & A_CODE) !== 0) {
    if ((attrs & A_RW) !== 0) k |= SC_R;
  } else {
    k |= SC_R;
    if ((attrs & A_RW) !== 0) k |= SC_W;
    if ((attrs & A_DC) !== 0) k |= SC_DOWN;
  }
  if ((attrs & A_DB) !== 0) k |= SC_BIG;
  if (base === 0 && (k & SC_DOWN) === 0 && (k & (SC_R | SC_W)) === (SC_R | SC_W)) k |= SC_BASE0;
  if (base === 0 && limit === -1 && (k & SC_DOWN) === 0) {
    k |= SC_WIDE;
    if ((k & (SC_R | SC_W)) === (SC_R | SC_W)) k |= SC_FLAT;
  }
  return k;
}
