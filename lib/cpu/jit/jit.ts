/**
 * The block compiler's runtime: counts how often the run loop reaches each code offset,
 * compiles hot entries into JavaScript functions (region.ts + codegen.ts, `new Function`),
 * keeps them per decoded code page (so they go when the page's decoded records go: a write
 * to the code frame, a TLB-independent physical key) and runs them from the run loop's hook.
 * The cache is bounded by a source-size budget; past it every compiled region is dropped.
 *
 * Switch it off with `cpu.jit = null` (the Cpu constructor's `jit: false`; `pvx boot
 * --no-jit` or `PVX_JIT=0`). {@link JitOptions.dump} receives each generated region's source
 * (`PVX_JIT_DUMP=DIR` writes them there). The environment is read by the toolstack
 * (lib/toolstack/jit_env.ts), never here: this package uses no host API.
 * @module
 */
import type { CpuCore as Cpu } from "../core.ts";
import { decodeBlock } from "../decode/fast_decode.ts";
import { instructionLength } from "../decode/length.ts";
import { getCF, testCC } from "../flags.ts";
import { alu } from "../ops/alu.ts";
import { imul2 } from "../ops/muldiv.ts";
import { shift } from "../ops/shift.ts";
import { generate } from "./codegen.ts";
import { formAt } from "./forms.ts";
import { carriedCF, flushPending } from "./emitter.ts";
import { discover, type RecordSource } from "./region.ts";

/** A compiled region: runs from c.eip; returns the instructions it retired (0: none). */
export type RegionFn = (c: Cpu, end: number) => number;

/** Entries reached this often get compiled. */
export const HOT = 500;
/** A region is judged on its first PROBE_RUNS runs: on average at least MIN_RUN each. */
export const PROBE_RUNS = 256, MIN_RUN = 24;
/** Total generated source kept before everything is dropped (characters). */
export const SOURCE_BUDGET = 32 << 20;

const NONE: RegionFn = () => 0;

/** A compiled entry: its region, and its first runs counted (up to PROBE_RUNS). */
interface Entry {
  fn: RegionFn;
  calls: number;
  insns: number;
}

/** The compiled entries of one code page (memory grows with the regions, not the pages). */
interface JitPage {
  /** The decoded cache's index array of the page when these were made. */
  arr: Int32Array;
  entries: Map<number, Entry>;
}

/** Loop-head hit counters: one direct-mapped table (collisions only make entries hotter). */
const HIT_SLOTS = 1 << 16;

/** Counters of a {@link Jit}. */
export interface JitStats {
  /** Regions compiled. */
  regions: number;
  /** Guest instructions compiled (summed over regions). */
  insns: number;
  /** Generated source characters held now. */
  sourceChars: number;
  /** Times the whole cache was dropped for the budget. */
  flushes: number;
  /** Entries whose first instruction cannot be compiled. */
  refused: number;
  /** Region runs that retired instructions, and the instructions they retired. */
  runs: number;
  ran: number;
  /** Regions retired because their runs were too short to pay for their entry. */
  retired: number;
}

type Factory = (
  IDX: Int16Array,
  OFF: Int32Array,
  POS: Int32Array,
  testCC: unknown,
  getCF: unknown,
  alu: unknown,
  shift: unknown,
  imul2: unknown,
  flushPending: unknown,
  carriedCF: unknown,
) => RegionFn;

/**
 * The length of a no-op at machine address `m` (at most `room` bytes on its page): operand
 * size and CS prefixes before 90 (xchg ax, ax) or 0f 1f (nopw / nopl); else 0.
 */
export function nopLength(u8: Uint8Array, m: number, room: number): number {
  let p = 0;
  while (p < 4 && (u8[m + p] === 0x66 || u8[m + p] === 0x2e)) p++;
  if (p === 0 && u8[m] !== 0x0f) return 0; // a plain 90 / 0f 1f has its own record
  if (u8[m + p] === 0x90) return p + 1 <= room ? p + 1 : 0;
  if (u8[m + p] !== 0x0f || u8[m + p + 1] !== 0x1f) return 0;
  const n = instructionLength(u8, m);
  return n > 0 && n <= room ? n : 0;
}

/** Options of a CPU's block compiler. */
export interface JitOptions {
  /**
   * Receives each generated region (debugging): a file name (`region_N_ENTRY.js`) and the
   * function body's JavaScript.
   */
  dump?: (name: string, source: string) => void;
}

