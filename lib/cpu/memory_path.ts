/**
 * The CPU's memory path: the TLB in front of the page walker, linear reads and writes
 * (throwing #PF/#GP), segment-relative addressing with the limit checks (and the ring-1
 * fold, seg_fold.ts), faults, and the non-throwing accessors the platform uses. core.ts
 * adds instruction fetch, segments and the decoded-code cache on top.
 * @module
 */

import { InputError } from "../errors.ts";
import type { PhysMemory } from "./phys_memory.ts";
import {
  ACC_FETCH,
  ACC_USER,
  ACC_WRITE,
  type PageWalker,
  type Platform,
  VEC_GP,
  VEC_PF,
  VEC_SS,
} from "./platform.ts";
import { K_FETCH, K_READ, K_WRITE, Tlb } from "./tlb.ts";
import { Tlb64 } from "./tlb64.ts";
import { SC_BASE0, SC_BIG, SC_DOWN, SC_FLAT, SC_R, SC_VALID, SC_W } from "./seg_check.ts";
import { CpuState } from "./cpu_state.ts";
import { ARM_DATA_BITS, type DebugHooks, NO_DEBUG } from "./debug_hooks.ts";
import { NO_FOLD } from "./seg_fold.ts";

const SS = 2;

/** The sentinel thrown by a faulting access; {@link CpuMemory.excVector} holds the vector. */
export const FAULT: { readonly fault: true } = Object.freeze({ fault: true as const });

/** The state and memory path of one CPU (see core.ts and cpu.ts for the rest). */
export class CpuMemory extends CpuState {
  /** Machine memory. */
  readonly mem: PhysMemory;
  /** Byte view of machine memory. */
  readonly u8: Uint8Array;
  /** DataView of machine memory. */
  readonly dv: DataView;
  /** The platform exceptions go to. */
  readonly platform: Platform;
  /** The page walker, or null for paging off. */
  readonly walker: PageWalker | null;
  /** The TLB. */
  readonly tlb: Tlb = new Tlb();
  /** The TLB of 64-bit linear addresses (lib/cpu/long/mem64.ts), flushed with {@link tlb}. */
  readonly tlb64: Tlb64 = new Tlb64();
  /** Current read/write/fetch tables (for the current privilege). */
  tRd: Int32Array;
  /** Write table for the current privilege. */
  tWr: Int32Array;
  /** Fetch table for the current privilege. */
  tEx: Int32Array;
  /** Breakpoints, watchpoints and single step (guest DRs and the debugger); see cpu.ts. */
  debug: DebugHooks = NO_DEBUG;
  /** First linear page of the folded data-segment limit (NO_FOLD = none; see seg_fold.ts). */
  foldPage: number = NO_FOLD;
  /** Highest linear page cached for data since the last full flush (-1 = none). */
  protected dataFillMax = -1;
  /** The last fault was {@link raiseFold}'s (the run loop resolves it). */
  foldFault = false;

  /**
   * @param mem machine memory (at most 2 GiB)
   * @param platform receives exceptions, int n, cpuid and rdtsc
   * @param walker linear -> machine translation; null = identity (paging off)
   */
  constructor(mem: PhysMemory, platform: Platform, walker: PageWalker | null) {
    super();
    if (mem.frames > 1 << 19) {
      throw new InputError(
        `Cannot create a CPU over ${mem.frames} frames: at most 2 GiB is supported`,
      );
    }
    this.mem = mem;
    this.u8 = mem.u8;
    this.dv = mem.dv;
    this.platform = platform;
    this.walker = walker;
    this.tRd = this.tlb.tables[0];
    this.tWr = this.tlb.tables[2];
    this.tEx = this.tlb.tables[4];
  }

  // ---- faults ------------------------------------------------------------------------

  /** Raises an exception from inside an instruction; never returns. */
  raise(vector: number, errorCode: number): never {
    this.foldFault = false;
    this.excVector = vector;
    this.excCode = errorCode;
    throw FAULT;
  }

  /**
   * A data access at or above the folded segment limit (seg_fold.ts): #GP(0) for now, with
   * {@link foldFault} set so that the run loop re-runs the instruction with the limit
   * checks on to raise what the segment used raises (#GP(0), or #SS(0) through SS).
   */
  raiseFold(): never {
    this.excVector = VEC_GP;
    this.excCode = 0;
    this.foldFault = true;
    throw FAULT;
  }

  /** Raises #GP(code). */
  gp(code = 0): never {
    return this.raise(VEC_GP, code);
  }

  // ---- translation -------------------------------------------------------------------

