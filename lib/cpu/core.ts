/**
 * The CPU core: the memory path (memory_path.ts) plus segments, instruction fetch and the
 * decoded-code cache. The instruction set (lib/cpu/ops,
 * the interpreter, the fast loop) is written against this class; cpu.ts adds the run loop
 * and the segment loads on top, so nothing below it imports the loop.
 * @module
 */

import type { CpuBus } from "./fpu/bus.ts";
import { F_ARITH, F_IF, getEflagsOf, materialize, setEflagsOf } from "./flags.ts";
import type { PhysMemory } from "./phys_memory.ts";
import type { PageWalker, Platform } from "./platform.ts";
import { K_FETCH, K_READ, K_WRITE } from "./tlb.ts";
import { SC_WIDE, segChkFromAttrs } from "./seg_check.ts";
import { DecodedCache } from "./decoded_cache.ts";
import type { RegionRunner } from "./jit_hook.ts";
import { foldSegments, NO_FOLD } from "./seg_fold.ts";
import { CpuMemory, FAULT } from "./memory_path.ts";
import { DR6_DEFAULT, DR7_DEFAULT } from "./debug_hooks.ts";

export { FAULT };

/** Segment register numbers (encoding order). */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

/** Attribute word of a flat 32-bit ring-0 code segment (descriptor bits 40..55 >> 8). */
export const ATTR_CODE32 = 0xc09b;
/** Attribute word of a flat 32-bit ring-0 data segment. */
export const ATTR_DATA32 = 0xc093;

/** Faults in a row without a retired instruction after which run() returns. */
export const FAULT_LOOP_LIMIT = 10_000;

/** The CPUs sharing each machine memory (vcpus of one host). */
const cpusSharing = new WeakMap<PhysMemory, CpuCore[]>();

/** The CPUs over machine memory `mem` (whose write entries must not cover code frames). */
export function cpusOver(mem: PhysMemory): readonly CpuCore[] {
  return cpusSharing.get(mem) ?? [];
}

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
export class CpuCore extends CpuMemory implements CpuBus {
  /** The decoded-instruction cache. */
  readonly dcache: DecodedCache;
  /** The block compiler (lib/cpu/jit, installed by cpu.ts), or null to interpret only. */
  jit: RegionRunner<CpuCore> | null = null;
  /**
   * The block compiler for 64-bit code, or null to interpret only. lib/cpu/long/run64.ts
   * calls `run` at loop heads (after a backward transfer within the same RIP high half)
   * when neither TF nor the debug unit is armed. A region keeps RIP, RFLAGS and `retired`
   * exact: on a fault it leaves them as they were before the faulting instruction and
   * rethrows FAULT (c.excVector/excCode set); the run loop reports it.
   */
  jit64: RegionRunner<CpuCore> | null = null;

  /**
   * Creates a CPU in flat 32-bit protected mode at CPL 0.
   * @param mem machine memory (at most 2 GiB)
   * @param platform receives exceptions, int n, cpuid and rdtsc
   * @param walker linear -> machine translation; null = identity (paging off)
   */
  constructor(mem: PhysMemory, platform: Platform, walker: PageWalker | null) {
    super(mem, platform, walker);
    this.dcache = new DecodedCache(mem);
    // Every CPU over this memory drops its decoded code when a code frame is written.
    let peers = cpusSharing.get(mem);
    if (peers === undefined) {
      const list: CpuCore[] = [];
      peers = list;
      cpusSharing.set(mem, list);
      mem.onCodeWrite = (mfn) => {
        for (const c of list) c.dcache.dropPage(mfn);
      };
    }
    peers.push(this);
    this.dcache.onDrop = () => {
      this.cPage = -1;
    };
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

  /** Recomputes the folded data segments (seg_fold.ts) and drops stale data entries. */
  protected refold(): void {
    const b = foldSegments(this.segAttr, this.segBase, this.segLimit, this.segChk);
    if (b !== this.foldPage) {
      // Entries at or above the new boundary were cached while it was higher: drop them.
      if (b < NO_FOLD && this.dataFillMax >= b) {
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
    this.tlb64.flushAll();
    this.dataFillMax = -1;
    this.fPage = -1;
    this.cPage = -1;
  }

  /** Drops all cached translations including global ones. */
  flushTlbGlobal(): void {
    this.flushTlb();
  }

  /**
   * Drops the translations of one linear page. The 64-bit TLB is flushed whole: a 32-bit
   * linear address does not say which 4 GiB window of a 64-bit space it meant.
   */
  invlpg(linear: number): void {
    this.tlb.flushPage(linear);
    if (!this.tlb64.empty) this.tlb64.flushAll();
    this.fPage = -1;
    this.cPage = -1;
  }

  /** Drops the translations of the 64-bit linear page hi:lo (invlpg in 64-bit mode). */
  invlpg64(lo: number, hi: number): void {
    this.tlb64.flushPage(lo, hi);
    if (hi === 0) this.tlb.flushPage(lo);
    this.fPage = -1;
    this.cPage = -1;
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
      for (const c of cpusSharing.get(this.mem) ?? [this]) {
        c.tlb.flushKind(K_WRITE);
        if (!c.tlb64.empty) c.tlb64.flushKind(K_WRITE);
      }
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
