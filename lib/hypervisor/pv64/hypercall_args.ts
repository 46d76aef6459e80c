/**
 * The hypercall argument structures whose layout depends on the guest's width, read and
 * written through lib/abi's per-width layout tables (LAYOUT_X86_32 / LAYOUT_X86_64):
 * multicall_entry, xen_memory_reservation, xen_memory_exchange, gnttab_setup_table,
 * gnttab_copy and xen_machphys_mapping. Word-sized fields (unsigned long, xen_pfn_t,
 * guest handles) come back as (lo, hi) pairs so a 64-bit pointer keeps its upper half;
 * the 32-bit forms have hi = 0.
 * @module
 */
import type { GuestLayout } from "../../abi/mod.ts";
import { MACH2PHYS_NR_ENTRIES, MACH2PHYS_VIRT_END, MACH2PHYS_VIRT_START } from "../../abi/mod.ts";
import { MACHPHYS_MAPPING_64 } from "../../abi/mod.ts";

/** A guest word: (lo, hi) halves. */
export type Word = [number, number];

function word(dv: DataView, L: GuestLayout, off: number): Word {
  return [dv.getUint32(off, true), L.wordSize === 8 ? dv.getUint32(off + 4, true) : 0];
}

function putWord(dv: DataView, L: GuestLayout, off: number, lo: number, hi: number): void {
  dv.setUint32(off, lo >>> 0, true);
  if (L.wordSize === 8) dv.setUint32(off + 4, hi >>> 0, true);
}

function view(b: Uint8Array, size: number): DataView | null {
  return b.length < size ? null : new DataView(b.buffer, b.byteOffset, size);
}

/** A decoded multicall_entry. */
export interface MulticallEntry {
  /** The hypercall number (op is an unsigned long; only its low half selects). */
  op: Word;
  /** args[0..5]. */
  args: Word[];
}

/**
 * Reads a multicall_entry.
 * @returns the entry, or null when b is shorter than the structure
 */
export function readMulticallEntry(L: GuestLayout, b: Uint8Array): MulticallEntry | null {
  const M = L.multicallEntry, dv = view(b, M.size);
  if (dv === null) return null;
  const args: Word[] = [];
  for (let k = 0; k < 6; k++) args.push(word(dv, L, M.args + k * L.wordSize));
  return { op: word(dv, L, M.op), args };
}

/**
 * Writes a multicall_entry's result (a signed long: -errno sign-extends to 64 bits).
 * @returns the byte offset and length written within the entry
 */
export function writeMulticallResult(L: GuestLayout, b: Uint8Array, result: number): Word {
  const M = L.multicallEntry, dv = view(b, M.size);
  if (dv === null) throw new RangeError("multicall entry too short");
  putWord(dv, L, M.result, result | 0, result < 0 ? 0xffffffff : 0);
  return [M.result, L.wordSize];
}

/** A decoded xen_memory_reservation. */
export interface MemoryReservation {
  /** extent_start (a guest handle). */
  extentStart: Word;
  /** nr_extents (xen_ulong_t). */
  nrExtents: Word;
  /** extent_order. */
  extentOrder: number;
  /** mem_flags. */
  memFlags: number;
  /** domid. */
  domid: number;
}

/** Reads a xen_memory_reservation at `off` in b (0 by default), or null when short. */
export function readMemoryReservation(
  L: GuestLayout,
  b: Uint8Array,
  off = 0,
): MemoryReservation | null {
  const R = L.memoryReservation, dv = view(b.subarray(off), R.size);
  if (dv === null) return null;
  return {
    extentStart: word(dv, L, R.extentStart),
    nrExtents: word(dv, L, R.nrExtents),
    extentOrder: dv.getUint32(R.extentOrder, true),
    memFlags: dv.getUint32(R.memFlags, true),
    domid: dv.getUint16(R.domid, true),
  };
}

/** A decoded xen_memory_exchange. */
export interface MemoryExchange {
  /** The `in` reservation. */
  in: MemoryReservation;
  /** The `out` reservation. */
  out: MemoryReservation;
  /** nr_exchanged (xen_ulong_t). */
  nrExchanged: Word;
}

