/**
 * A domain's grant table: the shared frames holding grant_entry_v1_t (version 1) or
 * grant_entry_v2_t entries (version 2, with its grant_status_t status frames), the active
 * (pinned) state of each entry, the domain's own maptrack, and the table-level operations
 * (setup_table, query_size, get/set_version, get_status_frames, swap_grant_ref); mirrors
 * the table half of xen/common/grant_table.c. The version switch itself is in version.ts.
 * @module
 */
import { EBUSY, EINVAL, ENOMEM, EPERM, ESRCH } from "../../abi/mod.ts";
import type { PhysMemory } from "../../cpu/mod.ts";
import { PAGE_SIZE } from "../../abi/mod.ts";
import { NULL_TRACER, type Tracer } from "../trace/tracer.ts";
import { DOMID_SELF } from "../../abi/mod.ts";
import {
  DEFAULT_MAX_GRANT_FRAMES,
  DEFAULT_MAX_MAPTRACK_FRAMES,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_eagain,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  GNTTABOP_get_status_frames,
  GNTTABOP_get_version,
  GNTTABOP_query_size,
  GNTTABOP_set_version,
  GNTTABOP_setup_table,
  GNTTABOP_swap_grant_ref,
  GRANT_ENTRIES_PER_FRAME_V1,
  GRANT_ENTRY_V1_SIZE,
  GRANT_ENTRY_V2_SIZE,
  GRANT_STATUS_PER_FRAME,
  INITIAL_NR_GRANT_FRAMES,
  INVALID_GFN_32,
  MAPTRACK_PER_PAGE,
  TRC_PVX_GNTTAB_FAIL,
  XENMAPIDX_grant_table_status,
} from "../../abi/mod.ts";
import { Maptrack } from "./maptrack.ts";
import type { GnttabDirectory, GnttabDomainHooks, GrantTableOptions } from "./hooks.ts";
import { setGrantVersion } from "./version.ts";

/** Status frames a v2 table of `frames` grant frames has (grant_to_status_frames). */
export function statusFramesFor(frames: number): number {
  return Math.ceil((frames * PAGE_SIZE / GRANT_ENTRY_V2_SIZE) / GRANT_STATUS_PER_FRAME);
}

export type {
  GnttabDirectory,
  GnttabDomainHooks,
  GrantHostMapper,
  GrantTableOptions,
} from "./hooks.ts";
/** GNTTABOP_* names, for debug lines. */
const OP_NAMES = [
  "map_grant_ref",
  "unmap_grant_ref",
  "setup_table",
  "dump_table",
  "transfer",
  "copy",
  "query_size",
  "unmap_and_replace",
  "set_version",
  "get_status_frames",
  "get_version",
  "swap_grant_ref",
  "cache_flush",
];

/** GNTTABOP_query_size's answer. */
export interface GnttabSize {
  /** Current frames. */
  nrFrames: number;
  /** Frame limit. */
  maxNrFrames: number;
}

