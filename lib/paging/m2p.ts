/**
 * The machine-to-phys table (M2P): one u32 per machine frame, stored in machine frames
 * owned by Xen so a guest can read it through its read-only window at
 * MACH2PHYS_VIRT_START, plus the Xen-owned L1 tables that map that window.
 * @module
 */

import type { Gfn, Mfn } from "../abi/mod.ts";
import type { PhysMemory } from "../cpu/mod.ts";
import {
  _PAGE_ACCESSED,
  _PAGE_PRESENT,
  _PAGE_USER,
  INVALID_M2P_ENTRY,
  L2_FIRST_XEN_SLOT,
  MACH2PHYS_NR_ENTRIES,
} from "./constants.ts";
import { InputError } from "../errors.ts";

/** Flags of Xen's read-only M2P mappings (L1 and L2 level): present, user, accessed. */
const M2P_MAP_FLAGS = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;

/** The global M2P table, living at machine frames [firstMfn, firstMfn + frameCount). */
export class M2p {
  /** First machine frame of the table. */
  readonly firstMfn: number;
  /** Number of machine frames holding the table. */
  readonly frameCount: number;
  /** First machine frame of the Xen L1 tables mapping the table read-only. */
  readonly firstL1Mfn: number;
  /** Number of those L1 tables (each maps 2 MiB = 512 table frames). */
  readonly l1Count: number;
  /** The table itself: mfn -> pfn (INVALID_M2P_ENTRY when none). A view of machine memory. */
  readonly table: Uint32Array;
  /** The 64-bit table a 64-bit guest reads (m2p64.ts), kept in step once it exists. */
  wide: { set(mfn: number, pfn: number): void } | null = null;
  readonly #mem: PhysMemory;

  /**
   * Lays the table out at `firstMfn` and builds its L1 tables right after it.
   * @param mem machine memory
   * @param firstMfn first frame reserved for the table (the caller reserves
   *   {@link M2p.framesNeeded} frames from there)
   */
  constructor(mem: PhysMemory, firstMfn: number) {
    this.#mem = mem;
    const entries = mem.frames;
    if (entries > MACH2PHYS_NR_ENTRIES) {
      throw new InputError(
        `Cannot size machine memory "${entries}" frames: the M2P window holds ${MACH2PHYS_NR_ENTRIES}`,
      );
    }
    this.firstMfn = firstMfn;
    this.frameCount = Math.ceil((entries * 4) / 4096);
    this.firstL1Mfn = firstMfn + this.frameCount;
    this.l1Count = Math.ceil(this.frameCount / 512);
    this.table = new Uint32Array(mem.buffer, firstMfn * 4096, entries);
    this.table.fill(INVALID_M2P_ENTRY);
    const u32 = new Uint32Array(mem.buffer);
    for (let i = 0; i < this.frameCount; i++) {
      const l1 = this.firstL1Mfn + (i >>> 9);
      const idx = l1 * 1024 + (i & 511) * 2;
      u32[idx] = ((firstMfn + i) << 12) | M2P_MAP_FLAGS;
      u32[idx + 1] = 0;
    }
  }

  /**
   * Frames the table and its L1 tables need for a machine memory of `frames` frames.
   * @param frames machine frames
   */
  static framesNeeded(frames: number): number {
    const t = Math.ceil((frames * 4) / 4096);
    return t + Math.ceil(t / 512);
  }

  /**
   * The M2P entry of a frame.
   * @param mfn machine frame
   * @returns the pfn, or INVALID_M2P_ENTRY
   */
  get(mfn: Mfn): Gfn {
    return (mfn >= 0 && mfn < this.table.length ? this.table[mfn] : INVALID_M2P_ENTRY) as Gfn;
  }

  /**
   * Sets the M2P entry of a frame (the guest sees it at once through its window).
   * @param mfn machine frame (must be valid)
   * @param pfn the pseudo-physical frame, or INVALID_M2P_ENTRY
   */
  set(mfn: Mfn, pfn: Gfn): void {
    this.table[mfn] = pfn >>> 0;
    if (this.wide !== null) this.wide.set(mfn, pfn);
    const f = this.firstMfn + (mfn >>> 10);
    if (this.#mem.codeFrame[f] !== 0) this.#mem.noteWrite(f * 4096 + (mfn & 1023) * 4, 4);
  }

  /**
   * Writes Xen's slots (L2_FIRST_XEN_SLOT..511) into an L2 that has become the
   * slot-3 L2 of a PAE L3, as init_xen_pae_l2_slots does: read-only mappings of the
   * M2P table, nothing else.
   * @param u32 a u32 view of machine memory
   * @param l2Mfn the L2 frame
   */
  writeXenL2Slots(u32: Uint32Array, l2Mfn: number): void {
    const base = l2Mfn * 1024;
    for (let slot = L2_FIRST_XEN_SLOT; slot < 512; slot++) {
      const i = slot - L2_FIRST_XEN_SLOT;
      const idx = base + slot * 2;
      u32[idx] = i < this.l1Count ? ((this.firstL1Mfn + i) << 12) | M2P_MAP_FLAGS : 0;
      u32[idx + 1] = 0;
    }
    this.#mem.noteWrite(l2Mfn * 4096 + L2_FIRST_XEN_SLOT * 8, (512 - L2_FIRST_XEN_SLOT) * 8);
  }
}
