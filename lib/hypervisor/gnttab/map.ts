/**
 * GNTTABOP_map_grant_ref / unmap_grant_ref / unmap_and_replace: a domain maps another
 * domain's grant (host and/or device mapping), tracked by a maptrack handle, with the
 * pin counts and in-use bits kept as Xen keeps them; mirrors map_grant_ref,
 * unmap_common and gnttab_release_mappings of xen/common/grant_table.c.
 * @module
 */
import type { Mfn } from "../../abi/mod.ts";
import { PAGE_SIZE } from "../../abi/mod.ts";
import {
  GNTMAP_application_map,
  GNTMAP_contains_pte,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTPIN_devr_inc,
  GNTPIN_devw_inc,
  GNTPIN_devw_mask,
  GNTPIN_hstr_inc,
  GNTPIN_hstw_inc,
  GNTPIN_hstw_mask,
  GNTPIN_overflow,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_no_device_space,
  GNTST_okay,
  GNTTABOP_map_grant_ref,
  GNTTABOP_unmap_grant_ref,
  MAPKIND_READ,
  MAPKIND_WRITE,
  TRC_MEM_PAGE_GRANT_MAP,
  TRC_MEM_PAGE_GRANT_UNMAP,
} from "../../abi/mod.ts";
import { INVALID_MAPTRACK_HANDLE } from "./maptrack.ts";
import { clearUnpinned, setStatus } from "./_status.ts";
import type { GrantTable } from "./table.ts";
import { asGfn, asMfn } from "../../abi/mod.ts";

/** The GNTMAP_* bits a maptrack record keeps (Xen: "0-4: GNTMAP_*"). */
const MAPTRACK_FLAGS = 0x1f;

/** Outputs of {@link gnttabMapGrantRef} (reusable: no allocation per map). */
export class MapGrantResult {
  /** GNTST_* status. */
  status = GNTST_okay;
  /** The maptrack handle (valid when status is GNTST_okay). */
  handle = 0;
  /** Machine address of the frame (dev_bus_addr). */
  devBusAddr = 0;
  /** The machine frame mapped. */
  mfn = -1;
}

/**
 * get_paged_frame: the machine frame a granting domain names in an entry (any u64 value
 * from the guest), or -1 when it names none of its frames (GNTST_bad_page).
 */
export function grantedMfn(rgt: GrantTable, frame: number): number {
  if (!(frame >= 0 && frame <= 0xffffffff)) return -1;
  const mfn = rgt.hooks.gfnToMfn(asGfn(frame));
  return mfn >= 0 && mfn < rgt.mem.frames ? mfn : -1;
}

function pinIncrement(flags: number): number {
  const ro = (flags & GNTMAP_readonly) !== 0;
  let inc = 0;
  if (flags & GNTMAP_device_map) inc += ro ? GNTPIN_devr_inc : GNTPIN_devw_inc;
  if (flags & GNTMAP_host_map) inc += ro ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
  return inc;
}

/**
 * GNTTABOP_map_grant_ref by the domain owning `lgt`, of grant `ref` of domain `dom`.
 * @param lgt the mapping (local) domain's table
 * @param dom the granting domain (by id: DOMID_SELF is not accepted, as in Xen)
 * @param ref the grant reference
 * @param flags GNTMAP_* (device_map and/or host_map, readonly, ...)
 * @param hostAddr where to map for GNTMAP_host_map (given to the domain's host mapper)
 * @param out receives status, handle, dev_bus_addr
 * @returns the status: GNTST_okay, GNTST_bad_gntref (no map kind, bad ref),
 *   GNTST_bad_domain, GNTST_no_device_space (out of handles), GNTST_general_error
 *   (entry not GTF_permit_access for this domain, write map of a read-only grant,
 *   pinned by another domain, frame not writable, no host mapper), GNTST_bad_page
 */