/** Reads a xen_memory_exchange, or null when short. */
export function readMemoryExchange(L: GuestLayout, b: Uint8Array): MemoryExchange | null {
  const X = L.memoryExchange, dv = view(b, X.size);
  if (dv === null) return null;
  const inR = readMemoryReservation(L, b, X.in), outR = readMemoryReservation(L, b, X.out);
  if (inR === null || outR === null) return null;
  return { in: inR, out: outR, nrExchanged: word(dv, L, X.nrExchanged) };
}

/** A decoded gnttab_setup_table. */
export interface GnttabSetupTable {
  /** dom. */
  dom: number;
  /** nr_frames. */
  nrFrames: number;
  /** status (OUT). */
  status: number;
  /** frame_list (a guest handle to xen_pfn_t: entries of wordSize bytes). */
  frameList: Word;
}

/** Reads a gnttab_setup_table, or null when short. */
export function readGnttabSetupTable(L: GuestLayout, b: Uint8Array): GnttabSetupTable | null {
  const G = L.gnttabSetupTable, dv = view(b, G.size);
  if (dv === null) return null;
  return {
    dom: dv.getUint16(G.dom, true),
    nrFrames: dv.getUint32(G.nrFrames, true),
    status: dv.getInt16(G.status, true),
    frameList: word(dv, L, G.frameList),
  };
}

/** One side of a gnttab_copy: a grant ref, or a guest frame when GNTCOPY_*_gref is clear. */
export interface GnttabCopySide {
  /** u.ref / u.gmfn (xen_pfn_t: a word). */
  u: Word;
  /** domid. */
  domid: number;
  /** offset. */
  offset: number;
}

/** A decoded gnttab_copy. */
export interface GnttabCopy {
  /** source. */
  source: GnttabCopySide;
  /** dest. */
  dest: GnttabCopySide;
  /** len. */
  len: number;
  /** flags. */
  flags: number;
}

/** Reads a gnttab_copy, or null when short. */
export function readGnttabCopy(L: GuestLayout, b: Uint8Array): GnttabCopy | null {
  const C = L.gnttabCopy, dv = view(b, C.size);
  if (dv === null) return null;
  const side = (u: number, domid: number, offset: number): GnttabCopySide => ({
    u: word(dv, L, u),
    domid: dv.getUint16(domid, true),
    offset: dv.getUint16(offset, true),
  });
  return {
    source: side(C.sourceURef, C.sourceDomid, C.sourceOffset),
    dest: side(C.destURef, C.destDomid, C.destOffset),
    len: dv.getUint16(C.len, true),
    flags: dv.getUint16(C.flags, true),
  };
}

/** The status offset of a gnttab_copy (int16_t), for writing the result back. */
export function gnttabCopyStatusOffset(L: GuestLayout): number {
  return L.gnttabCopy.status;
}

/**
 * The struct xen_machphys_mapping XENMEM_machphys_mapping returns to a domU of this
 * width: the read-only M2P's virtual range and its last mfn. A 64-bit guest gets the
 * native constants (MACH2PHYS_NR_ENTRIES - 1 as max_mfn); a 32-bit guest the compat
 * range, its max_mfn bounded by the host's frames as pvx always reported.
 * @param hostFrames the host's machine frames
 */
export function machphysMapping(L: GuestLayout, hostFrames: number): Uint8Array {
  const M = L.machphysMapping, b = new Uint8Array(M.size), dv = new DataView(b.buffer);
  if (L.width === 64) {
    const put = (off: number, v: bigint) => dv.setBigUint64(off, v, true);
    put(M.vStart, MACHPHYS_MAPPING_64.vStart);
    put(M.vEnd, MACHPHYS_MAPPING_64.vEnd);
    put(M.maxMfn, MACHPHYS_MAPPING_64.maxMfn);
  } else {
    dv.setUint32(M.vStart, MACH2PHYS_VIRT_START, true);
    dv.setUint32(M.vEnd, MACH2PHYS_VIRT_END, true);
    dv.setUint32(M.maxMfn, Math.min(hostFrames, MACH2PHYS_NR_ENTRIES) - 1, true);
  }
  return b;
}
