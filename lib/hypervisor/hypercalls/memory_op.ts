/**
 * memory_op for a 32-bit PV domU: reservations (increase, decrease, populate_physmap),
 * exchange, the reservation queries, maximum_ram_page / maximum_gpfn, the M2P location
 * (machphys_mfn_list, machphys_mapping) and the memory map; physmap edits are for
 * translated guests only (-EACCES) and control operations need privilege (mirrors
 * do_memory_op of xen/common/memory.c and arch_memory_op of xen/arch/x86/mm.c).
 * Extents of order > 0 are machine-contiguous, size-aligned blocks (lib/paging's
 * contiguous allocation), up to the domU limit (order 9).
 * @module
 */
import { EACCES, EFAULT, EINVAL, ENOMEM, ENOSYS, EOPNOTSUPP, EPERM, ESRCH } from "../../abi/mod.ts";
import { DOMID_SELF, guestLayout } from "../../abi/mod.ts";
import { machphysMapping } from "../pv64/hypercall_args.ts";
import { INVALID_MFN } from "../../paging/mod.ts";
import { dropPin } from "../../paging/mod.ts";
import { TRC_MEM_DECREASE_RESERVATION } from "../../abi/mod.ts";
import type { Domain } from "../domain/domain.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { readStruct, u64 } from "./_guest.ts";
import { addrOf } from "../pv64/guest_access64.ts";
import { LAYOUT_X86_64 } from "../../abi/mod.ts";
import { SI_ARCH_MAX_PFN } from "../../abi/mod.ts";
import { createContinuation, shouldPreempt } from "./continuation.ts";
import { translatedAddToPhysmap } from "./physmap_translated.ts";
import { applyFlushes } from "../machine/flush.ts";
import { asGfn, asMfn } from "../../abi/mod.ts";

export const XENMEM_increase_reservation = 0;
export const XENMEM_decrease_reservation = 1;
export const XENMEM_maximum_ram_page = 2;
export const XENMEM_current_reservation = 3;
export const XENMEM_maximum_reservation = 4;
export const XENMEM_machphys_mfn_list = 5;
export const XENMEM_populate_physmap = 6;
export const XENMEM_add_to_physmap = 7;
export const XENMEM_memory_map = 9;
export const XENMEM_machine_memory_map = 10;
export const XENMEM_exchange = 11;
export const XENMEM_machphys_mapping = 12;
export const XENMEM_set_memory_map = 13;
export const XENMEM_maximum_gpfn = 14;
export const XENMEM_remove_from_physmap = 15;
export const XENMEM_add_to_physmap_batch = 23;
export const XENMEM_machphys_compat_mfn_list = 25;
export const XENMEM_get_vnumainfo = 26;
/** The low bits of cmd are the op; the rest is the continuation's start extent. */
export const MEMOP_EXTENT_SHIFT = 6;
export const MEMOP_CMD_MASK = (1 << MEMOP_EXTENT_SHIFT) - 1;
/** XENMEMF_populate_on_demand. */
const XENMEMF_populate_on_demand = 1 << 16;
/** The largest extent order a domU may ask for (CONFIG_DOMU_MAX_ORDER). */
export const DOMU_MAX_ORDER = 9;
/** struct xen_memory_reservation: offsets and extent size for one guest width. */
interface Resv {
  size: number;
  list: number;
  nr: number;
  order: number;
  flags: number;
  domid: number;
  /** Bytes per extent_start entry (xen_pfn_t). */
  ent: number;
}
/** i386: 20 bytes of 4-byte fields. */
const RESV_32: Resv = { size: 20, list: 0, nr: 4, order: 8, flags: 12, domid: 16, ent: 4 };
/** x86_64: the handle and nr_extents are 8 bytes; 32 bytes in all. */
const RESV_64: Resv = { size: 32, list: 0, nr: 8, order: 16, flags: 20, domid: 24, ent: 8 };

/** The reservation layout of the calling vcpu's width. */
function resvOf(v: Vcpu): Resv {
  return v.pv64 !== null ? RESV_64 : RESV_32;
}

/** A guest word (4 or 8 bytes) at `off` of s as a number (exact below 2^53). */
function word(s: DataView, off: number, bytes: number): number {
  return bytes === 8 ? u64(s, off) : s.getUint32(off, true);
}

