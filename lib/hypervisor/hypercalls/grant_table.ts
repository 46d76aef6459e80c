/**
 * grant_table_op: the copy-in/copy-out shell around the gnttab/ model. Batched commands
 * (map, unmap, unmap_and_replace, copy, transfer, swap, cache_flush) copy one element
 * per iteration and write its status back; table commands need count == 1 (mirrors
 * do_grant_table_op of xen/common/grant_table.c, compat layouts for a 32-bit guest).
 * @module
 */
import { EFAULT, EINVAL, ENOSYS } from "../../abi/mod.ts";
import { GNTST_bad_virt_addr, GNTST_okay, HYPERVISOR_VIRT_START } from "../../abi/mod.ts";
import { guestLayout } from "../../abi/mod.ts";
import {
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
} from "../../abi/mod.ts";
import { gnttabMapGrantRef, gnttabUnmapGrantRef, MapGrantResult } from "../gnttab/map.ts";
import { gnttabCopy, GnttabCopyOp } from "../gnttab/copy.ts";
import { gnttabCacheFlush, gnttabTransfer } from "../gnttab/misc_ops.ts";
import type { GrantTable } from "../gnttab/table.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { u64 } from "./_guest.ts";
import { createContinuation, shouldPreempt } from "./continuation.ts";

/** One batched element: its size, and the model call that sets its status fields. */
interface Batch {
  size: number;
  run(gt: GrantTable, s: DataView, v: Vcpu): void;
}

/**
 * A u64 host address: an upper-half virtual address of a 64-bit guest becomes its signed
 * canonical number (guest_access64.ts); anything else its value.
 */
function hostAddr(s: DataView, off: number): number {
  const hi = s.getUint32(off + 4, true);
  return hi >= 0xffff8000 ? addrOf(s.getUint32(off, true), hi) : u64(s, off);
}

const mapOut = new MapGrantResult();
const copyOp = new GnttabCopyOp();

const BATCHES = new Map<number, Batch>([
  [GNTTABOP_map_grant_ref, {
    // host_addr u64, flags, ref, dom u16, status i16, handle, dev_bus_addr u64
    size: 32,
    run(gt, s) {
      const st = gnttabMapGrantRef(
        gt,
        s.getUint16(16, true),
        s.getUint32(12, true),
        s.getUint32(8, true),
        hostAddr(s, 0),
        mapOut,
      );
      s.setInt16(18, st, true);
      if (st === 0) {
        s.setUint32(20, mapOut.handle, true);
        s.setUint32(24, mapOut.devBusAddr % 2 ** 32, true);
        s.setUint32(28, Math.floor(mapOut.devBusAddr / 2 ** 32), true);
      }
    },
  }],
  [GNTTABOP_unmap_grant_ref, {
    // host_addr u64, dev_bus_addr u64, handle, status i16
    size: 24,
    run(gt, s) {
      s.setInt16(
        20,
        gnttabUnmapGrantRef(gt, s.getUint32(16, true), hostAddr(s, 0), u64(s, 8)),
        true,
      );
    },
  }],
  [GNTTABOP_unmap_and_replace, {
    // host_addr u64, new_addr u64, handle, status i16
    size: 24,
    run(gt, s) {
      const st = gnttabUnmapGrantRef(gt, s.getUint32(16, true), hostAddr(s, 0), 0, hostAddr(s, 8));
      s.setInt16(20, st, true);
    },
  }],
  [GNTTABOP_copy, {
    // source {u32, domid u16, offset u16}, dest {...}, len u16, flags u16, status i16
    size: 24,
    run(gt, s) {
      copyOp.srcRef = s.getUint32(0, true);
      copyOp.srcDom = s.getUint16(4, true);
      copyOp.srcOffset = s.getUint16(6, true);
      copyOp.dstRef = s.getUint32(8, true);
      copyOp.dstDom = s.getUint16(12, true);
      copyOp.dstOffset = s.getUint16(14, true);
      copyOp.len = s.getUint16(16, true);
      copyOp.flags = s.getUint16(18, true);
      s.setInt16(20, gnttabCopy(gt, copyOp), true);
    },
  }],
  [GNTTABOP_transfer, {
    // mfn, domid u16, ref, status i16
    size: 16,
    run(gt, s) {
      s.setInt16(12, gnttabTransfer(gt, s.getUint32(0, true)), true);
    },
  }],
  [GNTTABOP_swap_grant_ref, {
    // ref_a, ref_b, status i16
    size: 12,
    run(gt, s) {
      s.setInt16(8, gt.swapGrantRef(s.getUint32(0, true), s.getUint32(4, true)), true);
    },
  }],
]);

import { addrOf } from "../pv64/guest_access64.ts";

