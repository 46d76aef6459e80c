/**
 * GNTTABOP_set_version: switching a domain's grant table between the v1 and v2 entry
 * layouts (gnttab_set_version of xen/common/grant_table.c). The switch is refused while
 * any entry past the reserved ones is pinned (-EBUSY), going back to v1 is refused when a
 * reserved entry cannot be written as a v1 entry (-ERANGE) or a status frame is still
 * mapped (-EBUSY: XSA-255); otherwise the reserved entries (console, xenstore ...) are
 * carried over into the new layout and every other entry starts cleared.
 * @module
 */
import { EBUSY, EINVAL, ERANGE } from "../../abi/mod.ts";
import {
  GNTTAB_NR_RESERVED_ENTRIES,
  GTF_permit_access,
  GTF_reading,
  GTF_transitive,
  GTF_type_mask,
  GTF_writing,
} from "../../abi/mod.ts";
import type { GrantTable } from "./table.ts";

/** A reserved entry as v1 holds it. */
interface V1Entry {
  flags: number;
  domid: number;
  frame: number;
}

/** The reserved entries, read in the layout in force (v2: flags merged with the status). */
function readReserved(gt: GrantTable): V1Entry[] {
  const out: V1Entry[] = [];
  for (let i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
    const flags = gt.entryFlags(i);
    if (gt.version === 1) {
      out.push({ flags, domid: gt.entryDomid(i), frame: gt.entryFrame(i) });
    } else if ((flags & GTF_type_mask) === GTF_permit_access) {
      // (the frame fits 32 bits: the -ERANGE check ran before)
      out.push({
        flags: flags | gt.statusFlags(i),
        domid: gt.entryDomid(i),
        frame: gt.entryFrame(i),
      });
    } else {
      out.push({ flags: 0, domid: 0, frame: 0 }); // invalid, or a kind v1 cannot carry
    }
  }
  return out;
}

/** Writes the reserved entries back in the new layout (the table was cleared). */
function writeReserved(gt: GrantTable, saved: V1Entry[]): void {
  const m = gt.tableMem, dv = m.dv;
  const busy = GTF_reading | GTF_writing;
  for (let i = 0; i < saved.length; i++) {
    const e = saved[i], a = gt.entryMaddr(i);
    if (gt.version === 1) {
      dv.setUint16(a, e.flags, true);
      dv.setUint16(a + 2, e.domid, true);
      dv.setUint32(a + 4, e.frame, true);
      m.noteWrite(a, 8);
    } else {
      const s = gt.statusMaddr(i);
      dv.setUint16(s, e.flags & busy, true);
      m.noteWrite(s, 2);
      dv.setUint16(a, e.flags & ~busy, true);
      dv.setUint16(a + 2, e.domid, true);
      dv.setUint32(a + 8, e.frame, true);
      dv.setUint32(a + 12, 0, true);
      m.noteWrite(a, 16);
    }
  }
}

/**
 * gnttab_set_version for the table's own domain.
 * @param gt the caller's table
 * @param version the version asked for (any guest value)
 * @returns 0 (also when already in force), -EINVAL (not 1 or 2), -EBUSY, -ERANGE,
 *   -ENOMEM; the table is unchanged on failure
 */
export function setGrantVersion(gt: GrantTable, version: number): number {
  if (version !== 1 && version !== 2) return -EINVAL;
  if (gt.version === version) return 0;
  for (let i = GNTTAB_NR_RESERVED_ENTRIES; i < gt.nrEntries; i++) {
    if (gt.pin[i] !== 0) return -EBUSY; // "some grant entries still in use"
  }
  if (gt.version === 1) {
    const rc = gt.populateStatus();
    if (rc < 0) return rc;
  } else {
    for (let i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
      const type = gt.entryFlags(i) & GTF_type_mask;
      if (
        type === GTF_transitive || (type === GTF_permit_access && gt.entryFrame(i) > 0xffffffff)
      ) {
        return -ERANGE; // "non-representable entries"
      }
    }
  }
  const saved = readReserved(gt);
  if (version === 1) {
    const rc = gt.unpopulateStatus();
    if (rc < 0) return rc;
  }
  gt.clearShared();
  gt.switchVersion(version);
  writeReserved(gt, saved);
  return 0;
}