/** A guest pointer (4 or 8 bytes) at `off` of s (a signed canonical number for 64-bit). */
function ptr(s: DataView, off: number, bytes: number): number {
  return bytes === 8
    ? addrOf(s.getUint32(off, true), s.getUint32(off + 4, true))
    : s.getUint32(off, true);
}

/** Reads an extent entry (xen_pfn_t); a 64-bit one above 2^32 reads as -1. Sets fault. */
function readEnt(v: Vcpu, at: number, bytes: number): number {
  const lo = v.access.readU32(at);
  if (v.access.fault || bytes === 4) return lo;
  const hi = v.access.readU32(at + 4);
  return hi !== 0 ? -1 : lo;
}

/** Writes an extent entry (zero-extended to 8 bytes for a 64-bit guest). */
function writeEnt(v: Vcpu, at: number, bytes: number, val: number): boolean {
  return v.access.writeU32(at, val) && (bytes === 4 || v.access.writeU32(at + 4, 0));
}
/** E820_RAM. */
const E820_RAM = 1;

/** Finds the domain a memory_op names, for a domU: only itself. */
function targetDomain(v: Vcpu, domid: number): Domain | number {
  const d = v.domain;
  if (domid === DOMID_SELF || domid === d.domid) return d;
  if (!d.host.domains.has(domid)) return -ESRCH;
  return -EPERM;
}

/** do_memory_op(cmd, arg). */
export function doMemoryOp(v: Vcpu, cmd: number, arg: number): number {
  const op = cmd & MEMOP_CMD_MASK;
  const start = cmd >>> MEMOP_EXTENT_SHIFT;
  const d = v.domain;
  switch (op) {
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
      return reservation(v, op, start, arg);
    case XENMEM_exchange:
      return exchange(v, arg);
    case XENMEM_maximum_ram_page:
      return d.host.frames.count;
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation:
    case XENMEM_maximum_gpfn: {
      const s = readStruct(v, arg, 2);
      if (!s) return -EFAULT;
      const t = targetDomain(v, s.getUint16(0, true));
      if (typeof t === "number") return t;
      if (op === XENMEM_current_reservation) return t.totPages;
      if (op === XENMEM_maximum_reservation) return t.maxPages;
      // PV guests publish nr_pfns in shared_info.arch.max_pfn (arch_get_max_pfn).
      const at = t.mm.pv64 ? LAYOUT_X86_64.sharedInfo.archMaxPfn : SI_ARCH_MAX_PFN;
      return ((t.sharedInfoMfn >= 0 ? t.sharedInfo().getUint32(at, true) : 0) || 1) - 1;
    }
    case XENMEM_machphys_mfn_list:
    case XENMEM_machphys_compat_mfn_list: {
      // xen_machphys_mfn_list: max_extents u32, extent_start handle, nr_extents u32
      const s = readStruct(v, arg, 12);
      if (!s) return -EFAULT;
      const m2p = d.host.frames.m2p;
      const max = s.getUint32(0, true);
      const list = s.getUint32(4, true);
      const chunks = Math.ceil(m2p.frameCount / 512);
      const n = Math.min(max, chunks);
      const out = new Uint8Array(n * 4);
      const odv = new DataView(out.buffer);
      for (let i = 0; i < n; i++) odv.setUint32(i * 4, m2p.firstMfn + i * 512, true);
      if (!v.access.copyToGuest(list, out)) return -EFAULT;
      s.setUint32(8, n, true);
      return v.access.copyToGuest(arg, new Uint8Array(s.buffer)) ? 0 : -EFAULT;
    }
    case XENMEM_machphys_mapping: {
      const b = machphysMapping(guestLayout(d.mm.pv64 ? 64 : 32), d.host.frames.count);
      return v.access.copyToGuest(arg, b) ? 0 : -EFAULT;
    }
    case XENMEM_memory_map: {
      // xen_memory_map { nr_entries u32, buffer handle }: the toolstack's one-entry map
      // (xc_domain_set_memmap_limit): RAM from 0 to the domain's maximum.
      // (x86_64: the buffer handle at 8, 16 bytes in all)
      const w = v.pv64 !== null ? 8 : 4;
      const s = readStruct(v, arg, 2 * w);
      if (!s) return -EFAULT;
      const nr = Math.min(s.getUint32(0, true), 1);
      const e = new Uint8Array(20);
      const edv = new DataView(e.buffer);
      const bytes = d.maxPages * 4096;
      edv.setUint32(8, bytes % 2 ** 32, true);
      edv.setUint32(12, Math.floor(bytes / 2 ** 32), true);
      edv.setUint32(16, E820_RAM, true);
      if (nr > 0 && !v.access.copyToGuest(ptr(s, w, w), e)) return -EFAULT;
      s.setUint32(0, nr, true);
      return v.access.copyToGuest(arg, new Uint8Array(s.buffer)) ? 0 : -EFAULT;
    }
    case XENMEM_add_to_physmap: {
      // xen_add_to_physmap: domid u16, size u16, space u32, idx u32, gpfn u32
      const s = readStruct(v, arg, 16);
      if (!s) return -EFAULT;
      if (s.getUint32(4, true) === 4) return -ENOSYS; // gmfn_foreign: batch only
      const t = targetDomain(v, s.getUint16(0, true));
      if (typeof t === "number") return t;
      if (t.mm.translated) {
        return translatedAddToPhysmap(
          t,
          t.gnttab,
          s.getUint32(4, true),
          s.getUint32(8, true),
          s.getUint32(12, true),
        );
      }
      return -EACCES; // xatp_permission_check: not a translated guest
    }
    case XENMEM_add_to_physmap_batch:
    case XENMEM_remove_from_physmap: {
      const s = readStruct(v, arg, 2);
      if (!s) return -EFAULT;
      const t = targetDomain(v, s.getUint16(0, true));
      if (typeof t === "number") return t;
      return -EACCES;
    }
    case XENMEM_get_vnumainfo:
      return readStruct(v, arg, 2) ? -EOPNOTSUPP : -EFAULT;
    case XENMEM_machine_memory_map:
    case XENMEM_set_memory_map:
    case 16: // set_pod_target
    case 17: // get_pod_target
    case 18: // get_sharing_freed_pages
    case 19: // get_sharing_shared_pages
    case 20: // paging_op
    case 21: // access_op
    case 22: // sharing_op
    case 24: // claim_pages
    case 28: // acquire_resource
      return -EPERM;
    default:
      return -ENOSYS;
  }
}