  /**
   * Translates one linear address for an access, filling the TLB; never throws.
   * @param kind K_READ / K_WRITE / K_FETCH
   * @param user 1 for a user-mode access
   * @returns the machine address, or -1 (cr2 and pfErrorCode set)
   */
  translate(linear: number, kind: number, user: number): number {
    const lin = linear >>> 0;
    const t = this.tlb.tables[kind * 2 + user][lin >>> 12];
    if (t !== 0) return t - 1 + (lin & 4095);
    let m: number;
    const w = this.walker;
    if (w === null) {
      m = lin < this.u8.length ? lin : -1;
      if (m < 0) {
        this.pfErrorCode = (kind === K_WRITE ? ACC_WRITE : 0) | (user ? ACC_USER : 0) |
          (kind === K_FETCH ? ACC_FETCH : 0);
      }
    } else {
      const acc = (kind === K_WRITE ? ACC_WRITE : 0) | (user ? ACC_USER : 0) |
        (kind === K_FETCH ? ACC_FETCH : 0);
      m = w.translate(lin, acc);
      if (m < 0) this.pfErrorCode = w.pfErrorCode;
      else if (m + 4096 - (lin & 4095) > this.u8.length) {
        m = -1;
        this.pfErrorCode = acc | 1;
      }
    }
    if (m < 0) {
      this.cr2 = lin | 0;
      return -1;
    }
    // A write to a frame holding decoded code drops its records first; write entries
    // exist only for frames that are not code (see codePage).
    if (kind === K_WRITE && this.mem.codeFrame[m >>> 12] !== 0) this.mem.noteWrite(m, 1);
    // A watched page keeps no data entry, so that every access reaches xlate's check.
    if (
      (this.dbgArmed & ARM_DATA_BITS) !== 0 && kind !== K_FETCH &&
      this.debug.pageWatched(lin >>> 12)
    ) {
      return m;
    }
    if (kind !== K_FETCH) {
      // Data pages at or above the folded segment limit are never cached (see refold).
      if (lin >>> 12 >= this.foldPage) return m;
      if (lin >>> 12 > this.dataFillMax) this.dataFillMax = lin >>> 12;
    }
    this.tlb.fill(kind, user, lin >>> 12, m - (lin & 4095));
    return m;
  }

  /** Translation of a `len`-byte access for the current privilege; raises #PF on failure. */
  protected xlate(lin: number, kind: number, len = 1): number {
    // A data access at or above the folded limit came through a folded segment (refold).
    if (kind !== K_FETCH && lin >>> 12 >= this.foldPage) this.raiseFold();
    const m = this.translate(lin, kind, this.cpl === 3 ? 1 : 0);
    if (m < 0) this.raise(VEC_PF, this.pfErrorCode);
    if ((this.dbgArmed & ARM_DATA_BITS) !== 0 && kind !== K_FETCH) {
      this.debug.dataAccess(lin, len, kind);
    }
    return m;
  }

  // ---- linear memory (current privilege, throwing) -----------------------------------

  /** Reads a byte at a linear address. */
  read8(lin: number): number {
    const e = this.tRd[lin >>> 12];
    if (e !== 0) return this.u8[e - 1 + (lin & 4095)];
    return this.u8[this.xlate(lin, K_READ)];
  }

  /** Reads a little-endian word at a linear address. */
  read16(lin: number): number {
    const e = this.tRd[lin >>> 12];
    const o = lin & 4095;
    if (e !== 0 && o !== 4095) return this.dv.getUint16(e - 1 + o, true);
    if (o !== 4095) return this.dv.getUint16(this.xlate(lin, K_READ, 2), true);
    return this.read8(lin) | (this.read8(lin + 1) << 8);
  }

  /** Reads a little-endian dword (int32) at a linear address. */
  read32(lin: number): number {
    const e = this.tRd[lin >>> 12];
    const o = lin & 4095;
    if (e !== 0 && o <= 4092) return this.dv.getInt32(e - 1 + o, true);
    if (o <= 4092) return this.dv.getInt32(this.xlate(lin, K_READ, 4), true);
    const sh = (4096 - o) * 8;
    const lo = this.readSplit(lin, 4096 - o);
    const hi = this.readSplit(lin + 4096 - o, 4 - (4096 - o));
    return lo | (hi << sh);
  }

  /** Reads `n` bytes one by one (a read crossing a page). */
  private readSplit(lin: number, n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v |= this.read8(lin + i) << (i * 8);
    return v;
  }

  /**
   * Returns the machine address for writing `len` bytes at `lin`, or -1 when the access
   * crosses a page (both pages are then probed, so the byte-wise writes cannot fault).
   */
  wAddr(lin: number, len: number): number {
    const o = lin & 4095;
    if (o + len <= 4096) {
      const e = this.tWr[lin >>> 12];
      if (e !== 0) return e - 1 + o;
      return this.xlate(lin, K_WRITE, len);
    }
    this.xlate(lin, K_WRITE, len);
    this.xlate(lin + len - 1, K_WRITE);
    return -1;
  }

  /** Writes a byte at a linear address. */
  write8(lin: number, v: number): void {
    const e = this.tWr[lin >>> 12];
    this.u8[e !== 0 ? e - 1 + (lin & 4095) : this.xlate(lin, K_WRITE)] = v;
  }

  /** Writes a little-endian word at a linear address. */
  write16(lin: number, v: number): void {
    const m = this.wAddr(lin, 2);
    if (m >= 0) this.dv.setUint16(m, v, true);
    else {
      this.write8(lin, v);
      this.write8(lin + 1, v >> 8);
    }
  }