/** One domain's grant table and maptrack (version 1 or 2). */
export class GrantTable {
  /** This domain's id. */
  readonly domid: number;
  /** Machine memory. */
  readonly mem: PhysMemory;
  /** Memory holding the table's frames (shared and status). */
  readonly tableMem: PhysMemory;
  /** Domain services. */
  readonly hooks: GnttabDomainHooks;
  /** Other domains. */
  readonly directory: GnttabDirectory;
  /** Whether this domain may name others. */
  readonly privileged: boolean;
  /** Whether this domain is translated. */
  readonly translated: boolean;
  /** Frame limit. */
  readonly maxFrames: number;
  /** The mappings this domain holds on grants (its handles). */
  readonly maptrack: Maptrack;
  /** Trace sink (the core may replace it). */
  tracer: Tracer;
  /** Debug sink for rejected operations (the core may replace it). */
  debug: ((msg: string) => void) | null;
  /** Active entries: pin counters (GNTPIN_*), per grant reference. */
  readonly pin: Uint32Array;
  /** Active entries: the domain the entry is pinned for. */
  readonly actDomid: Uint16Array;
  /** Active entries: the machine frame pinned. */
  readonly actMfn: Int32Array;
  /** Active entries: the first byte the grant covers (sub-page grants). */
  readonly actStart: Uint16Array;
  /** Active entries: the bytes the grant covers (PAGE_SIZE but for sub-page grants). */
  readonly actLength: Uint16Array;
  /** Active entries: 1 for a sub-page or transitive grant (never mapped). */
  readonly actSubPage: Uint8Array;
  /** Active entries: the domain a transitive grant leads to (this domain's id if none). */
  readonly actTransDom: Int32Array;
  /** Active entries: the grant reference in {@link actTransDom}. */
  readonly actTransRef: Uint32Array;
  readonly #frames: number[] = [];
  readonly #frameGfn: number[] = [];
  readonly #status: number[] = [];
  readonly #statusGfn: number[] = [];
  #version = 1;
  /** log2 of the entries per frame (9 for v1, 8 for v2). */
  #shift = 9;
  /** Entry size (8 for v1, 16 for v2). */
  #esize = GRANT_ENTRY_V1_SIZE;

  /** @param o see {@link GrantTableOptions} */
  constructor(o: GrantTableOptions) {
    const maxFrames = o.maxFrames ?? DEFAULT_MAX_GRANT_FRAMES;
    if (!Number.isInteger(maxFrames) || maxFrames < 1 || maxFrames > 1024) {
      throw new RangeError(`Cannot create grant table: bad frame limit ${maxFrames}`);
    }
    this.domid = o.domid;
    this.mem = o.mem;
    this.tableMem = o.tableMem ?? o.mem;
    this.hooks = o.hooks;
    this.directory = o.directory;
    this.privileged = o.privileged ?? false;
    this.translated = o.translated ?? false;
    this.maxFrames = maxFrames;
    this.tracer = o.tracer ?? NULL_TRACER;
    this.debug = o.debug ?? null;
    this.maptrack = new Maptrack(
      (o.maxMaptrackFrames ?? DEFAULT_MAX_MAPTRACK_FRAMES) * MAPTRACK_PER_PAGE,
    );
    const n = maxFrames * GRANT_ENTRIES_PER_FRAME_V1;
    this.pin = new Uint32Array(n);
    this.actDomid = new Uint16Array(n);
    this.actMfn = new Int32Array(n).fill(-1);
    this.actStart = new Uint16Array(n);
    this.actLength = new Uint16Array(n);
    this.actSubPage = new Uint8Array(n);
    this.actTransDom = new Int32Array(n).fill(o.domid);
    this.actTransRef = new Uint32Array(n);
    const initial = o.initialFrames ?? INITIAL_NR_GRANT_FRAMES;
    if (initial > 0 && this.growTo(initial) < 0) {
      throw new RangeError(`Cannot create grant table for d${o.domid}: out of frames`);
    }
  }

  /** Current number of frames. */
  get nrFrames(): number {
    return this.#frames.length;
  }

  /** Number of grant entries (nr_grant_entries: 512 a frame in v1, 256 in v2). */
  get nrEntries(): number {
    return this.#frames.length << this.#shift;
  }

  /** The grant-table version in force (1 or 2). */
  get version(): number {
    return this.#version;
  }

  /** Current number of status frames (0 in v1). */
  get nrStatusFrames(): number {
    return this.#status.length;
  }

  /** Machine frame of table frame `idx`. */
  frameMfn(idx: number): number {
    return this.#frames[idx];
  }

  /** The machine frames of the table, in order. */
  frameMfns(): readonly number[] {
    return this.#frames;
  }

  /** The machine frames of the v2 status frames, in order. */
  statusMfns(): readonly number[] {
    return this.#status;
  }