/** increase_reservation / decrease_reservation / populate_physmap. */
function reservation(v: Vcpu, op: number, start: number, arg: number): number {
  const R = resvOf(v), E = R.ent;
  const s = readStruct(v, arg, R.size);
  if (!s) return -EFAULT;
  const list = ptr(s, R.list, E);
  const nr = word(s, R.nr, E);
  const order = s.getUint32(R.order, true);
  const memFlags = s.getUint32(R.flags, true);
  if (start >= nr) return start;
  if (list !== 0 && !v.access.accessOk(list, nr * E)) return start;
  if (order > DOMU_MAX_ORDER) return start;
  const t = targetDomain(v, s.getUint16(R.domid, true));
  if (typeof t === "number") return t;
  const addressBits = memFlags & 0xff;
  if (addressBits !== 0 && addressBits <= 12) return start;
  if (op === XENMEM_populate_physmap && (memFlags & XENMEMF_populate_on_demand)) return start;
  const d = t;
  const f = d.host.frames;
  for (let i = start; i < nr; i++) {
    if (shouldPreempt(v, i - start) && i < 1 << 26) {
      createContinuation(v, 12, op | (i << MEMOP_EXTENT_SHIFT), arg); // __HYPERVISOR_memory_op
      return 0;
    }
    const slot = list + i * E;
    if (op === XENMEM_decrease_reservation) {
      const gmfn = readEnt(v, slot, E);
      if (v.access.fault || gmfn < 0) return i;
      for (let j = 0; j < 1 << order; j++) {
        // A translated guest names pfns.
        const mfn = d.mm.translated ? d.mfnOf(gmfn + j) : gmfn + j;
        if (mfn === INVALID_MFN || !guestRemovePage(d, mfn)) return i;
      }
      if (d.mm.translated) {
        d.mm.flush.flushAll(d.mm.flush.allMask);
        applyFlushes(d);
      }
      const tr = d.host.tracer;
      if (tr.on) tr.rec(TRC_MEM_DECREASE_RESERVATION, 2, d.domid, gmfn, 0, 0, 0, 0);
      continue;
    }
    const n = 2 ** order;
    if (d.totPages + n > d.maxPages) return i;
    let gpfn = 0;
    if (op === XENMEM_populate_physmap) {
      gpfn = readEnt(v, slot, E);
      if (v.access.fault || gpfn < 0) return i;
      if (gpfn + n > d.p2m.maxPfns || gpfn % n !== 0) return i;
    }
    const mfn = order === 0
      ? f.allocDomainFrame(d.domid)
      : f.allocDomainFramesContiguous(d.domid, order);
    if (mfn < 0) return i;
    if (op === XENMEM_populate_physmap) {
      // PV: the guest keeps its own P2M; Xen records the M2P entries.
      for (let j = 0; j < n; j++) {
        f.m2p.set(asMfn(mfn + j), asGfn(gpfn + j));
        if (d.p2m.get(asGfn(gpfn + j)) === INVALID_MFN) d.p2m.set(asGfn(gpfn + j), asMfn(mfn + j));
      }
    }
    // A translated guest's list keeps its pfns (Xen copies mfns back to PV guests only).
    const copyBack = list !== 0 && !(d.mm.translated && op === XENMEM_populate_physmap);
    if (copyBack && !writeEnt(v, slot, E, mfn)) {
      for (let j = 0; j < n; j++) f.releaseAllocation(mfn + j, d.domid, (m) => dropPin(f, m));
      return i;
    }
  }
  return nr;
}