/**
 * The batched operations whose structures differ for a 64-bit guest (a xen_pfn_t is 8
 * bytes): gnttab_copy (40 bytes: source at 0, dest at 16, len at 32, flags at 34, status
 * at 36) and gnttab_transfer (24 bytes: mfn, domid at 8, ref at 12, status at 16).
 */
const BATCHES64 = new Map<number, Batch>([
  [GNTTABOP_copy, {
    size: 40,
    run(gt, s) {
      copyOp.srcRef = s.getUint32(0, true);
      copyOp.srcDom = s.getUint16(8, true);
      copyOp.srcOffset = s.getUint16(10, true);
      copyOp.dstRef = s.getUint32(16, true);
      copyOp.dstDom = s.getUint16(24, true);
      copyOp.dstOffset = s.getUint16(26, true);
      copyOp.len = s.getUint16(32, true);
      copyOp.flags = s.getUint16(34, true);
      s.setInt16(36, gnttabCopy(gt, copyOp), true);
    },
  }],
  [GNTTABOP_transfer, {
    size: 24,
    run(gt, s) {
      s.setInt16(16, gnttabTransfer(gt, s.getUint32(0, true)), true);
    },
  }],
]);

/** do_grant_table_op(cmd, uop, count). */
export function doGrantTableOp(v: Vcpu, cmd: number, uop: number, count: number): number {
  const gt = v.domain.gnttab;
  if ((count | 0) < 0) return -EINVAL;
  if (!gt) return -ENOSYS;
  const batch = (v.pv64 !== null ? BATCHES64.get(cmd) : undefined) ?? BATCHES.get(cmd);
  if (batch) {
    const buf = new Uint8Array(batch.size);
    const s = new DataView(buf.buffer);
    for (let i = 0; i < count; i++) {
      const va = uop + i * batch.size;
      if (shouldPreempt(v, i)) {
        createContinuation(v, 20, cmd, va, count - i); // __HYPERVISOR_grant_table_op
        return 0;
      }
      if (!v.access.copyFromGuest(va, buf)) return -EFAULT;
      batch.run(gt, s, v);
      if (!v.access.copyToGuest(va, buf)) return -EFAULT;
    }
    return 0;
  }
  switch (cmd) {
    case GNTTABOP_cache_flush: {
      // union { dev_bus_addr u64; ref u32 } a, offset u16, length u16, op u32
      const buf = new Uint8Array(16);
      const s = new DataView(buf.buffer);
      const owner = (mfn: number) => {
        const f = v.domain.host.frames;
        return mfn >= 0 && mfn < f.count && f.refs[mfn] !== 0 ? f.owner[mfn] : -1;
      };
      for (let i = 0; i < count; i++) {
        if (!v.access.copyFromGuest(uop + i * 16, buf)) return -EFAULT;
        const rc = gnttabCacheFlush(
          gt,
          u64(s, 0),
          s.getUint16(8, true),
          s.getUint16(10, true),
          s.getUint32(12, true),
          owner,
        );
        if (rc < 0) return rc;
      }
      return 0;
    }
    case GNTTABOP_dump_table:
      return -ENOSYS;
  }
  if (count !== 1) return -EINVAL;
  switch (cmd) {
    case GNTTABOP_setup_table:
      return setupTable(v, gt, uop);
    case GNTTABOP_query_size: {
      // dom u16, pad, nr_frames, max_nr_frames, status i16
      const buf = new Uint8Array(16);
      if (!v.access.copyFromGuest(uop, buf)) return -EFAULT;
      const s = new DataView(buf.buffer);
      const r = gt.querySize(s.getUint16(0, true));
      if (typeof r === "number") s.setInt16(12, r, true);
      else {
        s.setUint32(4, r.nrFrames, true);
        s.setUint32(8, r.maxNrFrames, true);
        s.setInt16(12, 0, true);
      }
      return v.access.copyToGuest(uop, buf) ? 0 : -EFAULT;
    }
    case GNTTABOP_set_version: {
      const buf = new Uint8Array(4);
      if (!v.access.copyFromGuest(uop, buf)) return -EFAULT;
      const s = new DataView(buf.buffer);
      const rc = gt.setVersion(s.getUint32(0, true));
      s.setUint32(0, gt.version, true); // the version in force goes back in every case
      if (!v.access.copyToGuest(uop, buf)) return -EFAULT;
      return rc;
    }
    case GNTTABOP_get_version: {
      const buf = new Uint8Array(8);
      if (!v.access.copyFromGuest(uop, buf)) return -EFAULT;
      const s = new DataView(buf.buffer);
      const rc = gt.getVersion(s.getUint16(0, true));
      if (rc < 0) return rc;
      s.setUint32(4, rc, true);
      return v.access.copyToGuest(uop, buf) ? 0 : -EFAULT;
    }
    case GNTTABOP_get_status_frames:
      return getStatusFrames(v, gt, uop);
    default:
      return -ENOSYS;
  }
}

