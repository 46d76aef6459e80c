/**
 * Grant-table numbers of public/grant_table.h (commands, GTF_* entry flags, GNTMAP_*
 * map flags, GNTCOPY_* copy flags, GNTST_* statuses), Xen's internal pin counters and
 * default limits, and pvx's trace ids for grant operations.
 * @module
 */

/** GNTTABOP_* commands. */
export const GNTTABOP_map_grant_ref = 0;
/** GNTTABOP_unmap_grant_ref. */
export const GNTTABOP_unmap_grant_ref = 1;
/** GNTTABOP_setup_table. */
export const GNTTABOP_setup_table = 2;
/** GNTTABOP_dump_table (Xen 4.17 no longer handles it: -ENOSYS). */
export const GNTTABOP_dump_table = 3;
/** GNTTABOP_transfer. */
export const GNTTABOP_transfer = 4;
/** GNTTABOP_copy. */
export const GNTTABOP_copy = 5;
/** GNTTABOP_query_size. */
export const GNTTABOP_query_size = 6;
/** GNTTABOP_unmap_and_replace. */
export const GNTTABOP_unmap_and_replace = 7;
/** GNTTABOP_set_version. */
export const GNTTABOP_set_version = 8;
/** GNTTABOP_get_status_frames. */
export const GNTTABOP_get_status_frames = 9;
/** GNTTABOP_get_version. */
export const GNTTABOP_get_version = 10;
/** GNTTABOP_swap_grant_ref. */
export const GNTTABOP_swap_grant_ref = 11;
/** GNTTABOP_cache_flush. */
export const GNTTABOP_cache_flush = 12;

/** GTF_* entry types and flags. */
export const GTF_invalid = 0;
/** Allow the grantee to map/access the frame. */
export const GTF_permit_access = 1;
/** Allow the grantee to transfer a frame to this domain. */
export const GTF_accept_transfer = 2;
/** Transitive grant (v2 only; v1 rejects it). */
export const GTF_transitive = 3;
/** Mask of the type field. */
export const GTF_type_mask = 3;
/** Read-only access only. [GST] */
export const GTF_readonly = 1 << 2;
/** Currently mapped/accessed for reading. [XEN] */
export const GTF_reading = 1 << 3;
/** Currently mapped/accessed for writing. [XEN] */
export const GTF_writing = 1 << 4;
/** Cache attribute PWT. */
export const GTF_PWT = 1 << 5;
/** Cache attribute PCD. */
export const GTF_PCD = 1 << 6;
/** Cache attribute PAT. */
export const GTF_PAT = 1 << 7;
/** Sub-page grant (copy only, v2). */
export const GTF_sub_page = 1 << 8;
/** Transfer committed. [XEN] */
export const GTF_transfer_committed = 1 << 2;
/** Transfer completed. [XEN] */
export const GTF_transfer_completed = 1 << 3;

/** GNTMAP_* map flags. */
export const GNTMAP_device_map = 1 << 0;
/** Map for host CPU access. */
export const GNTMAP_host_map = 1 << 1;
/** Read-only mapping. */
export const GNTMAP_readonly = 1 << 2;
/** Usable by the guest's applications too. */
export const GNTMAP_application_map = 1 << 3;
/** host_addr is the machine address of a PTE. */
export const GNTMAP_contains_pte = 1 << 4;

/** GNTCOPY_* flags. */
export const GNTCOPY_source_gref = 1 << 0;
/** The destination is a grant reference. */
export const GNTCOPY_dest_gref = 1 << 1;

/** GNTTAB_CACHE_* cache_flush operations. */
export const GNTTAB_CACHE_CLEAN = 1 << 0;
/** Invalidate. */
export const GNTTAB_CACHE_INVAL = 1 << 1;
/** The address is a grant reference (unimplemented by Xen: -EOPNOTSUPP). */
export const GNTTAB_CACHE_SOURCE_GREF = 0x80000000;

