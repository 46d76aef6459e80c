/**
 * A small long-mode machine for the 64-bit TLB tests, the fuzzer and the bench: machine
 * memory, a CPU switched to 64-bit mode (EFER.LMA, CS.L) with a recording platform, and
 * 4-level page tables built in machine memory for lib/paging's LongModeWalker.
 * @module
 */

import { Cpu } from "../../../lib/cpu/mod.ts";
import { PhysMemory } from "../../../lib/cpu/phys_memory.ts";
import { RecordingPlatform } from "../../../lib/cpu/testing.ts";
import { LongModeWalker } from "../../../lib/paging/mod.ts";
import { ATTR_L, EFER_LMA, EFER_NXE } from "../../../lib/cpu/long/long_state.ts";

/** Page-table entry bits (low half). */
export const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_A = 0x20, PTE_D = 0x40;
/** NX: bit 63 of an entry, bit 31 of its high half. */
export const PTE_NX_HI = 0x80000000 | 0;

/** 4-level tables in machine memory, table frames taken from a bump allocator. */
export class Tables64 {
  /** Machine address of the PML4. */
  readonly cr3: number;
  #next: number;
  readonly #end: number;
  readonly #dv: DataView;

  /**
   * @param mem machine memory
   * @param first first machine frame the tables may use
   * @param count how many frames they may use
   */
  constructor(mem: PhysMemory, first: number, count: number) {
    this.#dv = mem.dv;
    this.#next = first;
    this.#end = first + count;
    this.cr3 = this.#alloc();
  }

  #alloc(): number {
    if (this.#next >= this.#end) throw new Error("Tables64: out of table frames");
    const a = this.#next++ * 4096;
    for (let i = 0; i < 4096; i += 4) this.#dv.setUint32(a + i, 0, true);
    return a;
  }

  /** The machine address of the entry for linear hi:lo at `level` (0 = PML4 .. 3 = PT). */
  entryAt(lo: number, hi: number, level: number, create = true): number {
    let table = this.cr3;
    for (let l = 0; l <= level; l++) {
      const idx = l === 0
        ? (hi >>> 7) & 511
        : l === 1
        ? ((hi & 0x7f) << 2) | (lo >>> 30)
        : l === 2
        ? (lo >>> 21) & 511
        : (lo >>> 12) & 511;
      const at = table + idx * 8;
      if (l === level) return at;
      let e = this.#dv.getUint32(at, true);
      if ((e & PTE_P) === 0) {
        if (!create) return -1;
        e = this.#alloc() | PTE_P | PTE_RW | PTE_US;
        this.#dv.setUint32(at, e, true);
        this.#dv.setUint32(at + 4, 0, true);
      }
      table = e & ~0xfff;
    }
    return -1;
  }

  /**
   * Maps the 4 KiB page of linear hi:lo to machine frame `mfn`.
   * @param flags low-half entry bits (PTE_P is added)
   * @param nx whether the page is not executable
   */
  map(lo: number, hi: number, mfn: number, flags: number, nx = false): void {
    const at = this.entryAt(lo, hi, 3);
    this.#dv.setUint32(at, (mfn * 4096) | flags | PTE_P, true);
    this.#dv.setUint32(at + 4, nx ? PTE_NX_HI : 0, true);
  }

  /** The low half of the PTE of linear hi:lo (0 when a level is missing). */
  pte(lo: number, hi: number): number {
    const at = this.entryAt(lo, hi, 3, false);
    return at < 0 ? 0 : this.#dv.getUint32(at, true);
  }

  /** Overwrites the low half of the PTE of linear hi:lo (no TLB flush: the caller's job). */
  setPte(lo: number, hi: number, value: number): void {
    this.#dv.setUint32(this.entryAt(lo, hi, 3), value, true);
  }
}

/** A long-mode machine: memory, CPU, platform, tables and their walker. */
export interface Machine64 {
  /** The CPU (64-bit mode, CPL 0). */
  cpu: Cpu;
  /** Machine memory. */
  mem: PhysMemory;
  /** Records every exception. */
  platform: RecordingPlatform;
  /** The page tables the walker uses. */
  tables: Tables64;
  /** The walker installed as `cpu.lm.walker`. */
  walker: LongModeWalker;
}

/**
 * A CPU in 64-bit mode over `frames` frames with an empty PML4 in the frames from
 * `tableFrame` (`tableFrames` of them) and the walker installed, EFER.NXE set.
 */
export function machine64Paged(frames: number, tableFrame: number, tableFrames: number): Machine64 {
  const mem = new PhysMemory(frames);
  const platform = new RecordingPlatform();
  const cpu = new Cpu(mem, platform, null);
  platform.cpu = cpu;
  cpu.efer |= EFER_LMA | EFER_NXE;
  cpu.segAttr[1] |= ATTR_L;
  const tables = new Tables64(mem, tableFrame, tableFrames);
  const walker = new LongModeWalker(mem);
  walker.cr3 = tables.cr3;
  cpu.lm.walker = walker;
  return { cpu, mem, platform, tables, walker };
}