  /** Writes a little-endian dword at a linear address. */
  write32(lin: number, v: number): void {
    const e = this.tWr[lin >>> 12];
    const o = lin & 4095;
    if (e !== 0 && o <= 4092) {
      this.dv.setInt32(e - 1 + o, v, true);
      return;
    }
    const m = this.wAddr(lin, 4);
    if (m >= 0) this.dv.setInt32(m, v, true);
    else for (let i = 0; i < 4; i++) this.write8(lin + i, v >> (i * 8));
  }

  /** Reads `len` (1/2/4) bytes. */
  readN(lin: number, len: number): number {
    return len === 4 ? this.read32(lin) : len === 2 ? this.read16(lin) : this.read8(lin);
  }

  /** Writes `len` (1/2/4) bytes. */
  writeN(lin: number, len: number, v: number): void {
    if (len === 4) this.write32(lin, v);
    else if (len === 2) this.write16(lin, v);
    else this.write8(lin, v);
  }

  // ---- segment-relative addressing ---------------------------------------------------

  /**
   * Checks a data access of `len` bytes at `off` in segment `s` and returns its linear
   * address; raises #GP(0) (#SS(0) for SS) when the segment check fails.
   */
  segAddr(s: number, off: number, len: number, write: boolean): number {
    const k = this.segChk[s];
    if ((k & SC_FLAT) !== 0) return off | 0;
    // Base 0 with a limit (Xen's ring-1/ring-3 flat segments end below the hypervisor).
    if ((k & SC_BASE0) !== 0 && (off >>> 0) + len - 1 <= (this.segLimit[s] >>> 0)) return off | 0;
    return this.segAddrSlow(s, off, len, write, k);
  }

  /** The checks of segAddr for a segment that is not flat. */
  private segAddrSlow(s: number, off: number, len: number, write: boolean, k: number): number {
    const vec = s === SS ? VEC_SS : VEC_GP;
    if ((k & SC_VALID) === 0) this.raise(vec, 0);
    if ((k & (write ? SC_W : SC_R)) === 0) this.raise(vec, 0);
    const o = off >>> 0;
    const lim = this.segLimit[s] >>> 0;
    const last = o + len - 1;
    if ((k & SC_DOWN) === 0) {
      if (last > lim) this.raise(vec, 0);
    } else {
      const top = (k & SC_BIG) !== 0 ? 0xffffffff : 0xffff;
      if (o <= lim || last > top) this.raise(vec, 0);
    }
    return (this.segBase[s] + o) | 0;
  }

  // ---- non-throwing accessors for the platform ---------------------------------------

  /** Reads a byte; on a fault returns 0 with {@link faulted} set (cr2, pfErrorCode). */
  tryRead8(linear: number, user = false): number {
    const m = this.translate(linear, K_READ, user ? 1 : 0);
    this.faulted = m < 0;
    return m < 0 ? 0 : this.u8[m];
  }

  /** Reads a word; see {@link tryRead8}. */
  tryRead16(linear: number, user = false): number {
    const lo = this.tryRead8(linear, user);
    if (this.faulted) return 0;
    const hi = this.tryRead8(linear + 1, user);
    return this.faulted ? 0 : lo | (hi << 8);
  }

  /** Reads a dword (int32); see {@link tryRead8}. */
  tryRead32(linear: number, user = false): number {
    const lo = this.tryRead16(linear, user);
    if (this.faulted) return 0;
    const hi = this.tryRead16(linear + 2, user);
    return this.faulted ? 0 : lo | (hi << 16);
  }

  /** Fetches an instruction byte (execute access); see {@link tryRead8}. */
  tryFetch8(linear: number, user = false): number {
    const m = this.translate(linear, K_FETCH, user ? 1 : 0);
    this.faulted = m < 0;
    return m < 0 ? 0 : this.u8[m];
  }

  /** Writes `len` bytes only when every byte is writable; sets {@link faulted}. */
  private tryWriteN(linear: number, v: number, len: number, user: boolean): void {
    const u = user ? 1 : 0;
    if (
      this.translate(linear, K_WRITE, u) < 0 || this.translate(linear + len - 1, K_WRITE, u) < 0
    ) {
      this.faulted = true;
      return;
    }
    this.faulted = false;
    for (let i = 0; i < len; i++) this.u8[this.translate(linear + i, K_WRITE, u)] = v >> (i * 8);
  }

  /** Writes a byte; on a fault nothing is written and {@link faulted} is set. */
  tryWrite8(linear: number, v: number, user = false): void {
    this.tryWriteN(linear, v, 1, user);
  }

  /** Writes a word; see {@link tryWrite8}. */
  tryWrite16(linear: number, v: number, user = false): void {
    this.tryWriteN(linear, v, 2, user);
  }

  /** Writes a dword; see {@link tryWrite8}. */
  tryWrite32(linear: number, v: number, user = false): void {
    this.tryWriteN(linear, v, 4, user);
  }
}
