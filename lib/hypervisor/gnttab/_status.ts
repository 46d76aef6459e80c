/**
 * Pinning a grant entry for a grantee and dropping the pin: the GTF_reading /
 * GTF_writing in-use bits Xen maintains in the entry's flags (v1) or in its status word
 * (v2) (_set_status_v1, _set_status_v2 and the clear_flags tails of map_grant_ref,
 * unmap_common_complete, release_grant_for_copy).
 * @module
 */
import {
  GNTPIN_devw_mask,
  GNTPIN_hstw_mask,
  GNTST_general_error,
  GNTST_okay,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_sub_page,
  GTF_transitive,
  GTF_type_mask,
  GTF_writing,
} from "../../abi/mod.ts";
import type { GrantTable } from "./table.ts";

/**
 * _set_status: checks entry `ref` of `rgt` grants `ldomid` access of the wanted kind
 * and sets the in-use bits. An unpinned entry must be GTF_permit_access for `ldomid`
 * (v2 also takes GTF_transitive); a mapping (`mapflag`) refuses GTF_sub_page; a write
 * needs no GTF_readonly. v1 transfer and transitive entries fail here.
 * @returns GNTST_okay or GNTST_general_error (nothing changed then)
 */
export function setStatus(
  rgt: GrantTable,
  ref: number,
  ldomid: number,
  readonly: boolean,
  mapflag: boolean,
): number {
  const flags = rgt.entryFlags(ref);
  const kind = flags & (mapflag ? GTF_type_mask | GTF_sub_page : GTF_type_mask);
  const okKind = kind === GTF_permit_access || (rgt.version === 2 && kind === GTF_transitive);
  if (rgt.pin[ref] === 0 && (!okKind || rgt.entryDomid(ref) !== ldomid)) {
    return GNTST_general_error; // "Bad flags or dom"
  }
  if (!readonly && (flags & GTF_readonly) !== 0) {
    return GNTST_general_error; // "Attempt to write-pin a r/o grant entry"
  }
  rgt.setStatusBits(ref, readonly ? GTF_reading : GTF_reading | GTF_writing);
  return GNTST_okay;
}

/**
 * Clears the in-use bits that no remaining pin justifies: GTF_writing when a writable
 * use ended and no writable pin remains, GTF_reading when no pin remains.
 */
export function clearUnpinned(rgt: GrantTable, ref: number, wasReadonly: boolean): void {
  const pin = rgt.pin[ref];
  let clear = 0;
  if (!wasReadonly && (pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0) clear |= GTF_writing;
  if (pin === 0) clear |= GTF_reading;
  if (clear !== 0) rgt.clearStatusBits(ref, clear);
}

/**
 * fixup_status_for_copy_pin: after a failed transitive acquire, the bits follow the pins
 * again (GTF_writing without a writable pin, GTF_reading without any pin).
 */
export function fixupStatusForPin(rgt: GrantTable, ref: number): void {
  const pin = rgt.pin[ref];
  let clear = 0;
  if ((pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0) clear |= GTF_writing;
  if (pin === 0) clear |= GTF_reading;
  if (clear !== 0) rgt.clearStatusBits(ref, clear);
}
