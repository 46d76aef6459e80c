/**
 * A domain's grant table (v1): the shared frames holding grant_entry_v1_t entries, the
 * active (pinned) state of each entry, the domain's own maptrack, and the table-level
 * operations (setup_table, query_size, get/set_version, get_status_frames, swap_grant_ref);
 * mirrors the table half of xen/common/grant_table.c.
 * @module
 */
import type { Gfn, Mfn } from "../../abi/mod.ts";
import { EINVAL, ENOMEM, ENOSYS, EPERM, ESRCH } from "../../abi/mod.ts";
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
  INITIAL_NR_GRANT_FRAMES,
  INVALID_GFN_32,
  MAPTRACK_PER_PAGE,
  TRC_PVX_GNTTAB_FAIL,
} from "../../abi/mod.ts";
import { Maptrack } from "./maptrack.ts";

/**
 * Host (page-table) mappings of granted frames for GNTMAP_host_map, implemented by the
 * core/paging for a PV guest (create_grant_host_mapping / replace_grant_host_mapping).
 */
export interface GrantHostMapper {
  /**
   * Installs a mapping of `mfn` at `hostAddr` (a virtual address, or the machine address
   * of a PTE with GNTMAP_contains_pte), read-only with GNTMAP_readonly.
   * @returns GNTST_okay or a GNTST_* error
   */
  create(hostAddr: number, mfn: Mfn, flags: number): number;
  /**
   * Removes the mapping of `mfn` at `hostAddr` (replacing it by the one at `newAddr`
   * when non-zero, for unmap_and_replace).
   * @returns GNTST_okay or a GNTST_* error
   */
  replace(hostAddr: number, mfn: Mfn, newAddr: number, flags: number): number;
}

/** What a grant table needs from its domain (the hypervisor core implements it). */
export interface GnttabDomainHooks {
  /**
   * A frame number as this domain names it (in its grant entries and copy ops: the mfn
   * for a PV guest, the gfn for a translated one) -> the machine frame it owns, or -1
   * (Xen's get_paged_frame failing: GNTST_bad_page).
   */
  gfnToMfn(gfn: Gfn): number;
  /**
   * Whether the domain's frame may be written through a grant (get_page_type
   * PGT_writable_page: false for page-table and descriptor frames). Default: true.
   */
  canWrite?(mfn: number): boolean;
  /** Allocates a frame for the table (shared writable with this domain); -1 when none. */
  allocFrame(): number;
  /** GNTMAP_host_map into this domain's page tables; absent: GNTST_general_error. */
  hostMapper?: GrantHostMapper;
  /** Xen crashes a domain that unmaps a handle of a vanished domain. Optional. */
  crash?(reason: string): void;
}

/** Finds other domains' grant tables. */
export interface GnttabDirectory {
  /** The grant table of `domid`, or undefined when no such domain exists. */
  gnttab(domid: number): GrantTable | undefined;
}

/** Construction options of {@link GrantTable}. */
export interface GrantTableOptions {
  /** This domain's id. */
  domid: number;
  /** Machine memory. */
  mem: PhysMemory;
  /** Domain services. */
  hooks: GnttabDomainHooks;
  /** Other domains. */
  directory: GnttabDirectory;
  /** A control domain may name other domains (setup_table, query_size ...). */
  privileged?: boolean;
  /** Translated guest: setup_table reports gfns placed by XENMAPSPACE_grant_table. */
  translated?: boolean;
  /** Frame limit (default 32). */
  maxFrames?: number;
  /** Frames allocated at once (default 1, Xen's INITIAL_NR_GRANT_FRAMES; 0 for dom0). */
  initialFrames?: number;
  /** Maptrack frame limit (default 1024, 256 handles each). */
  maxMaptrackFrames?: number;
  /** Trace sink. */
  tracer?: Tracer;
  /** Debug lines for rejected operations (gdprintk); none by default. */
  debug?: (msg: string) => void;
}

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

/** One domain's grant table and maptrack (v1 only). */
export class GrantTable {
  /** This domain's id. */
  readonly domid: number;
  /** Machine memory. */
  readonly mem: PhysMemory;
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
  readonly #frames: number[] = [];
  readonly #frameGfn: number[] = [];

  /** @param o see {@link GrantTableOptions} */
  constructor(o: GrantTableOptions) {
    const maxFrames = o.maxFrames ?? DEFAULT_MAX_GRANT_FRAMES;
    if (!Number.isInteger(maxFrames) || maxFrames < 1 || maxFrames > 1024) {
      throw new RangeError(`Cannot create grant table: bad frame limit ${maxFrames}`);
    }
    this.domid = o.domid;
    this.mem = o.mem;
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
    const initial = o.initialFrames ?? INITIAL_NR_GRANT_FRAMES;
    if (initial > 0 && this.growTo(initial) < 0) {
      throw new RangeError(`Cannot create grant table for d${o.domid}: out of frames`);
    }
  }

  /** Current number of frames. */
  get nrFrames(): number {
    return this.#frames.length;
  }

  /** Number of grant entries (nr_grant_entries). */
  get nrEntries(): number {
    return this.#frames.length * GRANT_ENTRIES_PER_FRAME_V1;
  }

  /** The grant-table version (always 1). */
  get version(): number {
    return 1;
  }

  /** Machine frame of table frame `idx`. */
  frameMfn(idx: number): number {
    return this.#frames[idx];
  }