/**
 * guest_remove_page for a PV guest: the frame must be the domain's own allocated page
 * and not a Xen page it shares; it is unpinned and its allocation reference dropped.
 */
export function guestRemovePage(d: Domain, mfn: number): boolean {
  if (d.xenShared.has(mfn)) return false;
  const f = d.host.frames;
  const pfn = f.m2p.get(asMfn(mfn));
  if (!f.releaseAllocation(mfn, d.domid, (m) => dropPin(f, m))) return false;
  if (pfn !== 0xffffffff && d.p2m.get(pfn) === mfn) d.p2m.set(pfn, asMfn(INVALID_MFN));
  return true;
}

/**
 * XENMEM_exchange: gives up the `in` extents and receives as many pages in `out`
 * (order 0 on both sides), recording progress in nr_exchanged.
 */
function exchange(v: Vcpu, arg: number): number {
  // xen_memory_exchange: in, out (reservations), nr_exchanged (a word)
  const R = resvOf(v), E = R.ent, O = R.size, DONE = 2 * R.size;
  const s = readStruct(v, arg, DONE + E);
  if (!s) return -EFAULT;
  const inList = ptr(s, R.list, E), inNr = word(s, R.nr, E), inOrder = s.getUint32(R.order, true);
  const outList = ptr(s, O + R.list, E), outNr = word(s, O + R.nr, E);
  const outOrder = s.getUint32(O + R.order, true);
  let done = word(s, DONE, E);
  if (done > inNr) return -EINVAL;
  if (!v.access.accessOk(inList, inNr * E) || !v.access.accessOk(outList, outNr * E)) {
    return -EFAULT;
  }
  if (inOrder > 30 || outOrder > 30 || inNr * 2 ** inOrder !== outNr * 2 ** outOrder) {
    return -EINVAL;
  }
  if (inOrder > DOMU_MAX_ORDER || outOrder > DOMU_MAX_ORDER) return -EPERM;
  const t = targetDomain(v, s.getUint16(R.domid, true));
  if (typeof t === "number") return t;
  if (s.getUint16(O + R.domid, true) !== s.getUint16(R.domid, true)) return -EINVAL;
  const d = t;
  const f = d.host.frames;
  let rc = 0;
  if (inOrder !== 0 || outOrder !== 0) return exchangeExtents(v, d, s, arg, done);
  for (; rc === 0 && done < inNr; done++) {
    const gmfn = readEnt(v, inList + done * E, E);
    if (v.access.fault) {
      rc = -EFAULT;
      break;
    }
    const gpfn = readEnt(v, outList + done * E, E);
    if (v.access.fault) {
      rc = -EFAULT;
      break;
    }
    if (gmfn < 0 || gpfn < 0) {
      rc = -EINVAL;
      break;
    }
    // The page given up must be a plain page of ours with no other user (steal_page).
    if (!d.owns(gmfn) || d.xenShared.has(gmfn) || f.refs[gmfn] !== 1 || f.typeCount[gmfn]) {
      rc = -EINVAL;
      break;
    }
    const mfn = f.allocDomainFrame(d.domid);
    if (mfn < 0) {
      rc = -ENOMEM;
      break;
    }
    guestRemovePage(d, gmfn);
    f.m2p.set(asMfn(mfn), asGfn(gpfn));
    if (!writeEnt(v, outList + done * E, E, mfn)) {
      rc = -EFAULT;
      done++;
      break;
    }
  }
  return putDone(v, s, arg, DONE, E, done) ? rc : -EFAULT;
}