/**
 * compat_handle_okay of a 32-bit guest's array of `nr` elements of `size` bytes: it must
 * lie below the hypervisor's area (HYPERVISOR_COMPAT_VIRT_START), or the call is -EFAULT.
 */
function compatArrayOkay(ptr: number, nr: number, size: number): boolean {
  return nr < Math.floor(0xffffffff / size) && ptr + nr * size <= HYPERVISOR_VIRT_START;
}

/**
 * GNTTABOP_setup_table: dom u16, pad, nr_frames u32, status i16, pad, then the
 * frame_list handle of xen_pfn_t (a 64-bit guest: 8-byte frames, handle at 16; a 32-bit
 * one: 4-byte frames, handle at 12, through Xen's compat layer, which refuses a list
 * beyond its address space with -EFAULT and ignores faults writing the frames).
 */
function setupTable(v: Vcpu, gt: GrantTable, uop: number): number {
  const wide = v.pv64 !== null;
  const G = guestLayout(wide ? 64 : 32).gnttabSetupTable;
  const buf = new Uint8Array(G.size);
  if (!v.access.copyFromGuest(uop, buf)) return -EFAULT;
  const s = new DataView(buf.buffer);
  const nr = s.getUint32(G.nrFrames, true);
  const h = G.frameList;
  const to = wide ? addrOf(s.getUint32(h, true), s.getUint32(h + 4, true)) : s.getUint32(h, true);
  if (!wide && !compatArrayOkay(to, nr, 4)) return -EFAULT;
  const r = gt.setupTable(s.getUint16(G.dom, true), nr);
  s.setInt16(G.status, typeof r === "number" ? r : GNTST_okay, true);
  if (typeof r !== "number") {
    const w = wide ? 8 : 4; // xen_pfn_t
    const list = new Uint8Array(r.length * w);
    const ldv = new DataView(list.buffer);
    r.forEach((mfn, i) => ldv.setUint32(i * w, mfn, true));
    if (wide && !v.access.copyToGuest(to, list)) s.setInt16(G.status, GNTST_bad_virt_addr, true);
    if (!wide) writeEach(v, to, list, 4);
  }
  return v.access.copyToGuest(uop, buf) ? 0 : -EFAULT;
}

/** Copies `list` element by element, ignoring faults (__copy_to_compat_offset). */
function writeEach(v: Vcpu, to: number, list: Uint8Array, size: number): void {
  for (let off = 0; off < list.length; off += size) {
    v.access.copyToGuest(to + off, list.subarray(off, off + size));
  }
}

/**
 * GNTTABOP_get_status_frames: nr_frames u32, dom u16, status i16, then the frame_list
 * handle of uint64_t (8 bytes at 8 for a 64-bit guest: a fault writing the frames is
 * GNTST_bad_virt_addr, and only the status goes back; 4 bytes at 8 for a 32-bit guest:
 * the compat layer's -EFAULT for a list beyond its address space, faults on the frames
 * ignored, the whole structure written back).
 */
function getStatusFrames(v: Vcpu, gt: GrantTable, uop: number): number {
  const wide = v.pv64 !== null;
  const G = guestLayout(wide ? 64 : 32).gnttabGetStatusFrames;
  const buf = new Uint8Array(G.size);
  if (!v.access.copyFromGuest(uop, buf)) return -EFAULT;
  const s = new DataView(buf.buffer);
  const nr = s.getUint32(G.nrFrames, true);
  const h = G.frameList;
  const to = wide ? addrOf(s.getUint32(h, true), s.getUint32(h + 4, true)) : s.getUint32(h, true);
  if (!wide && !compatArrayOkay(to, nr, 8)) return -EFAULT;
  const r = gt.getStatusFrames(s.getUint16(G.dom, true), nr);
  let status = typeof r === "number" ? r : GNTST_okay;
  if (typeof r !== "number" && r.length > 0) {
    const list = new Uint8Array(r.length * 8);
    const ldv = new DataView(list.buffer);
    r.forEach((f, i) => ldv.setUint32(i * 8, f, true)); // frames < 2^32: high half 0
    if (!wide) writeEach(v, to, list, 8);
    else if (!v.access.copyToGuest(to, list)) status = GNTST_bad_virt_addr;
  }
  s.setInt16(G.status, status, true);
  if (!wide) return v.access.copyToGuest(uop, buf) ? 0 : -EFAULT;
  return v.access.copyToGuest(uop + G.status, buf.subarray(G.status, G.status + 2)) ? 0 : -EFAULT;
}
