/**
 * GNTTABOP_copy: hypervisor copies between grant references and the caller's own
 * frames, with the grant pinned for the duration (acquire/release_grant_for_copy,
 * gnttab_copy_one of xen/common/grant_table.c).
 * @module
 */
import { PAGE_SIZE } from "../../abi/mod.ts";
import { DOMID_SELF } from "../../abi/mod.ts";
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTPIN_devw_mask,
  GNTPIN_hstr_inc,
  GNTPIN_hstw_inc,
  GNTPIN_hstw_mask,
  GNTPIN_overflow,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  GNTTABOP_copy,
  GTF_sub_page,
  GTF_transitive,
  GTF_type_mask,
  TRC_PVX_GNTTAB_COPY,
} from "../../abi/mod.ts";
import { clearUnpinned, fixupStatusForPin, setStatus } from "./_status.ts";
import { grantedMfn } from "./map.ts";
import type { GrantTable } from "./table.ts";
import { asGfn } from "../../abi/mod.ts";

/** One gnttab_copy element, decoded (reusable). */
export class GnttabCopyOp {
  /** Source grant reference (GNTCOPY_source_gref) or frame of the caller. */
  srcRef = 0;
  /** Source domain (DOMID_SELF for a frame). */
  srcDom = DOMID_SELF;
  /** Byte offset in the source page. */
  srcOffset = 0;
  /** Destination grant reference (GNTCOPY_dest_gref) or frame of the caller. */
  dstRef = 0;
  /** Destination domain. */
  dstDom = DOMID_SELF;
  /** Byte offset in the destination page. */
  dstOffset = 0;
  /** Bytes to copy (u16). */
  len = 0;
  /** GNTCOPY_* flags. */
  flags = 0;
}

const W_PINS = GNTPIN_devw_mask | GNTPIN_hstw_mask;

/**
 * acquire_grant_for_copy: pins grant `ref` of `rgt` for domain `ldomid` (a read pin,
 * or a write pin when `readonly` is false) and sets the in-use bits. A v2 sub-page
 * grant records its window (actStart/actLength); a v2 transitive grant (when
 * `allowTransitive`) pins the grant it names in turn, one level deep, for `rgt`'s domain.
 * @returns the granted machine frame (>= 0), or GNTST_bad_gntref, GNTST_general_error
 *   (wrong type/domain, read-only, pinned by another domain, bad transitive grant),
 *   GNTST_bad_page
 */
export function acquireGrantForCopy(
  rgt: GrantTable,
  ref: number,
  ldomid: number,
  readonly: boolean,
  allowTransitive = true,
): number {
  if (!rgt.validRef(ref)) return GNTST_bad_gntref;
  const pin = rgt.pin[ref];
  if (pin !== 0 && (rgt.actDomid[ref] !== ldomid || (pin & GNTPIN_overflow) !== 0)) {
    return GNTST_general_error;
  }
  const v2 = rgt.version === 2;
  const first = pin === 0 || (!readonly && (pin & W_PINS) === 0);
  if (v2 && (rgt.entryFlags(ref) & GTF_type_mask) === GTF_transitive) {
    if (first) {
      const st = setStatus(rgt, ref, ldomid, readonly, false);
      if (st !== GNTST_okay) return st;
    }
    const tdom = rgt.entryTransDomid(ref), tref = rgt.entryTransGref(ref);
    const td = allowTransitive && tdom !== rgt.domid ? rgt.directory.gnttab(tdom) : undefined;
    // not allowed here, self-referential, or naming no domain
    if (!td) return unpinFail(rgt, ref, readonly, GNTST_general_error);
    const mfn = acquireGrantForCopy(td, tref, rgt.domid, readonly, false);
    if (mfn < 0) {
      fixupStatusForPin(rgt, ref);
      return mfn;
    }
    if (pin === 0) {
      rgt.actDomid[ref] = ldomid;
      rgt.actStart[ref] = td.actStart[tref];
      rgt.actLength[ref] = td.actLength[tref];
      rgt.actTransDom[ref] = tdom;
      rgt.actTransRef[ref] = tref;
      rgt.actMfn[ref] = mfn;
      rgt.actSubPage[ref] = 1; // never mapped
    } else if (
      rgt.actMfn[ref] !== mfn || rgt.actTransDom[ref] !== tdom || rgt.actTransRef[ref] !== tref
    ) {
      // The entry changed under its pin. Xen retries the copy (ERESTART), which with
      // nothing else running would retry forever: pvx fails this element instead.
      releaseGrantForCopy(td, tref, readonly);
      fixupStatusForPin(rgt, ref);
      return GNTST_general_error;
    }
  } else if (first) {
    const st = setStatus(rgt, ref, ldomid, readonly, false);
    if (st !== GNTST_okay) return st;
    const sub = v2 && (rgt.entryFlags(ref) & GTF_sub_page) !== 0;
    const mfn = grantedMfn(rgt, rgt.entryFrame(ref));
    if (mfn < 0) return unpinFail(rgt, ref, readonly, GNTST_bad_page);
    if (pin === 0) {
      rgt.actDomid[ref] = ldomid;
      rgt.actMfn[ref] = mfn;
      rgt.actSubPage[ref] = sub ? 1 : 0;
      rgt.actStart[ref] = sub ? rgt.entrySubPageOff(ref) : 0;
      rgt.actLength[ref] = sub ? rgt.entrySubPageLen(ref) : PAGE_SIZE;
      rgt.actTransDom[ref] = rgt.domid;
      rgt.actTransRef[ref] = ref;
    }
  }
  rgt.pin[ref] += readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
  return rgt.actMfn[ref];
}