  /** The gfn where a translated guest placed frame `idx` (INVALID_GFN_32 if nowhere). */
  frameGfn(idx: number): number {
    return this.#frameGfn[idx] ?? INVALID_GFN_32;
  }

  /** The gfn where a translated guest placed status frame `idx` (INVALID_GFN_32 if nowhere). */
  statusGfn(idx: number): number {
    return this.#statusGfn[idx] ?? INVALID_GFN_32;
  }

  /** Allocates one zeroed table frame. @returns its mfn, or -1 */
  #alloc(): number {
    const mfn = this.hooks.allocFrame();
    if (!(Number.isInteger(mfn) && mfn >= 0 && mfn < this.tableMem.frames)) return -1;
    this.tableMem.u8.fill(0, mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
    this.tableMem.noteWrite(mfn * PAGE_SIZE, PAGE_SIZE);
    return mfn;
  }

  /**
   * gnttab_grow_table: allocates shared frames up to `n` (at least one) and, in v2, the
   * status frames they need (all zeroed).
   * @returns 0, -EINVAL (beyond the limit) or -ENOMEM (nothing allocated then)
   */
  growTo(n: number): number {
    if (n > this.maxFrames) return -EINVAL;
    if (n < INITIAL_NR_GRANT_FRAMES) n = INITIAL_NR_GRANT_FRAMES;
    const shared: number[] = [];
    const status: number[] = [];
    const wantStatus = this.#version === 2 ? statusFramesFor(n) : 0;
    let ok = true;
    while (ok && this.#frames.length + shared.length < n) {
      const mfn = this.#alloc();
      if (mfn < 0) ok = false;
      else shared.push(mfn);
    }
    while (ok && this.#status.length + status.length < wantStatus) {
      const mfn = this.#alloc();
      if (mfn < 0) ok = false;
      else status.push(mfn);
    }
    if (!ok) {
      for (const mfn of [...shared, ...status]) this.hooks.freeFrame?.(mfn);
      return -ENOMEM;
    }
    for (const mfn of shared) {
      this.#frames.push(mfn);
      this.#frameGfn.push(INVALID_GFN_32);
    }
    for (const mfn of status) {
      this.#status.push(mfn);
      this.#statusGfn.push(INVALID_GFN_32);
    }
    return 0;
  }

  /**
   * gnttab_map_frame for XENMAPSPACE_grant_table: grows the table to hold frame `idx`
   * (a status frame when the table is v2 and `idx` has XENMAPIDX_grant_table_status)
   * when needed and records where the guest placed it (the core updates the p2m).
   * @returns the frame's mfn, or -EINVAL
   */
  mapFrame(idx: number, gfn: number): number {
    if (!Number.isInteger(idx) || idx < 0) return -EINVAL;
    if (this.#version === 2 && idx >= XENMAPIDX_grant_table_status) {
      const s = idx - XENMAPIDX_grant_table_status;
      if (s >= this.#status.length) {
        const need = Math.ceil((s + 1) * GRANT_STATUS_PER_FRAME * GRANT_ENTRY_V2_SIZE / PAGE_SIZE);
        if (need > this.maxFrames || this.growTo(need) < 0 || s >= this.#status.length) {
          return -EINVAL;
        }
      }
      this.#statusGfn[s] = gfn;
      return this.#status[s];
    }
    if (idx >= this.#frames.length && (idx >= this.maxFrames || this.growTo(idx + 1) < 0)) {
      return -EINVAL;
    }
    this.#frameGfn[idx] = gfn;
    return this.#frames[idx];
  }

  /**
   * gnttab_populate_status_frames (set_version 1 -> 2): the status frames the current
   * shared frames need.
   * @returns 0 or -ENOMEM (nothing allocated then)
   */
  populateStatus(): number {
    const status: number[] = [];
    while (this.#status.length + status.length < statusFramesFor(this.#frames.length)) {
      const mfn = this.#alloc();
      if (mfn < 0) {
        for (const m of status) this.hooks.freeFrame?.(m);
        return -ENOMEM;
      }
      status.push(mfn);
    }
    for (const mfn of status) {
      this.#status.push(mfn);
      this.#statusGfn.push(INVALID_GFN_32);
    }
    return 0;
  }