  /** The machine frames of the table, in order. */
  frameMfns(): readonly number[] {
    return this.#frames;
  }

  /** The gfn where a translated guest placed frame `idx` (INVALID_GFN_32 if nowhere). */
  frameGfn(idx: number): number {
    return this.#frameGfn[idx] ?? INVALID_GFN_32;
  }

  /**
   * gnttab_grow_table: allocates frames up to `n` (zeroed).
   * @returns 0, -EINVAL (beyond the limit) or -ENOMEM
   */
  growTo(n: number): number {
    if (n > this.maxFrames) return -EINVAL;
    const added: number[] = [];
    while (this.#frames.length + added.length < n) {
      const mfn = this.hooks.allocFrame();
      if (!(mfn >= 0 && mfn < this.mem.frames)) {
        return -ENOMEM; // the core owns the frames it handed out; none is recorded here
      }
      added.push(mfn);
    }
    for (const mfn of added) {
      this.mem.u8.fill(0, mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
      this.mem.noteWrite(mfn * PAGE_SIZE, PAGE_SIZE);
      this.#frames.push(mfn);
      this.#frameGfn.push(INVALID_GFN_32);
    }
    return 0;
  }

  /**
   * gnttab_map_frame for XENMAPSPACE_grant_table: grows the table to hold frame `idx`
   * when needed and records where the guest placed it (the core updates the p2m).
   * @returns the frame's mfn, or -EINVAL
   */
  mapFrame(idx: number, gfn: number): number {
    if (!Number.isInteger(idx) || idx < 0) return -EINVAL;
    if (idx >= this.#frames.length && (idx >= this.maxFrames || this.growTo(idx + 1) < 0)) {
      return -EINVAL;
    }
    this.#frameGfn[idx] = gfn;
    return this.#frames[idx];
  }

  // ---- entry access ----

  /** Machine address of entry `ref` (ref < nrEntries). */
  entryMaddr(ref: number): number {
    return this.#frames[ref >>> 9] * PAGE_SIZE + (ref & 511) * GRANT_ENTRY_V1_SIZE;
  }
  /** Entry flags (u16). */
  entryFlags(ref: number): number {
    return this.mem.dv.getUint16(this.entryMaddr(ref), true);
  }
  /** Entry domid (u16). */
  entryDomid(ref: number): number {
    return this.mem.dv.getUint16(this.entryMaddr(ref) + 2, true);
  }
  /** Entry frame (u32). */
  entryFrame(ref: number): number {
    return this.mem.dv.getUint32(this.entryMaddr(ref) + 4, true);
  }
  /** Sets bits in an entry's flags (Xen's in-use bits). */
  setEntryFlags(ref: number, bits: number): void {
    const a = this.entryMaddr(ref);
    this.mem.dv.setUint16(a, this.mem.dv.getUint16(a, true) | bits, true);
    this.mem.noteWrite(a, 2);
  }
  /** Clears bits in an entry's flags (gnttab_clear_flags). */
  clearEntryFlags(ref: number, bits: number): void {
    const a = this.entryMaddr(ref);
    this.mem.dv.setUint16(a, this.mem.dv.getUint16(a, true) & ~bits, true);
    this.mem.noteWrite(a, 2);
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
    if (nrFrames > t.nrFrames && t.growTo(nrFrames) < 0) {
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
   * GNTTABOP_set_version: pvx offers v1 only, answering as Xen with gnttab=max-ver:1.
   * The version to write back is always {@link version} (1).
   * @returns 0 for 1, -ENOSYS for 2, -EINVAL otherwise
   */
  setVersion(version: number): number {
    if (version !== 1 && version !== 2) return this.fail(GNTTABOP_set_version, version, -EINVAL);
    if (version === 2) return this.fail(GNTTABOP_set_version, version, -ENOSYS);
    return 0;
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
   * GNTTABOP_get_status_frames: a v1 table has no status frames.
   * @returns GNTST_okay for 0 frames, else GNTST_general_error (or bad_domain/denied)
   */
  getStatusFrames(dom: number, nrFrames: number): number {
    const t = this.resolve(dom);
    if (t === "missing") return this.fail(GNTTABOP_get_status_frames, dom, GNTST_bad_domain);
    if (t === "denied") return this.fail(GNTTABOP_get_status_frames, dom, GNTST_permission_denied);
    return nrFrames === 0
      ? GNTST_okay
      : this.fail(GNTTABOP_get_status_frames, nrFrames, GNTST_general_error);
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
    const a = this.entryMaddr(refA), b = this.entryMaddr(refB);
    const tmp = this.mem.u8.slice(a, a + GRANT_ENTRY_V1_SIZE);
    this.mem.u8.copyWithin(a, b, b + GRANT_ENTRY_V1_SIZE);
    this.mem.u8.set(tmp, b);
    this.mem.noteWrite(a, GRANT_ENTRY_V1_SIZE);
    this.mem.noteWrite(b, GRANT_ENTRY_V1_SIZE);
    return GNTST_okay;
  }

  /** Traces a rejected operation and returns its status. */
  fail(op: number, arg: number, status: number): number {
    if (this.tracer.on) this.tracer.rec(TRC_PVX_GNTTAB_FAIL, 4, this.domid, op, arg, -status, 0, 0);
    this.debug?.(`d${this.domid} GNTTABOP_${OP_NAMES[op] ?? op}(${arg}): status ${status}`);
    return status;
  }
}