/** The compiler of one CPU. */
export class Jit {
  readonly stats: JitStats = {
    regions: 0,
    insns: 0,
    sourceChars: 0,
    flushes: 0,
    refused: 0,
    runs: 0,
    ran: 0,
    retired: 0,
  };
  /** Per machine frame: its compiled regions, valid while `arr` is the page's index. */
  private pages: (JitPage | undefined)[] = [];
  private cur: JitPage | null = null;
  private readonly hits = new Uint16Array(HIT_SLOTS);

  private readonly dump: ((name: string, source: string) => void) | undefined;

  /**
   * @param hot entries reached this often get compiled (1: at once, for tests)
   * @param opts see {@link JitOptions}
   */
  constructor(private readonly hot: number = HOT, opts: JitOptions = {}) {
    this.dump = opts.dump;
  }

  /**
   * Runs the compiled region at c.eip (the current decoded code page), compiling it once
   * it is hot.
   * @returns instructions retired (0 when nothing ran: the caller interprets)
   */
  run(c: Cpu, end: number): number {
    const arr = c.cArr;
    let p = this.cur;
    const mfn = c.cBase >>> 12;
    if (p === null || p.arr !== arr) {
      // A page whose decoded records were dropped has a new index array: start afresh.
      let q = this.pages[mfn];
      if (q === undefined || q.arr !== arr) {
        q = { arr, entries: new Map() };
        this.pages[mfn] = q;
      }
      this.cur = p = q;
    }
    const o = c.eip & 4095;
    let e = p.entries.get(o);
    if (e === undefined) {
      const h = (Math.imul(mfn, 0x9e3779b1) ^ o) & (HIT_SLOTS - 1);
      if (++this.hits[h] < this.hot) return 0;
      this.hits[h] = 0;
      const fn = this.compile(c, o) ?? NONE;
      if (c.cPage === -1) return 0; // decoding dropped the page: start again
      e = { fn, calls: 0, insns: 0 };
      p.entries.set(o, e);
    }
    const ran = e.fn(c, end);
    if (ran !== 0) this.account(e, ran);
    return ran;
  }

  /**
   * Counts a region's run. A region whose runs stay short (it keeps leaving for code it
   * does not compile) costs more to enter than it saves: after PROBE_RUNS runs averaging
   * under MIN_RUN instructions it is retired and the interpreter runs that code.
   */
  private account(e: Entry, ran: number): void {
    this.stats.runs++;
    this.stats.ran += ran;
    if (e.calls >= PROBE_RUNS) return;
    e.calls++;
    e.insns += ran;
    if (e.calls === PROBE_RUNS && e.insns < MIN_RUN * PROBE_RUNS) {
      e.fn = NONE;
      this.stats.retired++;
    }
  }

  /** Forgets every compiled region. */
  flush(): void {
    this.pages = [];
    this.cur = null;
    this.stats.sourceChars = 0;
  }

  private compile(c: Cpu, entry: number): RegionFn | null {
    const dc = c.dcache;
    const arr = c.cArr;
    const src: RecordSource = {
      kind: dc.kind,
      len: dc.len,
      a: dc.a,
      b: dc.b,
      d: dc.d,
      i: dc.i,
      recAt: (off) => {
        if (c.cPage === -1) return 0;
        const r = arr[off];
        if (r !== 0) return r;
        const rec = decodeBlock(dc, arr, c.u8, c.dv, c.cBase, off);
        return c.cPage === -1 ? 0 : rec;
      },
      nopLen: (off) => nopLength(c.u8, c.cBase + off, 4096 - off),
      formAt: (off) => formAt(c.u8, c.cBase + off, 4096 - off),
    };
    const blocks = discover(src, entry);
    if (c.cPage === -1) return null;
    if (blocks.length === 0) {
      this.stats.refused++;
      return null;
    }
    const r = generate(src, blocks);
    if (this.stats.sourceChars + r.body.length > SOURCE_BUDGET) {
      this.flush();
      this.stats.flushes++;
    }
    const factory = new Function(
      "IDX",
      "OFF",
      "POS",
      "testCC",
      "getCF",
      "alu",
      "shift",
      "imul2",
      "flushPending",
      "carriedCF",
      `"use strict"; return function region(c, end) {\n${r.body}\n};`,
    ) as Factory;
    this.stats.regions++;
    this.stats.insns += r.insns;
    this.stats.sourceChars += r.body.length;
    this.dump?.(`region_${this.stats.regions}_${entry}.js`, r.body);
    return factory(r.idx, r.off, r.pos, testCC, getCF, alu, shift, imul2, flushPending, carriedCF);
  }
}
