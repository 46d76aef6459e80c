/**
 * The rarely used grant-table commands: transfer (page flipping, not offered by pvx),
 * cache_flush (x86 semantics: clean works, invalidate alone is unsupported) and
 * dump_table (gone from Xen 4.17: -ENOSYS).
 * @module
 */
import { EINVAL, ENOSYS, EOPNOTSUPP, EPERM } from "../../abi/mod.ts";
import { PAGE_SIZE } from "../../abi/mod.ts";
import {
  GNTST_general_error,
  GNTTAB_CACHE_CLEAN,
  GNTTAB_CACHE_INVAL,
  GNTTABOP_cache_flush,
  GNTTABOP_transfer,
} from "../../abi/mod.ts";
import { gnttabMapKind } from "./map.ts";
import type { GrantTable } from "./table.ts";
import { asMfn } from "../../abi/mod.ts";

/**
 * GNTTABOP_transfer: pvx does not implement page transfer (no frontend in use needs it;
 * Linux netfront dropped page flipping). Each element fails without touching anything.
 * @returns GNTST_general_error
 */
export function gnttabTransfer(lgt: GrantTable, gmfn: number): number {
  return lgt.fail(GNTTABOP_transfer, gmfn, GNTST_general_error);
}

/**
 * GNTTABOP_dump_table: Xen 4.17's do_grant_table_op has no case for it.
 * @returns -ENOSYS
 */
export function gnttabDumpTable(): number {
  return -ENOSYS;
}

/**
 * One GNTTABOP_cache_flush element (cache_flush()): the frame at `devBusAddr` must be
 * the caller's own or grant-mapped by it.
 * @returns 0, -EINVAL (bad range or op bits, GNTTAB_CACHE_SOURCE_GREF included; bad
 *   frame; foreign frame not mapped), -EOPNOTSUPP (invalidate without clean on x86),
 *   -EPERM (frame of no domain)
 */
export function gnttabCacheFlush(
  lgt: GrantTable,
  devBusAddr: number,
  offset: number,
  length: number,
  op: number,
  ownerOf: (mfn: number) => number,
): number {
  const fail = (e: number): number => lgt.fail(GNTTABOP_cache_flush, op, e);
  if (
    offset >= PAGE_SIZE || length > PAGE_SIZE || offset + length > PAGE_SIZE ||
    (op & ~(GNTTAB_CACHE_INVAL | GNTTAB_CACHE_CLEAN)) !== 0
  ) {
    // Xen checks the op bits first, so GNTTAB_CACHE_SOURCE_GREF lands here too and its
    // later "unimplemented: -EOPNOTSUPP" test is never reached.
    return fail(-EINVAL);
  }
  if (length === 0 || op === 0) return 0;
  const mfn = Math.floor(devBusAddr / PAGE_SIZE);
  if (!(mfn >= 0 && mfn < lgt.mem.frames)) return fail(-EINVAL);
  const owner = ownerOf(mfn);
  if (owner < 0) return fail(-EPERM);
  if (owner !== lgt.domid && gnttabMapKind(lgt, asMfn(mfn), owner) === 0) return fail(-EINVAL);
  // x86: invalidate_dcache_va_range is unsupported; clean (with or without invalidate)
  // is a cache flush, which emulated memory does not need.
  if ((op & GNTTAB_CACHE_CLEAN) === 0) return fail(-EOPNOTSUPP);
  return 0;
}
