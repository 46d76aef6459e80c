/**
 * Xen error numbers (public/errno.h) as the paging model and the hypercall layer return
 * them, negated. The single errno table of pvx.
 * @module
 */

/** Operation not permitted. */
export const EPERM = 1;
/** No such file or directory (also: paged-out frame). */
export const ENOENT = 2;
/** No such process (no such domain). */
export const ESRCH = 3;
/** Interrupted system call. */
export const EINTR = 4;
/** I/O error. */
export const EIO = 5;
/** No such device or address. */
export const ENXIO = 6;
/** Argument list too long. */
export const E2BIG = 7;
/** Bad file number. */
export const EBADF = 9;
/** Try again. */
export const EAGAIN = 11;
/** Out of memory. */
export const ENOMEM = 12;
/** Permission denied. */
export const EACCES = 13;
/** Bad address. */
export const EFAULT = 14;
/** Device or resource busy. */
export const EBUSY = 16;
/** File exists. */
export const EEXIST = 17;
/** Cross-device link. */
export const EXDEV = 18;
/** No such device. */
export const ENODEV = 19;
/** Invalid argument. */
export const EINVAL = 22;
/** No space left on device. */
export const ENOSPC = 28;
/** Math result not representable. */
export const ERANGE = 34;
/** Resource deadlock would occur. */
export const EDEADLK = 35;
/** Function not implemented. */
export const ENOSYS = 38;
/** Directory not empty. */
export const ENOTEMPTY = 39;
/** No data available. */
export const ENODATA = 61;
/** Timer expired (VCPUOP_set_singleshot_timer with VCPU_SSHOTTMR_future). */
export const ETIME = 62;
/** Value too large for defined data type. */
export const EOVERFLOW = 75;
/** Illegal byte sequence. */
export const EILSEQ = 84;
/** Interrupted system call should be restarted. */
export const ERESTART = 85;
/** Message too large. */
export const EMSGSIZE = 90;
/** Operation not supported. */
export const EOPNOTSUPP = 95;
/** No buffer space available. */
export const ENOBUFS = 105;
/** Connection timed out. */
export const ETIMEDOUT = 110;

/** A negative Xen errno, or 0 / a non-negative result. */
export type Errno = number;

const NAMES: Record<number, string> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [ESRCH]: "ESRCH",
  [EINTR]: "EINTR",
  [EIO]: "EIO",
  [ENXIO]: "ENXIO",
  [E2BIG]: "E2BIG",
  [EBADF]: "EBADF",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EACCES]: "EACCES",
  [EFAULT]: "EFAULT",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [EXDEV]: "EXDEV",
  [ENODEV]: "ENODEV",
  [EINVAL]: "EINVAL",
  [ENOSPC]: "ENOSPC",
  [ERANGE]: "ERANGE",
  [EDEADLK]: "EDEADLK",
  [ENOSYS]: "ENOSYS",
  [ENOTEMPTY]: "ENOTEMPTY",
  [ENODATA]: "ENODATA",
  [EOVERFLOW]: "EOVERFLOW",
  [EILSEQ]: "EILSEQ",
  [ERESTART]: "ERESTART",
  [EMSGSIZE]: "EMSGSIZE",
  [EOPNOTSUPP]: "EOPNOTSUPP",
  [ENOBUFS]: "ENOBUFS",
  [ETIMEDOUT]: "ETIMEDOUT",
};

/**
 * Names an errno for messages and traces.
 * @param rc a negative (or positive) Xen errno
 * @returns e.g. "-EINVAL", or the number as text when unknown
 */
export function errnoName(rc: number): string {
  const name = NAMES[Math.abs(rc)];
  if (name === undefined) return String(rc);
  return rc < 0 ? `-${name}` : name;
}
