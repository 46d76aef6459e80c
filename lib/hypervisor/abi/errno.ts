/**
 * Xen error numbers: the single table lives in lib/paging/errno.ts (re-exported here),
 * plus the few only hypercalls return.
 * @module
 */
export * from "../../paging/errno.ts";
/** Timer expired (VCPUOP_set_singleshot_timer with VCPU_SSHOTTMR_future). */
export const ETIME = 62;
