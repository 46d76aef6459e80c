/**
 * Pinning a v1 grant entry for a grantee and dropping the pin: the GTF_reading /
 * GTF_writing in-use bits Xen maintains in the shared entry (_set_status_v1 and the
 * clear_flags tails of map_grant_ref, unmap_common_complete, release_grant_for_copy).
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
  GTF_type_mask,
  GTF_writing,
} from "../../abi/mod.ts";
import type { GrantTable } from "./table.ts";

/**
 * _set_status_v1: checks entry `ref` of `rgt` grants `ldomid` access of the wanted kind
 * and sets the in-use bits. An unpinned entry must be GTF_permit_access for `ldomid`
 * (plus no GTF_sub_page for a mapping); a write needs no GTF_readonly. Transitive and
 * transfer entries fail here: v1 maps and copies only GTF_permit_access.
 * @returns GNTST_okay or GNTST_general_error (nothing changed then)
 */
export function setStatusV1(
  rgt: GrantTable,
  ref: number,
  ldomid: number,
  readonly: boolean,
  mapflag: boolean,
): number {
  const flags = rgt.entryFlags(ref);
  const mask = mapflag ? GTF_type_mask | GTF_sub_page : GTF_type_mask;
  if (
    rgt.pin[ref] === 0 &&
    ((flags & mask) !== GTF_permit_access || rgt.entryDomid(ref) !== ldomid)
  ) {
    return GNTST_general_error; // "Bad flags or dom"
  }
  if (!readonly && (flags & GTF_readonly) !== 0) {
    return GNTST_general_error; // "Attempt to write-pin a r/o grant entry"
  }
  rgt.setEntryFlags(ref, readonly ? GTF_reading : GTF_reading | GTF_writing);
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
  if (clear !== 0) rgt.clearEntryFlags(ref, clear);
}
