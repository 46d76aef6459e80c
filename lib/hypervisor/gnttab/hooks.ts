/**
 * What a grant table needs from the hypervisor core: its domain's services
 * ({@link GnttabDomainHooks}, with the {@link GrantHostMapper} of GNTMAP_host_map), the
 * directory of other domains' tables, and the construction options.
 * @module
 */
import type { Gfn, Mfn } from "../../abi/mod.ts";
import type { PhysMemory } from "../../cpu/mod.ts";
import type { Tracer } from "../trace/tracer.ts";
import type { GrantTable } from "./table.ts";

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
  /**
   * Whether a frame from {@link allocFrame} is referenced beyond its allocation (mapped
   * by the guest, typed): a status frame in use is not freed (set_version's -EBUSY).
   * Default: false.
   */
  frameBusy?(mfn: number): boolean;
  /** Gives back a frame from {@link allocFrame} (a v2 status frame). Default: kept. */
  freeFrame?(mfn: number): void;
  /**
   * A translated domain: removes a status frame from the p2m at `gfn` before it is freed
   * (guest_physmap_remove_page). Default: nothing to do.
   */
  unplaceFrame?(gfn: number, mfn: number): void;
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
  /**
   * Memory holding the table's own frames (default `mem`): the device host's dom0 has no
   * guest memory, so its one empty frame lives in a private page.
   */
  tableMem?: PhysMemory;
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
