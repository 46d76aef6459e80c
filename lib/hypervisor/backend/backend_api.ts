/**
 * What device backends (console, xenstore, blkback, netback, the recorder and the
 * replayer) may ask of the hypervisor: grant operations as the backend domain (dom0),
 * interdomain event channels, foreign mapping of the two start-of-day ring frames, and
 * XenStore access as dom0. Backends reach the hypervisor only through this seam; the
 * in-memory fake in lib/hypervisor/testing_host.ts implements it for tests without a CPU.
 *
 * This file is a contract between lib/hypervisor and the device layers: change it only
 * with both in view.
 * @module
 */

/** A domain id. */
export type DomId = number;

/** A granted page mapped into the backend: a live 4096-byte view of the guest's frame. */
export interface GrantMapping {
  /** The page (a view into machine memory; stays valid until unmapped). */
  readonly page: Uint8Array;
  /** The map handle (GNTTABOP_map_grant_ref's handle). */
  readonly handle: number;
  /** The domain that granted it. */
  readonly domid: DomId;
  /** The grant reference. */
  readonly gref: number;
}

/** Grant-table operations performed by the backend domain on another domain's grants. */
export interface GrantOps {
  /**
   * GNTTABOP_map_grant_ref: maps `gref` of domain `domid`.
   * @returns the mapping, or a negative GNTST_* status (bad domain, bad gntref,
   *   permission denied for a write map of a read-only grant, ...)
   */
  mapGrant(domid: DomId, gref: number, readonly: boolean): GrantMapping | number;
  /** GNTTABOP_unmap_grant_ref. @returns GNTST_okay (0) or a negative GNTST_* status */
  unmapGrant(m: GrantMapping): number;
  /**
   * GNTTABOP_copy from a granted page into backend memory.
   * @param offset byte offset within the page; offset + dst.length must be <= 4096
   * @returns GNTST_okay (0) or a negative GNTST_* status (nothing copied then)
   */
  copyFromGrant(domid: DomId, gref: number, offset: number, dst: Uint8Array): number;
  /**
   * GNTTABOP_copy from backend memory into a granted page (the grant must be writable).
   * @returns GNTST_okay (0) or a negative GNTST_* status (nothing copied then)
   */
  copyToGrant(domid: DomId, gref: number, offset: number, src: Uint8Array): number;
}

/** The backend's end of an interdomain event channel. */
export interface EventPort {
  /** The backend domain's local port number. */
  readonly port: number;
  /** EVTCHNOP_send from the backend: sets the guest's port pending and upcalls it. */
  notify(): void;
}

/** Event-channel operations of the backend domain. */
export interface EventOps {
  /**
   * EVTCHNOP_bind_interdomain to the guest's unbound port.
   * @param onEvent called (at a slice boundary, never re-entrantly from the CPU loop)
   *   each time the guest sends on its end
   * @returns the backend's port, or a negative Xen errno (-EINVAL, -ESRCH, ...)
   */
  bindInterdomain(domid: DomId, remotePort: number, onEvent: () => void): EventPort | number;
  /** EVTCHNOP_close of the backend's end. */
  close(p: EventPort): void;
}

/** XenStore as seen by dom0 (privileged: no permission checks apply to it). */
export interface StoreOps {
  /** @returns the value, or undefined when the node does not exist */
  read(path: string): string | undefined;
  /** Writes a node, creating missing parents (owned by the path's domain, as libxl does). */
  write(path: string, value: string): void;
  /** Removes a node and its subtree; no error when absent. */
  rm(path: string): void;
  /** Child names, or undefined when absent. */
  directory(path: string): string[] | undefined;
  /**
   * Watches a subtree; fires once at once (as xenstored) and on every later change.
   * @returns a function that removes the watch
   */
  watch(path: string, onChange: (changedPath: string) => void): () => void;
}

/** Everything a backend may use. */
export interface DeviceHost extends GrantOps, EventOps {
  /** The store, as dom0. */
  readonly store: StoreOps;
  /**
   * Maps a guest machine frame that the toolstack maps by frame number (the console and
   * xenstore rings named in start_info).
   * @returns the live 4096-byte view, or a negative Xen errno
   */
  mapForeignFrame(domid: DomId, mfn: number): Uint8Array | number;
  /** Runs `fn` at the next slice boundary (completions of host I/O post responses here). */
  defer(fn: () => void): void;
}
