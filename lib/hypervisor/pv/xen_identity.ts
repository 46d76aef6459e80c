/**
 * The Xen pvx presents itself as (Xen 4.17 for 32-bit PAE PV guests): what XENVER_* and
 * the hypervisor CPUID leaves report.
 * @module
 */

/** Major and minor version reported by XENVER_version. */
export const XEN_MAJOR = 4, XEN_MINOR = 17;
/** XENVER_extraversion. */
export const XEN_EXTRAVERSION = ".0-pvx";
/** XENVER_capabilities: what a pvx host can run. */
export const XEN_CAPABILITIES = "xen-3.0-x86_32p";
/** XENVER_changeset. */
export const XEN_CHANGESET = "pvx";