  /**
   * gnttab_unpopulate_status_frames (set_version 2 -> 1): frees the status frames unless
   * one is still referenced (a guest mapping of it: XSA-255), in which case none is
   * freed. A translated domain's frames leave its p2m first; one still referenced then
   * crashes the domain, as in Xen.
   * @returns 0 or -EBUSY
   */
  unpopulateStatus(): number {
    const h = this.hooks;
    if (this.translated) {
      this.#status.forEach((mfn, i) => {
        const gfn = this.#statusGfn[i];
        if (gfn !== INVALID_GFN_32) h.unplaceFrame?.(gfn, mfn);
        this.#statusGfn[i] = INVALID_GFN_32;
      });
    }
    const busy = this.#status.findIndex((mfn) => h.frameBusy?.(mfn) ?? false);
    if (busy >= 0) {
      if (this.translated) h.crash?.(`grant status frame ${busy} still in use`);
      return -EBUSY;
    }
    for (const mfn of this.#status) h.freeFrame?.(mfn);
    this.#status.length = 0;
    this.#statusGfn.length = 0;
    return 0;
  }

  /** Zeroes every shared frame (set_version: no crud left from the old layout). */
  clearShared(): void {
    for (const mfn of this.#frames) {
      this.tableMem.u8.fill(0, mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
      this.tableMem.noteWrite(mfn * PAGE_SIZE, PAGE_SIZE);
    }
  }

  /** Switches the entry layout (set_version's last step). */
  switchVersion(version: 1 | 2): void {
    this.#version = version;
    this.#shift = version === 2 ? 8 : 9;
    this.#esize = version === 2 ? GRANT_ENTRY_V2_SIZE : GRANT_ENTRY_V1_SIZE;
  }

  // ---- entry access ----

  /** Address of entry `ref` in {@link tableMem} (ref < nrEntries). */
  entryMaddr(ref: number): number {
    const mask = (1 << this.#shift) - 1;
    return this.#frames[ref >>> this.#shift] * PAGE_SIZE + (ref & mask) * this.#esize;
  }
  /** Entry header flags (u16). */
  entryFlags(ref: number): number {
    return this.tableMem.dv.getUint16(this.entryMaddr(ref), true);
  }
  /** Entry header domid (u16). */
  entryDomid(ref: number): number {
    return this.tableMem.dv.getUint16(this.entryMaddr(ref) + 2, true);
  }
  /**
   * Entry frame: v1's u32 frame; v2's u64 full_page.frame (sub_page.frame is the same
   * field), exact below 2^53 and beyond any valid frame above.
   */
  entryFrame(ref: number): number {
    const a = this.entryMaddr(ref), dv = this.tableMem.dv;
    if (this.#version === 1) return dv.getUint32(a + 4, true);
    return dv.getUint32(a + 8, true) + dv.getUint32(a + 12, true) * 2 ** 32;
  }
  /** v2 sub_page.page_off (u16). */
  entrySubPageOff(ref: number): number {
    return this.tableMem.dv.getUint16(this.entryMaddr(ref) + 4, true);
  }
  /** v2 sub_page.length (u16). */
  entrySubPageLen(ref: number): number {
    return this.tableMem.dv.getUint16(this.entryMaddr(ref) + 6, true);
  }
  /** v2 transitive.trans_domid (u16). */
  entryTransDomid(ref: number): number {
    return this.tableMem.dv.getUint16(this.entryMaddr(ref) + 4, true);
  }
  /** v2 transitive.gref (u32). */
  entryTransGref(ref: number): number {
    return this.tableMem.dv.getUint32(this.entryMaddr(ref) + 8, true);
  }
  /**
   * Address of the u16 holding entry `ref`'s GTF_reading / GTF_writing: the entry's
   * flags in v1, its grant_status_t in a status frame in v2.
   */
  statusMaddr(ref: number): number {
    if (this.#version === 1) return this.entryMaddr(ref);
    return this.#status[ref >>> 11] * PAGE_SIZE + (ref & (GRANT_STATUS_PER_FRAME - 1)) * 2;
  }
  /** The in-use word of entry `ref` (v1: its flags; v2: its status). */
  statusFlags(ref: number): number {
    return this.tableMem.dv.getUint16(this.statusMaddr(ref), true);
  }
  /** Sets Xen's in-use bits of an entry. */
  setStatusBits(ref: number, bits: number): void {
    const a = this.statusMaddr(ref), dv = this.tableMem.dv;
    dv.setUint16(a, dv.getUint16(a, true) | bits, true);
    this.tableMem.noteWrite(a, 2);
  }
  /** Clears in-use bits of an entry (gnttab_clear_flags). */
  clearStatusBits(ref: number, bits: number): void {
    const a = this.statusMaddr(ref), dv = this.tableMem.dv;
    dv.setUint16(a, dv.getUint16(a, true) & ~bits, true);
    this.tableMem.noteWrite(a, 2);
  }

  /** Whether `ref` is an entry of this table. */
  validRef(ref: number): boolean {
    return Number.isInteger(ref) && ref >= 0 && ref < this.nrEntries;
  }

  /**
   * rcu_lock_domain_by_any_id plus the XSM_TARGET check: this table for DOMID_SELF or
   * this domain's id; another domain's only when privileged.
   * @returns the table, "missing" (no such domain) or "denied" (not privileged)
   */
  resolve(dom: number): GrantTable | "missing" | "denied" {
    if (dom === DOMID_SELF || dom === this.domid) return this;
    const t = this.directory.gnttab(dom);
    if (!t) return "missing";
    return this.privileged ? t : "denied";
  }

  // ---- table-level operations ----

  /**
   * GNTTABOP_setup_table: grows `dom`'s table to `nrFrames` and lists its frames (mfns
   * for a PV guest, the gfns of XENMAPSPACE_grant_table for a translated one).
   * @returns the frame list, or GNTST_bad_domain, GNTST_permission_denied,
   *   GNTST_general_error (beyond the limit or out of memory)
   */
  setupTable(dom: number, nrFrames: number): number[] | number {
    const t = this.resolve(dom);
    if (t === "missing") return this.fail(GNTTABOP_setup_table, dom, GNTST_bad_domain);
    if (t === "denied") return this.fail(GNTTABOP_setup_table, dom, GNTST_permission_denied);
    if (!Number.isInteger(nrFrames) || nrFrames < 0 || nrFrames > t.maxFrames) {
      return this.fail(GNTTABOP_setup_table, nrFrames, GNTST_general_error);
    }
    const grow = nrFrames > t.nrFrames ||
      (t.version === 2 && statusFramesFor(nrFrames) > t.nrStatusFrames);
    if (grow && t.growTo(nrFrames) < 0) {
      return this.fail(GNTTABOP_setup_table, nrFrames, GNTST_general_error);
    }
    const out: number[] = [];
    for (let i = 0; i < nrFrames; i++) out.push(t.translated ? t.frameGfn(i) : t.frameMfn(i));
    return out;
  }

  /**
   * GNTTABOP_query_size.
   * @returns the sizes, or GNTST_bad_domain / GNTST_permission_denied
   */
  querySize(dom: number): GnttabSize | number {
    const t = this.resolve(dom);
    if (t === "missing") return this.fail(GNTTABOP_query_size, dom, GNTST_bad_domain);
    if (t === "denied") return this.fail(GNTTABOP_query_size, dom, GNTST_permission_denied);
    return { nrFrames: t.nrFrames, maxNrFrames: t.maxFrames };
  }

  /**
   * GNTTABOP_set_version (version.ts). The version to write back is {@link version}.
   * @returns 0, -EINVAL (not 1 or 2), -EBUSY (entries past the reserved ones in use, or a
   *   status frame still mapped), -ERANGE (a reserved entry v1 cannot hold), -ENOMEM
   */
  setVersion(version: number): number {
    const rc = setGrantVersion(this, version);
    return rc < 0 ? this.fail(GNTTABOP_set_version, version, rc) : rc;
  }

  /**
   * GNTTABOP_get_version.
   * @returns the version (1), or -ESRCH / -EPERM
   */
  getVersion(dom: number): number {
    const t = this.resolve(dom);
    if (t === "missing") return this.fail(GNTTABOP_get_version, dom, -ESRCH);
    if (t === "denied") return this.fail(GNTTABOP_get_version, dom, -EPERM);
    return t.version;
  }

  /**
   * GNTTABOP_get_status_frames: the first `nrFrames` status frames of `dom`'s table
   * (mfns for a PV guest, the gfns of XENMAPSPACE_grant_table for a translated one).
   * @returns the frame list, or GNTST_bad_domain, GNTST_permission_denied,
   *   GNTST_general_error (more frames asked than the table has: a v1 table has none)
   */
  getStatusFrames(dom: number, nrFrames: number): number[] | number {
    const t = this.resolve(dom);
    if (t === "missing") return this.fail(GNTTABOP_get_status_frames, dom, GNTST_bad_domain);
    if (t === "denied") return this.fail(GNTTABOP_get_status_frames, dom, GNTST_permission_denied);
    if (!Number.isInteger(nrFrames) || nrFrames < 0 || nrFrames > t.nrStatusFrames) {
      return this.fail(GNTTABOP_get_status_frames, nrFrames, GNTST_general_error);
    }
    const out: number[] = [];
    for (let i = 0; i < nrFrames; i++) {
      out.push(t.translated ? t.statusGfn(i) : t.statusMfns()[i]);
    }
    return out;
  }

  /**
   * GNTTABOP_swap_grant_ref: swaps two entries of this table that nobody has pinned.
   * @returns GNTST_okay, GNTST_bad_gntref or GNTST_eagain (an entry is in use)
   */
  swapGrantRef(refA: number, refB: number): number {
    if (!this.validRef(refA)) return this.fail(GNTTABOP_swap_grant_ref, refA, GNTST_bad_gntref);
    if (!this.validRef(refB)) return this.fail(GNTTABOP_swap_grant_ref, refB, GNTST_bad_gntref);
    if (refA === refB) return GNTST_okay;
    if (this.pin[refA] !== 0) return this.fail(GNTTABOP_swap_grant_ref, refA, GNTST_eagain);
    if (this.pin[refB] !== 0) return this.fail(GNTTABOP_swap_grant_ref, refB, GNTST_eagain);
    const m = this.tableMem, n = this.#esize;
    const a = this.entryMaddr(refA), b = this.entryMaddr(refB);
    const tmp = m.u8.slice(a, a + n);
    m.u8.copyWithin(a, b, b + n);
    m.u8.set(tmp, b);
    m.noteWrite(a, n);
    m.noteWrite(b, n);
    if (this.#version === 2) {
      const sa = this.statusMaddr(refA), sb = this.statusMaddr(refB);
      const st = m.dv.getUint16(sa, true);
      m.dv.setUint16(sa, m.dv.getUint16(sb, true), true);
      m.dv.setUint16(sb, st, true);
      m.noteWrite(sa, 2);
      m.noteWrite(sb, 2);
    }
    return GNTST_okay;
  }

  /** Traces a rejected operation and returns its status. */
  fail(op: number, arg: number, status: number): number {
    if (this.tracer.on) this.tracer.rec(TRC_PVX_GNTTAB_FAIL, 4, this.domid, op, arg, -status, 0, 0);
    this.debug?.(`d${this.domid} GNTTABOP_${OP_NAMES[op] ?? op}(${arg}): status ${status}`);
    return status;
  }
}
