/**
 * The CPU core: architectural state plus the TLB-backed memory path, instruction fetch,
 * faults and the non-throwing accessors the platform uses. The instruction set (lib/cpu/ops,
 * the interpreter, the fast loop) is written against this class; cpu.ts adds the run loop
 * and the segment loads on top, so nothing below it imports the loop.
 * @module
 */

import type { CpuBus } from "./fpu/bus.ts";
import { InputError } from "../errors.ts";
import { F_ARITH, F_IF, getEflagsOf, materialize, setEflagsOf } from "./flags.ts";
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
import {
  SC_BASE0,
  SC_BIG,
  SC_DOWN,
  SC_FLAT,
  SC_R,
  SC_VALID,
  SC_W,
  SC_WIDE,
  segChkFromAttrs,
} from "./seg_check.ts";
import { DecodedCache } from "./decoded_cache.ts";
import { CpuState } from "./cpu_state.ts";
import {
  ARM_DATA_BITS,
  type DebugHooks,
  DR6_DEFAULT,
  DR7_DEFAULT,
  NO_DEBUG,
} from "./debug_hooks.ts";

/** Segment register numbers (encoding order). */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

/** Attribute word of a flat 32-bit ring-0 code segment (descriptor bits 40..55 >> 8). */
export const ATTR_CODE32 = 0xc09b;
/** Attribute word of a flat 32-bit ring-0 data segment. */
export const ATTR_DATA32 = 0xc093;

/** Faults in a row without a retired instruction after which run() returns. */
export const FAULT_LOOP_LIMIT = 10_000;

/** The CPUs sharing each machine memory (vcpus of one host). */
const cpusOver = new WeakMap<PhysMemory, CpuCore[]>();

/** The sentinel thrown by a faulting access; {@link Cpu.excVector} holds the vector. */
export const FAULT: { readonly fault: true } = Object.freeze({ fault: true as const });

/**
 * The core of one x86 CPU (see {@link Cpu} in cpu.ts for the whole CPU). Starts in flat 32-bit protected mode at CPL 0 (all segments base 0, limit
 * 4 GiB), paging through `walker` (null = linear address is the machine address).
 *
 * @example
 * ```ts
 * const mem = new PhysMemory(256);
 * const cpu = new Cpu(mem, platform, null); // cpu.ts
 * mem.write(0x1000, new Uint8Array([0x40, 0xf4])); // inc eax; hlt
 * cpu.eip = 0x1000;
 * cpu.run(1);
 * ```
 */
export class CpuCore extends CpuState implements CpuBus {
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
  /** Current read/write/fetch tables (for the current privilege). */
  tRd: Int32Array;
  /** Write table for the current privilege. */
  tWr: Int32Array;
  /** Fetch table for the current privilege. */
  tEx: Int32Array;

  /** The decoded-instruction cache. */
  readonly dcache: DecodedCache;
  /** Breakpoints, watchpoints and single step (guest DRs and the debugger); see cpu.ts. */
  debug: DebugHooks = NO_DEBUG;
  /** First linear page of the folded data-segment limit (0x100000 = none; see refold). */
  foldPage = 0x100000;
  /** Highest linear page cached for data since the last full flush (-1 = none). */
  private dataFillMax = -1;

  /**
   * Creates a CPU in flat 32-bit protected mode at CPL 0.
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
    this.dcache = new DecodedCache(mem);
    // Every CPU over this memory drops its decoded code when a code frame is written.
    let peers = cpusOver.get(mem);
    if (peers === undefined) {
      const list: CpuCore[] = [];
      peers = list;
      cpusOver.set(mem, list);
      mem.onCodeWrite = (mfn) => {
        for (const c of list) c.dcache.dropPage(mfn);
      };
    }
    peers.push(this);
    this.dcache.onDrop = () => {
      this.cPage = -1;
    };
    this.tRd = this.tlb.tables[0];
    this.tWr = this.tlb.tables[2];
    this.tEx = this.tlb.tables[4];
    this.dr[6] = DR6_DEFAULT | 0;
    this.dr[7] = DR7_DEFAULT;
    this.setSegmentRaw(CS, 0x08, 0, -1, ATTR_CODE32);
    for (const s of [ES, SS, DS, FS, GS]) this.setSegmentRaw(s, 0x10, 0, -1, ATTR_DATA32);
  }

  // ---- flags -------------------------------------------------------------------------

  /** The architectural EFLAGS (lazy flags materialised). */
  getEflags(): number {
    return getEflagsOf(this);
  }

  /** Sets EFLAGS without privilege checks (bit 1 forced, reserved bits cleared). */
  setEflags(v: number): void {
    setEflagsOf(this, v);
  }

  /** Sets ZF/PF/CF from a compare and clears OF/SF/AF (fcomi, comiss...). */
  setFlagsFromCompare(zf: number, pf: number, cf: number): void {
    materialize(this);
    this.flags = (this.flags & ~F_ARITH) | (zf << 6) | (pf << 2) | cf;
  }