/** The unlock_out_clear tail: the bits follow the pins again; returns `st`. */
function unpinFail(rgt: GrantTable, ref: number, readonly: boolean, st: number): number {
  clearUnpinned(rgt, ref, readonly);
  return st;
}

/**
 * release_grant_for_copy: drops the pin {@link acquireGrantForCopy} took (and the one on
 * the grant a transitive entry leads to).
 */
export function releaseGrantForCopy(rgt: GrantTable, ref: number, readonly: boolean): void {
  rgt.pin[ref] -= readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
  clearUnpinned(rgt, ref, readonly);
  const tdom = rgt.actTransDom[ref];
  if (tdom !== rgt.domid) {
    const td = rgt.directory.gnttab(tdom);
    if (td) releaseGrantForCopy(td, rgt.actTransRef[ref], readonly);
  }
}

/** Whether a copy of `len` bytes at `off` stays inside a pinned grant's window. */
function inWindow(gt: GrantTable, ref: number, off: number, len: number): boolean {
  const start = gt.actStart[ref];
  return off >= start && off + len <= start + gt.actLength[ref];
}

/** Resolves a copy end's domain (gnttab_copy_lock_domain). */
function copyDomain(lgt: GrantTable, dom: number, isGref: boolean): GrantTable | number {
  if (dom !== DOMID_SELF && !isGref) return GNTST_permission_denied; // frames: self only
  if (dom === DOMID_SELF || dom === lgt.domid) return lgt;
  return lgt.directory.gnttab(dom) ?? GNTST_bad_domain;
}

/**
 * One GNTTABOP_copy element issued by `lgt`'s domain. Sources are pinned read-only,
 * destinations writable; a frame (not a grant) must be the caller's own. Bounds are
 * checked after both ends are claimed, as Xen does: the page first (GNTST_bad_copy_arg),
 * then a sub-page grant's window (GNTST_general_error).
 * @returns GNTST_okay, GNTST_permission_denied (a frame of another domain),
 *   GNTST_bad_domain, GNTST_bad_gntref, GNTST_general_error, GNTST_bad_page,
 *   GNTST_bad_copy_arg (offset + len beyond the page); nothing is copied on failure
 */
export function gnttabCopy(lgt: GrantTable, op: GnttabCopyOp): number {
  const srcGref = (op.flags & GNTCOPY_source_gref) !== 0;
  const dstGref = (op.flags & GNTCOPY_dest_gref) !== 0;
  const sd = copyDomain(lgt, op.srcDom, srcGref);
  if (typeof sd === "number") return copyFail(lgt, op, sd);
  const dd = copyDomain(lgt, op.dstDom, dstGref);
  if (typeof dd === "number") return copyFail(lgt, op, dd);
  // Claim the source.
  let smfn: number;
  if (srcGref) {
    smfn = acquireGrantForCopy(sd, op.srcRef, lgt.domid, true);
    if (smfn < 0) return copyFail(lgt, op, smfn);
  } else {
    smfn = sd.hooks.gfnToMfn(asGfn(op.srcRef));
    if (!(smfn >= 0 && smfn < sd.mem.frames)) return copyFail(lgt, op, GNTST_bad_page);
  }
  // Claim the destination (a writable type on the frame, as get_page_type does).
  let dmfn: number;
  if (dstGref) {
    dmfn = acquireGrantForCopy(dd, op.dstRef, lgt.domid, false);
  } else {
    dmfn = dd.hooks.gfnToMfn(asGfn(op.dstRef));
    if (!(dmfn >= 0 && dmfn < dd.mem.frames)) dmfn = GNTST_bad_page;
  }
  let st = dmfn < 0 ? dmfn : GNTST_okay;
  if (st === GNTST_okay && dd.hooks.canWrite && !dd.hooks.canWrite(dmfn)) {
    st = GNTST_general_error;
  }
  if (st === GNTST_okay) {
    const so = op.srcOffset, doff = op.dstOffset, len = op.len;
    if (
      !(Number.isInteger(so) && Number.isInteger(doff) && Number.isInteger(len)) ||
      so < 0 || doff < 0 || len < 0 || so + len > PAGE_SIZE || doff + len > PAGE_SIZE
    ) {
      st = GNTST_bad_copy_arg;
    } else if (
      (srcGref && !inWindow(sd, op.srcRef, so, len)) ||
      (dstGref && !inWindow(dd, op.dstRef, doff, len))
    ) {
      st = GNTST_general_error; // "copy source/dest out of bounds" (sub-page grants)
    } else {
      const mem = lgt.mem;
      const s = smfn * PAGE_SIZE + so, d = dmfn * PAGE_SIZE + doff;
      mem.u8.copyWithin(d, s, s + len);
      mem.noteWrite(d, len);
    }
  }
  if (dstGref && dmfn >= 0) releaseGrantForCopy(dd, op.dstRef, false);
  if (srcGref) releaseGrantForCopy(sd, op.srcRef, true);
  if (st !== GNTST_okay) return copyFail(lgt, op, st);
  if (lgt.tracer.on) {
    lgt.tracer.rec(TRC_PVX_GNTTAB_COPY, 5, lgt.domid, sd.domid, dd.domid, op.len, 0, 0);
  }
  return GNTST_okay;
}

function copyFail(lgt: GrantTable, op: GnttabCopyOp, st: number): number {
  if (lgt.tracer.on) {
    lgt.tracer.rec(TRC_PVX_GNTTAB_COPY, 5, lgt.domid, op.srcDom, op.dstDom, op.len, -st, 0);
  }
  return lgt.fail(GNTTABOP_copy, op.flags, st);
}
