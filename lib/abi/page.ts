/**
 * The x86 page as Xen's public headers use it (PAGE_SHIFT 12): every frame number in the
 * ABI counts these.
 * @module
 */

/** Bytes per page (4 KiB). */
export const PAGE_SIZE = 4096;
/** log2(PAGE_SIZE). */
export const PAGE_SHIFT = 12;