export function gnttabMapGrantRef(
  lgt: GrantTable,
  dom: number,
  ref: number,
  flags: number,
  hostAddr: number,
  out: MapGrantResult,
): number {
  const fail = (st: number): number => {
    out.status = lgt.fail(GNTTABOP_map_grant_ref, ref, st);
    return st;
  };
  if ((flags & (GNTMAP_device_map | GNTMAP_host_map)) === 0) return fail(GNTST_bad_gntref);
  if (
    lgt.translated &&
    (flags & (GNTMAP_device_map | GNTMAP_application_map | GNTMAP_contains_pte)) !== 0
  ) {
    return fail(GNTST_general_error);
  }
  const rgt = dom === lgt.domid ? lgt : lgt.directory.gnttab(dom);
  if (!rgt) return fail(GNTST_bad_domain);
  const handle = lgt.maptrack.get();
  if (handle === INVALID_MAPTRACK_HANDLE) return fail(GNTST_no_device_space);
  if (!rgt.validRef(ref)) {
    lgt.maptrack.put(handle);
    return fail(GNTST_bad_gntref);
  }
  const ld = lgt.domid;
  const ro = (flags & GNTMAP_readonly) !== 0;
  const pin = rgt.pin[ref];
  // (a sub-page or transitive grant pinned by a copy is never mapped)
  if (
    pin !== 0 &&
    (rgt.actDomid[ref] !== ld || (pin & GNTPIN_overflow) !== 0 || rgt.actSubPage[ref] !== 0)
  ) {
    lgt.maptrack.put(handle);
    return fail(GNTST_general_error);
  }
  if (pin === 0 || (!ro && (pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0)) {
    const st = setStatus(rgt, ref, ld, ro, true);
    if (st !== GNTST_okay) {
      lgt.maptrack.put(handle);
      return fail(st);
    }
    if (pin === 0) {
      // v2: full_page.frame, whatever the entry's kind (as Xen reads it)
      const mfn = grantedMfn(rgt, rgt.entryFrame(ref));
      if (mfn < 0) {
        clearUnpinned(rgt, ref, ro);
        lgt.maptrack.put(handle);
        return fail(GNTST_bad_page);
      }
      rgt.actDomid[ref] = ld;
      rgt.actMfn[ref] = mfn;
      rgt.actStart[ref] = 0;
      rgt.actLength[ref] = PAGE_SIZE;
      rgt.actSubPage[ref] = 0;
      rgt.actTransDom[ref] = rgt.domid;
      rgt.actTransRef[ref] = ref;
    }
  }
  const inc = pinIncrement(flags);
  rgt.pin[ref] += inc;
  const mfn = rgt.actMfn[ref];
  let st = GNTST_okay;
  // A writable mapping takes a writable type reference on the frame (get_page_type).
  if (!ro && rgt.hooks.canWrite && !rgt.hooks.canWrite(mfn)) st = GNTST_general_error;
  // The record exists before the host mapping is made (a mapper may consult mapkind).
  if (st === GNTST_okay) lgt.maptrack.set(handle, rgt.domid, ref, flags & MAPTRACK_FLAGS);
  if (st === GNTST_okay && (flags & GNTMAP_host_map) !== 0) {
    const mapper = lgt.hooks.hostMapper;
    st = mapper ? mapper.create(hostAddr, asMfn(mfn), flags) : GNTST_general_error;
    if (st !== GNTST_okay) lgt.maptrack.setFlags(handle, 0);
  }
  if (st !== GNTST_okay) {
    rgt.pin[ref] -= inc;
    clearUnpinned(rgt, ref, ro);
    lgt.maptrack.put(handle);
    return fail(st);
  }
  if (lgt.tracer.on) lgt.tracer.rec(TRC_MEM_PAGE_GRANT_MAP, 1, dom, 0, 0, 0, 0, 0);
  out.status = GNTST_okay;
  out.handle = handle;
  out.mfn = mfn;
  out.devBusAddr = mfn * PAGE_SIZE;
  return GNTST_okay;
}

/**
 * GNTTABOP_unmap_grant_ref (and unmap_and_replace with `newAddr`): removes the host
 * mapping when `hostAddr` is non-zero and the device mapping when `devBusAddr` is
 * non-zero; the handle is freed once neither remains (with both zero nothing happens,
 * as in Xen).
 * @returns GNTST_okay, GNTST_bad_handle (unknown or free handle), GNTST_general_error
 *   (dev_bus_addr mismatch, host mapper failure, granting domain gone)
 */
export function gnttabUnmapGrantRef(
  lgt: GrantTable,
  handle: number,
  hostAddr: number,
  devBusAddr: number,
  newAddr = 0,
): number {
  const mt = lgt.maptrack;
  if (!mt.live(handle)) return lgt.fail(GNTTABOP_unmap_grant_ref, handle, GNTST_bad_handle);
  const dom = mt.domid(handle);
  const rgt = dom === lgt.domid ? lgt : lgt.directory.gnttab(dom);
  if (!rgt) {
    lgt.hooks.crash?.(`unmap of handle ${handle} of vanished d${dom}`);
    return lgt.fail(GNTTABOP_unmap_grant_ref, handle, GNTST_general_error);
  }
  if (lgt.tracer.on) lgt.tracer.rec(TRC_MEM_PAGE_GRANT_UNMAP, 1, dom, 0, 0, 0, 0, 0);
  const ref = mt.ref(handle);
  if (!rgt.validRef(ref)) return lgt.fail(GNTTABOP_unmap_grant_ref, handle, GNTST_bad_handle);
  const orig = mt.flags(handle);
  const mfn = rgt.actMfn[ref];
  if (devBusAddr !== 0 && devBusAddr !== mfn * PAGE_SIZE) {
    return lgt.fail(GNTTABOP_unmap_grant_ref, handle, GNTST_general_error);
  }
  let flags = orig;
  let done = 0;
  if (hostAddr !== 0 && (flags & GNTMAP_host_map) !== 0) {
    const mapper = lgt.hooks.hostMapper;
    const st = mapper ? mapper.replace(hostAddr, asMfn(mfn), newAddr, orig) : GNTST_general_error;
    if (st < 0) return lgt.fail(GNTTABOP_unmap_grant_ref, handle, st);
    flags &= ~GNTMAP_host_map;
    done |= GNTMAP_host_map;
  }
  if (devBusAddr !== 0 && (flags & GNTMAP_device_map) !== 0) {
    flags &= ~GNTMAP_device_map;
    done |= GNTMAP_device_map;
  }
  if ((flags & (GNTMAP_device_map | GNTMAP_host_map)) === 0) {
    mt.setFlags(handle, 0);
    mt.put(handle);
  } else {
    mt.setFlags(handle, flags);
  }
  if (done !== 0) {
    rgt.pin[ref] -= pinIncrement(done | (orig & GNTMAP_readonly));
    clearUnpinned(rgt, ref, (orig & GNTMAP_readonly) !== 0);
  }
  return GNTST_okay;
}

/**
 * gnttab_release_mappings: drops every mapping `lgt`'s domain holds (domain teardown),
 * without touching page tables (they go with the domain).
 * @returns how many handles were released
 */
export function gnttabReleaseMappings(lgt: GrantTable): number {
  const mt = lgt.maptrack;
  let n = 0;
  for (let h = 0; h < mt.highWater; h++) {
    const flags = mt.flags(h);
    if ((flags & (GNTMAP_device_map | GNTMAP_host_map)) === 0) continue;
    const dom = mt.domid(h);
    const rgt = dom === lgt.domid ? lgt : lgt.directory.gnttab(dom);
    const ref = mt.ref(h);
    if (rgt && rgt.validRef(ref)) {
      rgt.pin[ref] -= pinIncrement(flags);
      clearUnpinned(rgt, ref, (flags & GNTMAP_readonly) !== 0);
    }
    mt.setFlags(h, 0);
    mt.put(h);
    n++;
  }
  return n;
}

/**
 * mapkind: how `lgt`'s domain maps machine frame `mfn` through grants (of domain
 * `rdomid`, or of any domain when omitted) — for the paging validator and IOMMU logic.
 * @returns MAPKIND_READ | MAPKIND_WRITE bits (0 when not grant-mapped)
 */
export function gnttabMapKind(lgt: GrantTable, mfn: Mfn, rdomid = -1): number {
  const mt = lgt.maptrack;
  let kind = 0;
  for (let h = 0; h < mt.highWater && (kind & MAPKIND_WRITE) === 0; h++) {
    const flags = mt.flags(h);
    if ((flags & (GNTMAP_device_map | GNTMAP_host_map)) === 0) continue;
    const dom = mt.domid(h);
    if (rdomid >= 0 && dom !== rdomid) continue;
    const rgt = dom === lgt.domid ? lgt : lgt.directory.gnttab(dom);
    if (!rgt || rgt.actMfn[mt.ref(h)] !== mfn) continue;
    kind |= (flags & GNTMAP_readonly) !== 0 ? MAPKIND_READ : MAPKIND_WRITE;
  }
  return kind;
}
