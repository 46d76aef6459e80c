/**
 * The 64-bit machine-to-phys table a 64-bit PV guest reads at MACH2PHYS_VIRT_START
 * (0xffff800000000000): one u64 per machine frame (INVALID_M2P_ENTRY is ~0UL), kept in
 * step with the 32-bit table, in Xen-owned frames, with the Xen-owned L3 -> L2 -> L1
 * tables that map it read-only for L4 slot 256 (Xen's RO_MPT). Only 4 KiB mappings are
 * used, so a 4-level walker needs no superpage support for it.
 *
 * It is created when the first 64-bit domain is: a host running only 32-bit guests keeps
 * its frame numbering.
 * @module
 */

import { InputError } from "../errors.ts";
import { _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_USER, DOMID_XEN } from "./constants.ts";
import type { MachineFrames } from "./machine_frames.ts";
import { asMfn } from "../abi/mod.ts";

/** Flags of Xen's read-only M2P mappings at every level: present, user, accessed. */
const RO_FLAGS = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;

/** The 64-bit M2P and its read-only window. */
export class M2p64 {
  /** The table's frames, in entry order (entry i lives in frame i >> 9). */
  readonly tableMfns: Uint32Array;
  /** The L1 tables mapping the table frames (each maps 512 of them). */
  readonly l1Mfns: Uint32Array;
  /** The L2 tables (each maps 512 L1s). */
  readonly l2Mfns: Uint32Array;
  /** The L3 every 64-bit guest L4 names in slot 256. */
  readonly l3Mfn: number;
  readonly #u32: Uint32Array;

  /**
   * Allocates the table and its mapping frames to Xen and copies the 32-bit table in.
   * @param f the host's frames
   * @throws InputError when the host has too few free frames
   */
  constructor(f: MachineFrames) {
    const nTable = Math.ceil((f.count * 8) / 4096);
    const nL1 = Math.ceil(nTable / 512);
    const nL2 = Math.ceil(nL1 / 512);
    const need = nTable + nL1 + nL2 + 1;
    if (f.freeFrames < need) {
      throw new InputError(
        `Cannot create the 64-bit M2P: it needs ${need} frames, ${f.freeFrames} are free`,
      );
    }
    const take = (n: number) => {
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = f.allocDomainFrame(DOMID_XEN);
      return out;
    };
    this.#u32 = f.u32;
    this.tableMfns = take(nTable);
    this.l1Mfns = take(nL1);
    this.l2Mfns = take(nL2);
    this.l3Mfn = take(1)[0];
    const u32 = f.u32;
    const put = (table: number, slot: number, target: number) => {
      u32[table * 1024 + slot * 2] = ((target << 12) | RO_FLAGS) >>> 0;
      u32[table * 1024 + slot * 2 + 1] = Math.floor(target / 0x100000);
    };
    for (let i = 0; i < nTable; i++) put(this.l1Mfns[i >>> 9], i & 511, this.tableMfns[i]);
    for (let i = 0; i < nL1; i++) put(this.l2Mfns[i >>> 9], i & 511, this.l1Mfns[i]);
    for (let i = 0; i < nL2; i++) put(this.l3Mfn, i, this.l2Mfns[i]);
    for (let m = 0; m < f.count; m++) this.set(m, f.m2p.get(asMfn(m)));
    for (const m of [...this.tableMfns, ...this.l1Mfns, ...this.l2Mfns, this.l3Mfn]) {
      f.mem.noteWrite(m * 4096, 4096);
    }
  }

  /**
   * The L4 entry (low dword) Xen puts in slot 256 of a 64-bit guest's L4.
   * @returns the entry's low dword; the high dword is {@link roMptL4Hi}
   */
  get roMptL4Lo(): number {
    return ((this.l3Mfn << 12) | RO_FLAGS) >>> 0;
  }

  /** The slot-256 entry's high dword. */
  get roMptL4Hi(): number {
    return Math.floor(this.l3Mfn / 0x100000);
  }

  /**
   * Sets the entry of one frame (called by the 32-bit table on every change).
   * @param mfn machine frame
   * @param pfn its pfn, or 0xffffffff (INVALID_M2P_ENTRY: stored as ~0 in 64 bits)
   */
  set(mfn: number, pfn: number): void {
    const i = this.tableMfns[mfn >>> 9] * 1024 + (mfn & 511) * 2;
    const v = pfn >>> 0;
    this.#u32[i] = v;
    this.#u32[i + 1] = v === 0xffffffff ? 0xffffffff : 0;
  }

  /**
   * The entry of one frame, as a JS number (-1 for ~0).
   * @param mfn machine frame
   */
  get(mfn: number): number {
    const i = this.tableMfns[mfn >>> 9] * 1024 + (mfn & 511) * 2;
    const hi = this.#u32[i + 1];
    return hi === 0xffffffff ? -1 : hi * 0x100000000 + this.#u32[i];
  }
}
