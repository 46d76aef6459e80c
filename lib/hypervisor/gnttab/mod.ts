/**
 * Grant tables as a hypervisor model: per-domain {@link GrantTable}s (shared frames of
 * grant_entry_v1_t, or of grant_entry_v2_t with status frames after set_version 2;
 * active pins; the domain's maptrack), map/unmap with handles, copy (v2 sub-page and
 * transitive grants included), and the table-level commands. Models take decoded values, never guest pointers, and
 * return a GNTST_* status, a value, or a negative Xen errno as each command does.
 *
 * What the hypervisor core provides (passed in):
 * - {@link GnttabDomainHooks}: `gfnToMfn(gfn)` (a frame named in this domain's grant
 *   entries or copy ops -> the mfn it owns, or -1), optional `canWrite(mfn)` (false for
 *   page-table/descriptor frames), `allocFrame()` for table frames (owned by and shared
 *   writable with the domain), optional `hostMapper` ({@link GrantHostMapper}: PTE
 *   updates for GNTMAP_host_map by a PV guest; without one, host maps fail with
 *   GNTST_general_error), optional `crash(reason)`.
 * - {@link GnttabDirectory}: `gnttab(domid)` -> that domain's table (dom0's included: the
 *   device host's `dom0Gnttab`).
 * - For translated guests, XENMAPSPACE_grant_table calls `mapFrame(idx, gfn)` (returns
 *   the mfn to place at gfn) and setup_table reports those gfns.
 * - A PV guest's GNTMAP_host_map goes through the domain's host mapper
 *   (hypervisor/pv/grant_table.ts: `pvGrantHostMapper`, and `installGrantMapCheck`, which
 *   lets a foreign frame into an L1 only while `gnttabMapKind(table, mfn)` shows a grant
 *   mapping of it).
 *
 * The hypercall shell (hypercalls/grant_table.ts) keeps Xen's call-level rules: count
 * checks (setup_table and query_size need count == 1: -EINVAL; a negative count is
 * -EINVAL), one element copied per iteration with its own GNTST_* status. Commands:
 * map_grant_ref -> {@link gnttabMapGrantRef}, unmap_grant_ref ->
 * {@link gnttabUnmapGrantRef}, unmap_and_replace -> the same with `newAddr`, setup_table
 * -> `table.setupTable`, query_size -> `table.querySize`, set_version ->
 * `table.setVersion` (then write back `table.version`), get_version -> `table.getVersion`,
 * get_status_frames -> `table.getStatusFrames`, swap_grant_ref -> `table.swapGrantRef`,
 * copy -> {@link gnttabCopy}, transfer -> {@link gnttabTransfer}, cache_flush ->
 * {@link gnttabCacheFlush}, dump_table -> -ENOSYS.
 * @module
 */

export {
  DEFAULT_MAX_GRANT_FRAMES,
  DEFAULT_MAX_MAPTRACK_FRAMES,
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_application_map,
  GNTMAP_contains_pte,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTPIN_devr_inc,
  GNTPIN_devr_mask,
  GNTPIN_devw_inc,
  GNTPIN_devw_mask,
  GNTPIN_hstr_inc,
  GNTPIN_hstr_mask,
  GNTPIN_hstw_inc,
  GNTPIN_hstw_mask,
  GNTPIN_overflow,
  GNTST_address_too_big,
  GNTST_bad_copy_arg,
  GNTST_bad_dev_addr,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_bad_virt_addr,
  GNTST_eagain,
  GNTST_general_error,
  GNTST_no_device_space,
  GNTST_no_space,
  GNTST_okay,
  GNTST_permission_denied,
  GNTTAB_CACHE_CLEAN,
  GNTTAB_CACHE_INVAL,
  GNTTAB_CACHE_SOURCE_GREF,
  GNTTAB_NR_RESERVED_ENTRIES,
  GNTTAB_RESERVED_CONSOLE,
  GNTTAB_RESERVED_XENSTORE,
  GNTTABOP_cache_flush,
  GNTTABOP_copy,
  GNTTABOP_dump_table,
  GNTTABOP_get_status_frames,
  GNTTABOP_get_version,
  GNTTABOP_map_grant_ref,
  GNTTABOP_query_size,
  GNTTABOP_set_version,
  GNTTABOP_setup_table,
  GNTTABOP_swap_grant_ref,
  GNTTABOP_transfer,
  GNTTABOP_unmap_and_replace,
  GNTTABOP_unmap_grant_ref,
  GRANT_ENTRIES_PER_FRAME_V1,
  GRANT_ENTRIES_PER_FRAME_V2,
  GRANT_ENTRY_V1_SIZE,
  GRANT_ENTRY_V2_SIZE,
  GRANT_STATUS_PER_FRAME,
  GTF_accept_transfer,
  GTF_invalid,
  GTF_PAT,
  GTF_PCD,
  GTF_permit_access,
  GTF_PWT,
  GTF_reading,
  GTF_readonly,
  GTF_sub_page,
  GTF_transfer_committed,
  GTF_transfer_completed,
  GTF_transitive,
  GTF_type_mask,
  GTF_writing,
  INITIAL_NR_GRANT_FRAMES,
  INVALID_GFN_32,
  MAPKIND_READ,
  MAPKIND_WRITE,
  MAPTRACK_PER_PAGE,
  TRC_MEM_PAGE_GRANT_MAP,
  TRC_MEM_PAGE_GRANT_UNMAP,
  TRC_PVX_GNTTAB,
  TRC_PVX_GNTTAB_COPY,
  TRC_PVX_GNTTAB_FAIL,
  XENMAPIDX_grant_table_status,
} from "../../abi/mod.ts";
export {
  type GnttabDirectory,
  type GnttabDomainHooks,
  type GnttabSize,
  type GrantHostMapper,
  GrantTable,
  type GrantTableOptions,
  statusFramesFor,
} from "./table.ts";
export { setGrantVersion } from "./version.ts";
export { INVALID_MAPTRACK_HANDLE, Maptrack } from "./maptrack.ts";
export {
  gnttabMapGrantRef,
  gnttabMapKind,
  gnttabReleaseMappings,
  gnttabUnmapGrantRef,
  MapGrantResult,
} from "./map.ts";
export { acquireGrantForCopy, gnttabCopy, GnttabCopyOp, releaseGrantForCopy } from "./copy.ts";
export { gnttabCacheFlush, gnttabDumpTable, gnttabTransfer } from "./misc_ops.ts";
