/**
 * xen_version: the version pvx reports (4.17), its strings and platform parameters, and
 * the feature bits it honours (mirrors do_xen_version of xen/common/kernel.c, as seen by
 * a 32-bit PV domU).
 * @module
 */
import { EFAULT, EINVAL, ENOSYS, EPERM } from "../../abi/mod.ts";
import {
  XENFEAT_auto_translated_physmap,
  XENFEAT_gnttab_map_avail_bits,
  XENFEAT_highmem_assist,
  XENFEAT_mmu_pt_update_preserve_ad,
  XENFEAT_pae_pgdir_above_4gb,
  XENVER_build_id,
  XENVER_capabilities,
  XENVER_changeset,
  XENVER_commandline,
  XENVER_compile_info,
  XENVER_extraversion,
  XENVER_get_features,
  XENVER_guest_handle,
  XENVER_pagesize,
  XENVER_platform_parameters,
  XENVER_version,
} from "../../abi/mod.ts";
import { HYPERVISOR_VIRT_START } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { cStringBytes, readStruct } from "./_guest.ts";
import {
  XEN_CAPABILITIES,
  XEN_CHANGESET,
  XEN_EXTRAVERSION,
  XEN_MAJOR,
  XEN_MINOR,
} from "../pv/xen_identity.ts";

export { XEN_CAPABILITIES, XEN_CHANGESET, XEN_EXTRAVERSION, XEN_MAJOR, XEN_MINOR };

/**
 * XENVER_get_features submap 0: only what pvx honours. mmu_update implements
 * MMU_PT_UPDATE_PRESERVE_AD; a PAE page directory may live in any frame (all machine
 * memory is below 4 GiB, and pvx never copies it down as 32-bit Xen did).
 */
export const FEATURES_SUBMAP0 = (1 << XENFEAT_mmu_pt_update_preserve_ad) |
  (1 << XENFEAT_pae_pgdir_above_4gb);

/**
 * Submap 0 of a 64-bit domain adds what Xen gives every PV guest and pvx honours there:
 * highmem_assist (MMUEXT_CLEAR_PAGE / COPY_PAGE) and gnttab_map_avail_bits (a grant
 * mapping's _GNTMAP_guest_avail bits land in the PTE's available bits), which Linux
 * requires of a PV hypervisor.
 */
export const FEATURES_SUBMAP0_64 = (FEATURES_SUBMAP0 | (1 << XENFEAT_highmem_assist) |
  (1 << XENFEAT_gnttab_map_avail_bits)) & ~(1 << XENFEAT_pae_pgdir_above_4gb);

/** XENVER_capabilities of a 64-bit domain. */
export const XEN_CAPABILITIES_64 = "xen-3.0-x86_64 xen-3.0-x86_32p";

/** do_xen_version(cmd, arg). */
export function doXenVersion(v: Vcpu, cmd: number, arg: number): number {
  const put = (bytes: Uint8Array) => (v.access.copyToGuest(arg, bytes) ? 0 : -EFAULT);
  switch (cmd) {
    case XENVER_version:
      return (XEN_MAJOR << 16) | XEN_MINOR;
    case XENVER_extraversion:
      return put(cStringBytes(XEN_EXTRAVERSION, 16));
    case XENVER_compile_info: {
      // struct xen_compile_info: compiler[64], compile_by[16], compile_domain[32], date[32]
      const b = new Uint8Array(144);
      b.set(cStringBytes("deno", 64), 0);
      b.set(cStringBytes("pvx", 16), 64);
      b.set(cStringBytes("pvx", 32), 80);
      b.set(cStringBytes("2026-01-01", 32), 112);
      return put(b);
    }
    case XENVER_capabilities:
      // a 64-bit domain hears of both PV widths (arch_get_xen_caps of a 64-bit Xen)
      return put(cStringBytes(v.pv64 !== null ? XEN_CAPABILITIES_64 : XEN_CAPABILITIES, 1024));
    case XENVER_changeset:
      return put(cStringBytes(XEN_CHANGESET, 64));
    case XENVER_platform_parameters: {
      // xen_platform_parameters_t { xen_ulong_t virt_start }: 8 bytes for a 64-bit guest
      if (v.pv64 !== null) return put(new Uint8Array([0, 0, 0, 0, 0, 0x80, 0xff, 0xff]));
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, HYPERVISOR_VIRT_START, true);
      return put(b);
    }
    case XENVER_get_features: {
      const s = readStruct(v, arg, 8);
      if (!s) return -EFAULT;
      const idx = s.getUint32(0, true);
      if (idx !== 0) return -EINVAL;
      const tr = v.domain.mm.translated ? 1 << XENFEAT_auto_translated_physmap : 0;
      const base = v.pv64 !== null ? FEATURES_SUBMAP0_64 : FEATURES_SUBMAP0;
      s.setUint32(4, (base | tr) >>> 0, true);
      return v.access.copyToGuest(arg, new Uint8Array(s.buffer)) ? 0 : -EFAULT;
    }
    case XENVER_pagesize:
      return 4096;
    case XENVER_guest_handle: {
      // xen_domain_handle_t: the domain's UUID, the one the toolstack layout writes
      // (00000000-0000-4000-8000-<domid in 12 hex digits>).
      const h = new Uint8Array(16);
      h[6] = 0x40;
      h[8] = 0x80;
      const id = v.domain.domid;
      for (let i = 0; i < 6; i++) h[15 - i] = Math.floor(id / 256 ** i) & 0xff;
      return put(h);
    }
    case XENVER_commandline:
    case XENVER_build_id:
      return -EPERM; // XSM_PRIV for these in Xen's dummy policy
    default:
      return -ENOSYS;
  }
}
