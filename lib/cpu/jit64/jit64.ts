/**
 * The 64-bit block compiler's runtime (the `c.jit64` hook of lib/cpu/long/run64.ts):
 * counts how often loop heads are reached per (machine frame, offset), compiles hot ones
 * (region.ts + codegen.ts, `new Function`) and runs them, chaining from region to region
 * while compiled code exists at RIP.
 *
 * Keys and checks: a region is found through the current fetch translation of RIP (the
 * TLB's fetch table at the current CPL: present, executable, user-accessible at CPL 3;
 * a miss leaves the instruction to the interpreter, whose fetch fills it or faults), then
 * by machine frame and page offset. Regions of a frame are valid while the CPU's decoded
 * cache keeps the frame's index array (`c.dcache.pages[mfn]`): compiling marks the frame
 * as code, so any write to it (guest store, hypervisor, another vcpu) drops that array
 * and with it the regions, before they can run again.
 * @module
 */
import type { CpuCore } from "../core.ts";
import { cpusOver } from "../core.ts";
import { K_WRITE } from "../tlb.ts";
import { PARITY } from "../flags.ts";
import { makeFlagsOf } from "./flags_gen.ts";
import { V } from "../long/mem64.ts";
import { generate } from "./codegen.ts";
import { discover } from "./region.ts";
import { gp, IM, imul64, rd, shiftFlags, wr } from "./runtime.ts";

/** A compiled region: runs from RIP; returns the instructions it retired (0: none). */
export type RegionFn = (c: CpuCore, end: number) => number;

/** Loop heads reached this often get compiled. */
export const HOT64 = 64;
/** Total generated source kept before everything is dropped (characters). */
export const SOURCE_BUDGET64 = 32 << 20;
/** A region is judged on its first PROBE_RUNS64 runs: on average at least MIN_RUN64 each. */
export const PROBE_RUNS64 = 256, MIN_RUN64 = 1;

const NONE: RegionFn = () => 0;
const flagsOf = makeFlagsOf(PARITY);
const HIT_SLOTS = 1 << 16;

interface Entry {
  fn: RegionFn;
  calls: number;
  insns: number;
}

/** The regions compiled from one machine frame, valid while `arr` is its decoded index. */
interface Page {
  arr: Int32Array;
  /** Per page offset: its compiled entry. */
  entries: (Entry | undefined)[];
}

/** Counters of a {@link Jit64}. */
export interface Jit64Stats {
  /** Regions compiled, and guest instructions in them. */
  regions: number;
  insns: number;
  /** Generated source characters held now. */
  sourceChars: number;
  /** Times the whole cache was dropped for the budget. */
  flushes: number;
  /** Entries whose first instruction is not compiled. */
  refused: number;
  /** Region runs that retired instructions, and the instructions they retired. */
  runs: number;
  ran: number;
  /** Regions retired because their runs were too short to pay for their entry. */
  retired: number;
}

type Factory = (...args: unknown[]) => RegionFn;

/** Options of the 64-bit block compiler. */
export interface Jit64Options {
  /** Receives each generated region's source (debugging). */
  dump?: (name: string, source: string) => void;
}

/** The 64-bit block compiler of one CPU. */
export class Jit64 {
  readonly stats: Jit64Stats = {
    regions: 0,
    insns: 0,
    sourceChars: 0,
    flushes: 0,
    refused: 0,
    runs: 0,
    ran: 0,
    retired: 0,
  };
  /** Per machine frame: its compiled regions (sparse). */
  private pages: (Page | undefined)[] = [];
  private readonly hits = new Uint16Array(HIT_SLOTS);
  private readonly dump: ((name: string, source: string) => void) | undefined;

  /**
   * @param hot loop heads reached this often get compiled (1: at once, for tests)
   * @param opts see {@link Jit64Options}
   */
  constructor(private readonly hot: number = HOT64, opts: Jit64Options = {}) {
    this.dump = opts.dump;
  }