  /** Whether virtual interrupts are enabled (EFLAGS.IF). */
  get interruptsEnabled(): boolean {
    return (this.flags & F_IF) !== 0;
  }

  // ---- segments ----------------------------------------------------------------------

  /** The selector in segment register `sreg` (ES=0 CS SS DS FS GS). */
  sel(sreg: number): number {
    return this.segSel[sreg];
  }

  /**
   * Sets a segment register from raw values without checks (start of day, state restore).
   * Setting CS also sets CPL to the selector's RPL.
   * @param sreg ES=0 CS=1 SS=2 DS=3 FS=4 GS=5
   * @param selector the selector
   * @param base the base (u32)
   * @param limit the byte-granular limit (u32; -1 = 4 GiB)
   * @param attrs descriptor bits 40..55 >> 8 (type, S, DPL, P, AVL, L, D/B, G); 0 = unusable
   */
  setSegmentRaw(sreg: number, selector: number, base: number, limit: number, attrs: number): void {
    this.segSel[sreg] = selector & 0xffff;
    this.segBase[sreg] = base | 0;
    this.segLimit[sreg] = limit | 0;
    this.segAttr[sreg] = attrs;
    this.segChk[sreg] = segChkFromAttrs(attrs, base | 0, limit | 0);
    if (sreg === CS) {
      // Base 0 and 32-bit; the limit is checked per code page (Xen's ring-1 CS ends
      // below the hypervisor hole).
      this.cs32flat = (base | 0) === 0 && (attrs & 0x4000) !== 0 && this.segChk[CS] !== 0;
      this.setCpl(selector & 3);
    }
    this.refold();
    this.fPage = -1;
    this.cPage = -1;
  }

  /** Switches privilege level (selects the TLB tables); used by far transfers. */
  setCpl(cpl: number): void {
    this.cpl = cpl;
    const u = cpl === 3 ? 1 : 0;
    this.tRd = this.tlb.tables[K_READ * 2 + u];
    this.tWr = this.tlb.tables[K_WRITE * 2 + u];
    this.tEx = this.tlb.tables[K_FETCH * 2 + u];
    this.fPage = -1;
    this.cPage = -1;
  }

  /**
   * Folds the limit check of Xen-style PV data segments into the TLB. When every usable
   * data segment ends below one page-aligned boundary B and ES/DS/FS/GS that are base 0,
   * writable, expand-up and limited exactly at B get SC_FLAT (no per-access check), data
   * translations at or above B are never cached, so such an access reaches
   * {@link xlate}, which raises the #GP(0) the limit check would have. SS keeps its
   * check (a stack access beyond the limit is #SS, not #GP). PV guests never have the
   * hypervisor hole above B mapped, so nothing is lost by not caching it.
   */
  private refold(): void {
    const lim = this.segLimit, base = this.segBase, attr = this.segAttr, chk = this.segChk;
    let b = 0x100000;
    const dk = segChkFromAttrs(attr[DS], base[DS], lim[DS]);
    const foldable = (k: number, s: number) =>
      (k & (SC_VALID | SC_R | SC_W | SC_DOWN)) === (SC_VALID | SC_R | SC_W) && base[s] === 0 &&
      lim[s] !== -1 && (lim[s] & 4095) === 4095;
    if (foldable(dk, DS)) {
      b = ((lim[DS] >>> 0) + 1) / 4096;
      for (let s = 0; s < 6; s++) {
        if (s === CS) continue;
        const k = segChkFromAttrs(attr[s], base[s], lim[s]);
        if ((k & SC_VALID) === 0) continue;
        const top = (k & SC_DOWN) !== 0
          ? (base[s] >>> 0) + ((k & SC_BIG) !== 0 ? 0xffffffff : 0xffff)
          : (base[s] >>> 0) + (lim[s] >>> 0);
        if (top >= b * 4096) {
          b = 0x100000;
          break;
        }
      }
    }
    for (let s = 0; s < 6; s++) {
      if (s === CS) continue;
      const k = segChkFromAttrs(attr[s], base[s], lim[s]);
      const fold = b < 0x100000 && s !== SS && foldable(k, s) && (lim[s] >>> 0) + 1 === b * 4096;
      chk[s] = fold ? k | SC_FLAT : k;
    }
    if (b !== this.foldPage) {
      // Entries at or above the new boundary were cached while it was higher: drop them.
      if (b < 0x100000 && this.dataFillMax >= b) {
        this.tlb.flushKind(K_READ);
        this.tlb.flushKind(K_WRITE);
        this.dataFillMax = -1;
      }
      this.foldPage = b;
    }
  }

  // ---- TLB ---------------------------------------------------------------------------

