/**
 * Hypercalls a 32-bit PV domU may not use, answered as Xen 4.17 answers them: control
 * operations need privilege (-EPERM), HVM-only and 64-bit-only ones and disabled
 * subsystems are absent (-ENOSYS).
 * @module
 */
import { ENOSYS, EPERM } from "../abi/errno.ts";
import type { Vcpu } from "../vcpu.ts";

/** platform_op, sysctl, domctl, kexec_op, dm_op, mca: privileged (XSM_PRIV / XSM_DM_PRIV). */
export function doPrivileged(_v: Vcpu): number {
  return -EPERM;
}

/**
 * set_segment_base (x86_64 only), xsm_op (no FLASK), tmem_op
 * (removed), xenoprof_op, argo_op, xenpmu_op and hypfs_op (not built in pvx's Xen).
 */
export function doAbsent(_v: Vcpu): number {
  return -ENOSYS;
}