/** Writes nr_exchanged back (a 4- or 8-byte word at `off`). */
function putDone(v: Vcpu, s: DataView, arg: number, off: number, E: number, done: number) {
  s.setUint32(off, done, true);
  if (E === 8) s.setUint32(off + 4, 0, true);
  return v.access.copyToGuest(arg + off, new Uint8Array(s.buffer, off, E));
}

/**
 * XENMEM_exchange with extents of any order: chunks of max(in, out) pages at a time; each
 * chunk's input pages must all be plain pages of the domain; the output extents are
 * contiguous blocks. nr_exchanged counts input extents, as in Xen.
 */
function exchangeExtents(v: Vcpu, d: Domain, s: DataView, arg: number, done: number): number {
  const f = d.host.frames;
  const R = resvOf(v), E = R.ent, O = R.size;
  const inList = ptr(s, R.list, E), inNr = word(s, R.nr, E), inOrder = s.getUint32(R.order, true);
  const outList = ptr(s, O + R.list, E), outOrder = s.getUint32(O + R.order, true);
  const chunk = 2 ** Math.max(inOrder, outOrder);
  const inPer = chunk / 2 ** inOrder, outPer = chunk / 2 ** outOrder;
  let rc = 0;
  while (rc === 0 && done < inNr) {
    // Check the whole chunk first (steal_page for each input page).
    const ins: number[] = [];
    for (let k = 0; k < inPer && rc === 0; k++) {
      const base = readEnt(v, inList + (done + k) * E, E);
      if (v.access.fault) rc = -EFAULT;
      else if (base < 0) rc = -EINVAL;
      for (let j = 0; rc === 0 && j < 2 ** inOrder; j++) {
        const m = base + j;
        if (!d.owns(m) || d.xenShared.has(m) || f.refs[m] !== 1 || f.typeCount[m]) rc = -EINVAL;
        else ins.push(m);
      }
    }
    if (rc !== 0) break;
    const outs: number[] = [];
    for (let k = 0; k < outPer; k++) {
      const mfn = outOrder === 0
        ? f.allocDomainFrame(d.domid)
        : f.allocDomainFramesContiguous(d.domid, outOrder);
      if (mfn < 0) {
        rc = -ENOMEM;
        break;
      }
      outs.push(mfn);
    }
    if (rc !== 0) {
      for (const m of outs) {
        for (let j = 0; j < 2 ** outOrder; j++) f.releaseAllocation(m + j, d.domid, () => {});
      }
      break;
    }
    for (const m of ins) guestRemovePage(d, m);
    const outDone = (done / inPer) * outPer;
    for (let k = 0; k < outPer; k++) {
      const gpfn = readEnt(v, outList + (outDone + k) * E, E);
      for (let j = 0; j < 2 ** outOrder; j++) {
        f.m2p.set(asMfn(outs[k] + j), asGfn((gpfn + j) >>> 0));
      }
      if (!writeEnt(v, outList + (outDone + k) * E, E, outs[k])) rc = -EFAULT;
    }
    done += inPer;
  }
  return putDone(v, s, arg, 2 * O, E, done) ? rc : -EFAULT;
}