  /** Drops all cached translations (CR3 load). */
  flushTlb(): void {
    this.tlb.flushAll();
    this.dataFillMax = -1;
    this.fPage = -1;
    this.cPage = -1;
  }

  /** Drops all cached translations including global ones. */
  flushTlbGlobal(): void {
    this.flushTlb();
  }

  /** Drops the translations of one linear page. */
  invlpg(linear: number): void {
    this.tlb.flushPage(linear);
    this.fPage = -1;
    this.cPage = -1;
  }

  // ---- faults ------------------------------------------------------------------------

  /** Raises an exception from inside an instruction; never returns. */
  raise(vector: number, errorCode: number): never {
    this.excVector = vector;
    this.excCode = errorCode;
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
  private xlate(lin: number, kind: number, len = 1): number {
    // A data access at or above the folded limit came through a folded segment (refold).
    if (kind !== K_FETCH && lin >>> 12 >= this.foldPage) this.raise(VEC_GP, 0);
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

  // ---- instruction fetch -------------------------------------------------------------

  /** Starts fetching the instruction at cs:eip. */
  beginFetch(): void {
    const lin = (this.segBase[CS] + this.eip) | 0;
    if (lin >>> 12 === this.fPage) {
      const p = this.fBase + (lin & 4095);
      this.fpos = p;
      this.fstart = p;
      const end = this.fBase + 4096;
      this.fend = p + 15 < end ? p + 15 : end;
      return;
    }
    this.fetchRefill(lin, 0);
  }

  /** Fetches the next instruction byte. */
  fb(): number {
    const p = this.fpos;
    if (p < this.fend) {
      this.fpos = p + 1;
      return this.u8[p];
    }
    const done = p - this.fstart;
    if (done >= 15) this.gp(0);
    this.fetchRefill((this.segBase[CS] + this.eip + done) | 0, done);
    return this.u8[this.fpos++];
  }

  /** Fetches a little-endian word. */
  fw(): number {
    const p = this.fpos;
    if (p + 2 <= this.fend) {
      this.fpos = p + 2;
      return this.u8[p] | (this.u8[p + 1] << 8);
    }
    return this.fb() | (this.fb() << 8);
  }

  /** Fetches a little-endian dword (int32). */
  fd(): number {
    const p = this.fpos;
    if (p + 4 <= this.fend) {
      this.fpos = p + 4;
      return this.dv.getInt32(p, true);
    }
    return this.fb() | (this.fb() << 8) | (this.fb() << 16) | (this.fb() << 24);
  }

  /** Bytes fetched so far for this instruction. */
  get ilen(): number {
    return this.fpos - this.fstart;
  }

  /** Refills the fetch window for the byte at `lin` (`done` bytes already fetched). */
  private fetchRefill(lin: number, done: number): void {
    // CS limit: the byte at eip+done must be inside the segment.
    const off = (this.eip + done) >>> 0;
    const flat = (this.segChk[CS] & SC_WIDE) !== 0;
    let limitLeft = 4096;
    if (!flat) {
      const lim = this.segLimit[CS] >>> 0;
      if (off > lim) this.gp(0);
      limitLeft = lim - off + 1;
    }
    const m = this.xlate(lin, K_FETCH);
    const o = lin & 4095;
    this.fBase = m - o;
    this.fPage = flat ? lin >>> 12 : -1;
    this.fpos = m;
    this.fstart = m - done;
    let end = this.fBase + 4096;
    if (m + limitLeft < end) end = m + limitLeft;
    if (this.fstart + 15 < end) end = this.fstart + 15;
    this.fend = end;
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

  // ---- running -----------------------------------------------------------------------

  /** Ends the current {@link run} after the current instruction or callback. */
  stop(): void {
    this.stopRequested = true;
  }

  /**
   * Makes the code page of `eip` (CS with base 0) current in the decoded cache; may raise
   * #PF.
   * @returns false when the page is not wholly inside the CS limit (run it interpreted)
   */
  codePage(eip: number): boolean {
    if ((eip | 4095) >>> 0 > this.segLimit[CS] >>> 0) return false;
    const m = this.xlate(eip, K_FETCH);
    const mfn = m >>> 12;
    const becomesCode = this.mem.codeFrame[mfn] === 0;
    this.cArr = this.dcache.page(mfn);
    // Write entries (of every CPU over this memory) must not cover code frames, so that
    // writes there take the slow path and drop the decoded code.
    if (becomesCode) {
      for (const c of cpusOver.get(this.mem) ?? [this]) c.tlb.flushKind(K_WRITE);
    }
    this.cPage = eip >>> 12;
    this.cBase = m - (eip & 4095);
    return true;
  }

  /**
   * Reports a trap or software interrupt with eip already at the next instruction.
   * @param kind EXC_TRAP / EXC_SOFTINT / EXC_INT3 / EXC_INTO
   */
  report(vector: number, errorCode: number, kind: number): void {
    this.platform.exception(vector, errorCode, kind);
  }
}