  /**
   * Runs compiled regions from RIP while there are some (compiling hot entries).
   * @returns instructions retired (0: nothing compiled here, interpret)
   */
  run(c: CpuCore, end: number): number {
    let total = 0;
    for (;;) {
      const lo = c.eip, hi = c.lm.ripHi;
      const m = c.tlb64.lookup(c.cpl === 3 ? 5 : 4, lo, hi);
      if (m < 0) break;
      const mfn = m >>> 12, off = lo & 4095;
      const p = this.pages[mfn];
      let e = p !== undefined && p.arr === c.dcache.pages[mfn] ? p.entries[off] : undefined;
      if (e === undefined) {
        const h = (Math.imul(mfn, 0x9e3779b1) ^ off) & (HIT_SLOTS - 1);
        if (++this.hits[h] < this.hot) break;
        this.hits[h] = 0;
        e = this.compile(c, mfn, off);
      }
      const before = c.retired;
      let ran = 0;
      try {
        ran = e.fn(c, end);
      } catch (x) {
        // a fault: the instructions before it retired (stats only; the loop reports it)
        if (c.retired !== before) this.account(e, c.retired - before);
        throw x;
      }
      if (ran === 0) break;
      this.account(e, ran);
      total += ran;
      if (c.retired >= end || c.stopRequested) break;
    }
    return total;
  }

  private account(e: Entry, ran: number): void {
    this.stats.runs++;
    this.stats.ran += ran;
    if (e.calls >= PROBE_RUNS64) return;
    e.calls++;
    e.insns += ran;
    if (e.calls === PROBE_RUNS64 && e.insns < MIN_RUN64 * PROBE_RUNS64) {
      e.fn = NONE;
      this.stats.retired++;
    }
  }

  /** Forgets every compiled region. */
  flush(): void {
    this.pages = [];
    this.stats.sourceChars = 0;
  }

  /** Marks frame `mfn` as code (write entries of every CPU over the memory dropped). */
  private codeArray(c: CpuCore, mfn: number): Int32Array {
    const becomes = c.mem.codeFrame[mfn] === 0;
    const arr = c.dcache.page(mfn);
    if (becomes) {
      for (const p of cpusOver(c.mem)) {
        p.tlb.flushKind(K_WRITE);
        if (!p.tlb64.empty) p.tlb64.flushKind(1);
      }
    }
    return arr;
  }

  private compile(c: CpuCore, mfn: number, off: number): Entry {
    const arr = this.codeArray(c, mfn);
    let p = this.pages[mfn];
    if (p === undefined || p.arr !== arr) {
      p = { arr, entries: new Array(4096) };
      this.pages[mfn] = p;
    }
    const e: Entry = { fn: NONE, calls: 0, insns: 0 };
    p.entries[off] = e;
    const blocks = discover(c.u8, mfn * 4096, off);
    if (blocks.length === 0) {
      this.stats.refused++;
      return e;
    }
    const r = generate(blocks);
    if (this.stats.sourceChars + r.body.length > SOURCE_BUDGET64) {
      this.flush();
      this.stats.flushes++;
      this.pages[mfn] = p;
    }
    const factory = new Function(
      "IDX",
      "CNT",
      "OFF",
      "POS",
      "MFN",
      "ARR",
      "V",
      "PARITY",
      "rd",
      "wr",
      "gp",
      "shiftFlags",
      "flagsOf",
      "imul64",
      "IM",
      `"use strict"; return function region64(c, end) {\n${r.body}\n};`,
    ) as Factory;
    this.stats.regions++;
    this.stats.insns += r.insns;
    this.stats.sourceChars += r.body.length;
    this.dump?.(`region64_${this.stats.regions}_${mfn.toString(16)}_${off}.js`, r.body);
    e.fn = factory(
      r.idx,
      r.cnt,
      r.off,
      r.pos,
      mfn,
      arr,
      V,
      PARITY,
      rd,
      wr,
      gp,
      shiftFlags,
      flagsOf,
      imul64,
      IM,
    );
    return e;
  }
}