/** GNTST_* statuses. */
export const GNTST_okay = 0;
/** General undefined error. */
export const GNTST_general_error = -1;
/** Unrecognised domain id. */
export const GNTST_bad_domain = -2;
/** Unrecognised or inappropriate gntref. */
export const GNTST_bad_gntref = -3;
/** Unrecognised or inappropriate handle. */
export const GNTST_bad_handle = -4;
/** Inappropriate virtual address to map. */
export const GNTST_bad_virt_addr = -5;
/** Inappropriate device address to unmap. */
export const GNTST_bad_dev_addr = -6;
/** Out of space in the I/O MMU (Xen's answer when maptrack handles run out). */
export const GNTST_no_device_space = -7;
/** Not enough privilege for the operation. */
export const GNTST_permission_denied = -8;
/** The page was invalid for the operation. */
export const GNTST_bad_page = -9;
/** Copy arguments cross a page boundary. */
export const GNTST_bad_copy_arg = -10;
/** Transfer page address too large. */
export const GNTST_address_too_big = -11;
/** Operation not done; try again. */
export const GNTST_eagain = -12;
/** Out of space. */
export const GNTST_no_space = -13;

/** First entries reserved for the toolstack (console, xenstore). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
/** Reserved entry of the console ring. */
export const GNTTAB_RESERVED_CONSOLE = 0;
/** Reserved entry of the xenstore ring. */
export const GNTTAB_RESERVED_XENSTORE = 1;

/** sizeof(grant_entry_v1_t). */
export const GRANT_ENTRY_V1_SIZE = 8;
/** v1 entries per 4 KiB frame. */
export const GRANT_ENTRIES_PER_FRAME_V1 = 512;
/** sizeof(grant_entry_v2_t): header, then the full_page / sub_page / transitive union. */
export const GRANT_ENTRY_V2_SIZE = 16;
/** v2 entries per 4 KiB frame. */
export const GRANT_ENTRIES_PER_FRAME_V2 = 256;
/** grant_status_t (u16) entries per v2 status frame. */
export const GRANT_STATUS_PER_FRAME = 2048;
/** XENMAPSPACE_grant_table index bit naming a v2 status frame (XENMAPIDX_grant_table_status). */
export const XENMAPIDX_grant_table_status = 0x80000000;
/** Frames a table starts with (Xen's INITIAL_NR_GRANT_FRAMES). */
export const INITIAL_NR_GRANT_FRAMES = 1;
/** Default frame limit of a domain (libxl's max_grant_frames default). */
export const DEFAULT_MAX_GRANT_FRAMES = 32;
/** Maptrack entries per frame (sizeof(struct grant_mapping) = 16). */
export const MAPTRACK_PER_PAGE = 256;
/** Default maptrack frame limit (Xen's gnttab_max_maptrack_frames). */
export const DEFAULT_MAX_MAPTRACK_FRAMES = 1024;
/** xen_pfn_t ~0 for x86_32: a table frame not (yet) placed in a translated guest's p2m. */
export const INVALID_GFN_32 = 0xffffffff;

/** Xen's active-entry pin counters (struct active_grant_entry.pin). */
export const GNTPIN_hstw_inc = 1 << 0;
/** Writable host mappings mask. */
export const GNTPIN_hstw_mask = 0xff << 0;
/** Read-only host mappings. */
export const GNTPIN_hstr_inc = 1 << 8;
/** Read-only host mappings mask. */
export const GNTPIN_hstr_mask = 0xff << 8;
/** Writable device mappings. */
export const GNTPIN_devw_inc = 1 << 16;
/** Writable device mappings mask. */
export const GNTPIN_devw_mask = 0xff << 16;
/** Read-only device mappings. */
export const GNTPIN_devr_inc = 1 << 24;
/** Read-only device mappings mask. */
export const GNTPIN_devr_mask = (0xff << 24) >>> 0;
/** Pin bits whose setting means a counter is about to overflow. */
export const GNTPIN_overflow = 0x80808080;

/** mapkind(): some mapping of the frame is read-only. */
export const MAPKIND_READ = 1;
/** mapkind(): some mapping of the frame is writable. */
export const MAPKIND_WRITE = 2;

/** pvx trace class (pvx class, see trace/events.ts): grant tables. */
export const TRC_PVX_GNTTAB = 0x00809000;
/** Trace events of grant operations (defined in ./trace.ts). */
export {
  TRC_MEM_PAGE_GRANT_MAP,
  TRC_MEM_PAGE_GRANT_UNMAP,
  TRC_PVX_GNTTAB_COPY,
  TRC_PVX_GNTTAB_FAIL,
} from "./trace.ts";
