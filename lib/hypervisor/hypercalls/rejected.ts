/**
 * Hypercalls a 32-bit PV domU may not use, answered as Xen 4.17 answers them: the
 * control operations check their argument and interface version before the privilege
 * check (-EFAULT, -EACCES, then -EPERM), dm_op finds no HVM target, hypfs needs a
 * control domain, the PMU is off, and 64-bit-only or absent subsystems are -ENOSYS.
 * @module
 */
import { E2BIG, EACCES, EFAULT, EINVAL, ENOSYS, EOPNOTSUPP, EPERM, ESRCH } from "../../abi/mod.ts";
import { DOMID_SELF } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { readStruct } from "./_guest.ts";

/** XENPF_INTERFACE_VERSION (platform.h). */
export const XENPF_INTERFACE_VERSION = 0x03000001;
/** XEN_SYSCTL_INTERFACE_VERSION (sysctl.h, Xen 4.17). */
export const XEN_SYSCTL_INTERFACE_VERSION = 0x00000015;
/** XEN_DOMCTL_INTERFACE_VERSION (domctl.h, Xen 4.17). */
export const XEN_DOMCTL_INTERFACE_VERSION = 0x00000015;

/**
 * platform_op / sysctl / domctl: the struct is copied whole (cmd, interface_version,
 * union), the version checked, then XSM refuses a domU.
 * @param size the struct's size for a 32-bit caller
 * @param version the interface version the struct must carry
 */
function controlOp(v: Vcpu, arg: number, size: number, version: number): number {
  const s = readStruct(v, arg, size);
  if (!s) return -EFAULT;
  if (s.getUint32(4, true) !== version) return -EACCES;
  return -EPERM;
}

/** do_platform_op(u_xenpf_op). */
export function doPlatformOp(v: Vcpu, arg: number): number {
  return controlOp(v, arg, 136, XENPF_INTERFACE_VERSION);
}

/** do_sysctl(u_sysctl). */
export function doSysctl(v: Vcpu, arg: number): number {
  return controlOp(v, arg, 136, XEN_SYSCTL_INTERFACE_VERSION);
}

/** do_domctl(u_domctl). */
export function doDomctl(v: Vcpu, arg: number): number {
  return controlOp(v, arg, 144, XEN_DOMCTL_INTERFACE_VERSION);
}

/**
 * do_dm_op(domid, nr_bufs, bufs): at most 2 buffers (-E2BIG), read first (-EFAULT);
 * the target must be another existing domain (-EPERM for itself, -ESRCH), and HVM
 * (-EINVAL: pvx runs PV domains only).
 */
export function doDmOp(v: Vcpu, domid: number, nrBufs: number, bufs: number): number {
  if (nrBufs > 2) return -E2BIG;
  if (nrBufs > 0 && !readStruct(v, bufs, nrBufs * 8)) return -EFAULT;
  domid &= 0xffff;
  if (domid === DOMID_SELF || domid === v.domain.domid) return -EPERM;
  if (!v.domain.host.domains.has(domid)) return -ESRCH;
  return -EINVAL;
}

/** kexec_op and mca: XSM_PRIV is checked first. */
export function doPrivileged(_v: Vcpu): number {
  return -EPERM;
}

/** hypfs_op: only a control or hardware domain may read the hypervisor filesystem. */
export function doHypfsOp(_v: Vcpu): number {
  return -EPERM;
}

/** xenpmu_op: the virtual PMU is off (Xen's default). */
export function doXenpmuOp(_v: Vcpu): number {
  return -EOPNOTSUPP;
}

/**
 * set_segment_base (x86_64 only), xsm_op (the dummy XSM module), tmem_op (removed),
 * xenoprof_op and argo_op (not built in Xen 4.17's default configuration).
 */
export function doAbsent(_v: Vcpu): number {
  return -ENOSYS;
}
