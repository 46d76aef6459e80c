/**
 * Random code in 64-bit mode: random bytes run one instruction at a time in a small
 * long-mode sandbox (4-level tables at 0xffff8000_00400000 and one page below 4 GiB,
 * read-only code, an NX data page after it, holes, a read-only page, a supervisor-only
 * page, CPL 0 or 3) with a recording platform. Checked after every instruction:
 * - nothing but the architectural faults (reported through Platform.exception) comes out
 *   of `run`: any JS exception fails with the program's seed and bytes;
 * - a fault (EXC_FAULT) leaves RIP at the faulting instruction and RSP, the other GPRs
 *   and RFLAGS as they were, retires nothing, and is one of the architectural vectors;
 * - a #PF's error code and CR2 (both halves) are what a fresh walk of that address
 *   answers for that access;
 * - frames not mapped writable at the CPL (code, read-only, supervisor-only at CPL 3,
 *   unmapped, memory outside the sandbox) never change, and the page tables change only
 *   in their accessed and dirty bits.
 * Each 8th program runs twice on a fresh sandbox: the final states must be equal.
 * 1,500 programs by default, 100,000 under PVX_FUZZ=full; PVX_FUZZ64_SEED=n replays one.
 * @module
 */

import assert from "node:assert/strict";
import { EXC_FAULT } from "../../../lib/cpu/mod.ts";
import type { Cpu } from "../../../lib/cpu/mod.ts";
import { longModeActive } from "../../../lib/cpu/long/long_state.ts";
import { type Machine64, machine64Paged, PTE_RW, PTE_US, Tables64 } from "./sandbox64.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const ONE = Deno.env.get("PVX_FUZZ64_SEED");
const PROGRAMS = FULL ? 100_000 : 1_500;
const STEPS = 48;

const HI = 0xffff8000 | 0;
const BASE = 0x00400000;
const FRAMES = 0x30;
const TABLES = 0x20, TABLE_FRAMES = 0x10;

/** The sandbox pages: linear BASE + k * 4 KiB at HI (and one at hi 0), their frames. */
const enum Kind {
  Code,
  Data,
  ReadOnly,
  Supervisor,
  Nx,
}
const PAGES: [k: number, frame: number, kind: Kind][] = [
  [0, 0x10, Kind.Code],
  [1, 0x11, Kind.Code],
  [2, 0x12, Kind.Nx],
  // 3: hole
  [4, 0x14, Kind.Data],
  [5, 0x15, Kind.ReadOnly],
  [6, 0x16, Kind.Supervisor],
  [7, 0x17, Kind.Data], // the stack
  // 8: hole
  [9, 0x19, Kind.Data],
];
/** The page below 4 GiB (hi 0): linear 0x1000 -> frame 0x1a. */
const LOW_PAGE = 0x1000, LOW_FRAME = 0x1a;
const FAULT_VECTORS = new Set([0, 5, 6, 7, 12, 13, 14, 16, 17, 19]);

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = Math.imul(seed, 0x9e3779b1) ^ 0x5bd1e995 || 1;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  below(n: number): number {
    return this.u32() % n;
  }
}

/** A fresh sandbox (a CPU costs some milliseconds to build: programs reuse it, see reset). */
function sandbox(): Machine64 {
  const m = machine64Paged(FRAMES, TABLES, TABLE_FRAMES);
  mapPages(m);
  return m;
}

function mapPages(m: Machine64): void {
  for (const [k, frame, kind] of PAGES) {
    const flags = kind === Kind.Code || kind === Kind.ReadOnly
      ? PTE_US
      : kind === Kind.Supervisor
      ? PTE_RW
      : PTE_RW | PTE_US;
    m.tables.map(BASE + k * 0x1000, HI, frame, flags, kind === Kind.Nx);
  }
  m.tables.map(LOW_PAGE, 0, LOW_FRAME, PTE_RW | PTE_US, true);
}

/** A fresh CPU whose state {@link reset} copies. */
let template: Cpu | null = null;

/**
 * Puts a used sandbox back to its fresh state: memory, tables, TLB, and the CPU state
 * random code can reach (control, debug and descriptor-table registers, MSRs, x87, SSE,
 * segments, the retired count rdtsc reads).
 */
function reset(m: Machine64): Machine64 {
  const cpu = m.cpu;
  const t = template ??= sandbox().cpu;
  m.mem.u8.fill(0);
  m.mem.noteWrite(0, m.mem.u8.length); // drops decoded and compiled code (fast64, jit64)
  const tables = new Tables64(m.mem, TABLES, TABLE_FRAMES);
  const fresh = { ...m, tables };
  mapPages(fresh);
  m.walker.cr3 = tables.cr3;
  cpu.lm.walker = m.walker;
  cpu.flushTlb();
  cpu.efer = t.efer;
  cpu.cr0 = t.cr0;
  cpu.cr3 = t.cr3;
  cpu.cr4 = t.cr4;
  cpu.dr.set(t.dr);
  cpu.dbgArmed = t.dbgArmed;
  cpu.gdtBase = t.gdtBase;
  cpu.gdtLimit = t.gdtLimit;
  cpu.idtBase = t.idtBase;
  cpu.idtLimit = t.idtLimit;
  cpu.ldtSel = t.ldtSel;
  cpu.ldtBase = t.ldtBase;
  cpu.ldtLimit = t.ldtLimit;
  cpu.trSel = t.trSel;
  cpu.trBase = t.trBase;
  cpu.trLimit = t.trLimit;
  cpu.msrs.clear();
  cpu.x87.init();
  cpu.x87.regs.fill(0);
  cpu.sse.reset();
  for (let s = 0; s < 6; s++) {
    cpu.setSegmentRaw(s, t.segSel[s], t.segBase[s], t.segLimit[s], t.segAttr[s]);
  }
  cpu.lm.msr.fill(0);
  cpu.cr2 = 0;
  cpu.lm.cr2Hi = 0;
  cpu.halted = false;
  cpu.retired = 0;
  m.platform.exceptions.length = 0;
  return fresh;
}

/**
 * Instruction templates for the structured half of the programs: [opcode bytes, immediate
 * bytes, ModRM]. The slice step64.ts decodes today, plus forms the other helpers are adding
 * (strings, bit tests, cmpxchg/xadd, pushf/popf, enter, moffs, shld/shrd, system).
 */
const FORMS: [number[], number, boolean][] = [];
for (let op = 0; op < 8; op++) {
  for (let k = 0; k < 4; k++) FORMS.push([[op * 8 + k], 0, true]);
  FORMS.push([[op * 8 + 4], 1, false], [[op * 8 + 5], 4, false]);
}
for (let b = 0x50; b < 0x60; b++) FORMS.push([[b], 0, false]);
for (let b = 0x70; b < 0x80; b++) FORMS.push([[b], 1, false], [[0x0f, b + 0x10], 4, false]);
for (let b = 0x84; b < 0x8e; b++) if (b !== 0x8c) FORMS.push([[b], 0, true]);
for (let b = 0x90; b < 0x9a; b++) FORMS.push([[b], 0, false]);
for (let b = 0xb0; b < 0xc0; b++) FORMS.push([[b], b < 0xb8 ? 1 : 4, false]);
for (let b = 0x40; b < 0x50; b++) FORMS.push([[0x0f, b], 0, true], [[0x0f, b + 0x50], 0, true]);
FORMS.push(
  [[0x63], 0, true],
  [[0x68], 4, false],
  [[0x6a], 1, false],
  [[0x69], 4, true],
  [[0x6b], 1, true],
  [[0x80], 1, true],
  [[0x81], 4, true],
  [[0x83], 1, true],
  [[0xa8], 1, false],
  [[0xa9], 4, false],
  [[0xc0], 1, true],
  [[0xc1], 1, true],
  [[0xd0], 0, true],
  [[0xd1], 0, true],
  [[0xd2], 0, true],
  [[0xd3], 0, true],
  [[0xc2], 2, false],
  [[0xc3], 0, false],
  [[0xc9], 0, false],
  [[0xc6], 1, true],
  [[0xc7], 4, true],
  [[0xe8], 4, false],
  [[0xe9], 4, false],
  [[0xeb], 1, false],
  [[0xf6], 1, true],
  [[0xf7], 4, true],
  [[0xfe], 0, true],
  [[0xff], 0, true],
  [[0x0f, 0x1f], 0, true],
  [[0x0f, 0xaf], 0, true],
  [[0x0f, 0xb6], 0, true],
  [[0x0f, 0xb7], 0, true],
  [[0x0f, 0xbe], 0, true],
  [[0x0f, 0xbf], 0, true],
  // Being added this session (strings, bits, atomics, flags, system).
  [[0xa4], 0, false],
  [[0xa5], 0, false],
  [[0xaa], 0, false],
  [[0xab], 0, false],
  [[0xac], 0, false],
  [[0xa6], 0, false],
  [[0xae], 0, false],
  [[0xa0], 8, false],
  [[0xa3], 8, false],
  [[0x9c], 0, false],
  [[0x9d], 0, false],
  [[0x9e], 0, false],
  [[0x9f], 0, false],
  [[0xc8], 3, false],
  [[0xcc], 0, false],
  [[0xcd], 1, false],
  [[0x0f, 0xa3], 0, true],
  [[0x0f, 0xab], 0, true],
  [[0x0f, 0xba], 1, true],
  [[0x0f, 0xbc], 0, true],
  [[0x0f, 0xbd], 0, true],
  [[0x0f, 0xa4], 1, true],
  [[0x0f, 0xad], 0, true],
  [[0x0f, 0xb1], 0, true],
  [[0x0f, 0xc1], 0, true],
  [[0x0f, 0xc7], 0, true],
  [[0x0f, 0x05], 0, false],
  [[0x0f, 0xa2], 0, false],
  [[0x0f, 0x31], 0, false],
  [[0x0f, 0x01], 0, true],
);
const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x64, 0x65, 0x2e];

/**
 * Writes structured instructions (prefixes, REX, opcode, ModRM/SIB/disp, imm) at `at`;
 * pushes the offsets where they start to `starts`.
 */
function structured(u8: Uint8Array, at: number, end: number, r: Rng, starts: number[]): void {
  let p = at;
  const put = (b: number) => {
    if (p < end) u8[p++] = b;
  };
  while (p < end) {
    starts.push(p);
    while (r.below(5) === 0) put(PREFIXES[r.below(PREFIXES.length)]);
    if (r.below(2) === 0) put(0x40 | r.below(16));
    const [ops, imm, hasModrm] = FORMS[r.below(FORMS.length)];
    for (const b of ops) put(b);
    if (hasModrm) {
      const modrm = r.u32() & 0xff;
      put(modrm);
      const mod = modrm >> 6, rm = modrm & 7;
      if (mod !== 3 && rm === 4) put(r.u32() & 0xff);
      const disp = mod === 1 ? 1 : mod === 2 || (mod === 0 && rm === 5) ? 4 : 0;
      // Small displacements mostly, so that memory operands stay near their base.
      for (let i = 0; i < disp; i++) put(i === 0 ? r.u32() & 0xff : r.below(8) === 0 ? 0xff : 0);
    }
    for (let i = 0; i < imm; i++) put(r.u32() & 0xff);
  }
}

/** A register value: mostly addresses in or near the sandbox, some small or random. */
function regValue(r: Rng): [number, number] {
  switch (r.below(8)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return [(BASE + r.below(10) * 0x1000 + r.below(4096)) | 0, HI];
    case 4:
      return [LOW_PAGE + r.below(4096), 0];
    case 5:
      return [r.below(64) - 8, r.below(2) === 0 ? 0 : -1];
    case 6:
      return [0, 0];
    default:
      return [r.u32() | 0, r.u32() | 0];
  }
}

/** Sets up one program from its seed in `m` (fresh or reset); returns its random source. */
function load(m: Machine64, seed: number, starts: number[]): Rng {
  const r = new Rng(seed);
  const u8 = m.mem.u8;
  // Random bytes in both code pages and in the data pages (jumps land in random code).
  // Half the programs are structured instructions in the code pages, half random bytes.
  const shaped = (seed & 1) === 0;
  for (const [, frame, kind] of PAGES) {
    if (kind === Kind.Code && shaped) structured(u8, frame * 4096, frame * 4096 + 4096, r, starts);
    else if (kind === Kind.Code || r.below(2) === 0) {
      for (let i = 0; i < 4096; i++) u8[frame * 4096 + i] = r.u32();
    }
  }
  const cpu = m.cpu;
  for (let i = 0; i < 16; i++) {
    const [lo, hi] = regValue(r);
    if (i < 8) cpu.regs[i] = lo;
    else cpu.lm.rlo[i - 8] = lo;
    cpu.lm.hi[i] = hi;
  }
  cpu.regs[4] = (BASE + 7 * 0x1000 + 0x800 + r.below(64) * 8) | 0;
  cpu.lm.hi[4] = HI;
  newRip(cpu, r, starts);
  cpu.setEflags(0x2 | (r.u32() & 0x8d5));
  if (r.below(2) === 0) cpu.setCpl(3);
  return r;
}

/**
 * RIP at an instruction start of a structured program or anywhere in random code, 1 in 4
 * times near the end of code page 1 (the next page is NX).
 */
function newRip(cpu: Cpu, r: Rng, starts: number[]): void {
  let off = r.below(4) === 0 ? 0x2000 - 1 - r.below(24) : r.below(0x2000);
  if (starts.length > 0 && off < 0x1fe8) off = starts[r.below(starts.length)] - 0x10000;
  cpu.eip = BASE + off;
  cpu.lm.ripHi = HI;
}

/** The frames that must not change at this CPL, as [frame, copy]. */
function protectedFrames(m: Machine64): [number, Uint8Array][] {
  const writable = new Set([0x12, 0x14, 0x17, 0x19, LOW_FRAME]);
  if (m.cpu.cpl !== 3) writable.add(0x16);
  const out: [number, Uint8Array][] = [];
  for (let f = 0; f < FRAMES; f++) {
    if (!writable.has(f)) out.push([f, m.mem.u8.slice(f * 4096, f * 4096 + 4096)]);
  }
  return out;
}

function gprs(cpu: Cpu): number[] {
  const v: number[] = [];
  for (let i = 0; i < 16; i++) v.push(i < 8 ? cpu.regs[i] : cpu.lm.rlo[i - 8], cpu.lm.hi[i]);
  return v;
}

const LEGACY = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3];

/** Whether `b` starts with a rep-prefixed string instruction (ins, outs, movs ... scas). */
function repString(b: Uint8Array): boolean {
  let i = 0, rep = false;
  for (; i < b.length; i++) {
    const x = b[i];
    if (x === 0xf2 || x === 0xf3) rep = true;
    else if (!LEGACY.includes(x) && (x & 0xf0) !== 0x40) break;
  }
  const op = b[i];
  return rep && ((op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op & 0xfc) === 0x6c);
}

function hexOf(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** Exceptions seen, by "kind:vector" (PVX_FUZZ64_STATS=1 prints them), and steps retired. */
const stats: Record<string, number> = {};

/** Faults that changed RFLAGS: "seed/step vector: bytes" (checked by the strict test). */
const flagFaults: string[] = [];

/** Runs program `seed` in `m`; returns a digest of its final state. */
function runProgram(m: Machine64, seed: number): string {
  const starts: number[] = [];
  const r = load(m, seed, starts);
  const { cpu, platform, walker } = m;
  const retired0 = cpu.retired;
  let code = new Uint8Array(0);
  const frozen = protectedFrames(m);
  const where = () => `seed ${seed} (bytes at RIP: ${hexOf(code)})`;
  for (let step = 0; step < STEPS; step++) {
    const o = cpu.eip - BASE;
    code = m.mem.u8.slice(0x10000 + o, 0x10000 + Math.min(o + 16, 0x2000));
    const rip = [cpu.eip, cpu.lm.ripHi], regs = gprs(cpu), fl = cpu.getEflags();
    const before = platform.exceptions.length, retired = cpu.retired;
    let n: number;
    try {
      n = cpu.run(1);
    } catch (e) {
      throw new Error(`JS exception at step ${step}, ${where()}: ${e}`, { cause: e });
    }
    if (platform.exceptions.length > before) {
      const x = platform.exceptions[before];
      const key = `${x.kind}:${x.vector}`;
      stats[key] = (stats[key] ?? 0) + 1;
      if (x.kind === EXC_FAULT) {
        const at = `vector ${x.vector} at step ${step}, ${where()}`;
        assert.ok(FAULT_VECTORS.has(x.vector), `not an architectural fault: ${at}`);
        assert.equal(n, 0, `a fault retired: ${at}`);
        assert.equal(cpu.retired, retired);
        assert.deepEqual([cpu.eip, cpu.lm.ripHi], rip, `RIP moved: ${at}`);
        // A rep string instruction keeps the iterations done before the fault (RCX, RSI,
        // RDI, and RAX for lods); nothing else may change.
        const after = gprs(cpu);
        if (repString(code)) { for (const r of [0, 1, 6, 7]) after[r * 2] = regs[r * 2]; }
        if (repString(code)) { for (const r of [0, 1, 6, 7]) after[r * 2 + 1] = regs[r * 2 + 1]; }
        assert.deepEqual(after, regs, `GPRs changed: ${at}`);
        if (cpu.getEflags() !== fl) flagFaults.push(`${seed}/${step} #${x.vector}: ${hexOf(code)}`);
        if (x.vector === 14) {
          const acc = x.errorCode & (2 | 4 | 16);
          assert.equal(walker.translate64(cpu.cr2, cpu.lm.cr2Hi, acc), -1, `#PF walks: ${at}`);
          assert.equal(walker.pfErrorCode, x.errorCode, `#PF error code: ${at}`);
        }
      }
      // As a handler would: go on elsewhere (the state the fault left is kept).
      newRip(cpu, r, starts);
      continue;
    }
    stats.retired = (stats.retired ?? 0) + n;
    if (cpu.halted || !longModeActive(cpu.efer, cpu.segAttr[1])) break;
    if (cpu.lm.walker !== walker || walker.cr3 !== m.tables.cr3) break;
  }
  for (const [f, copy] of frozen) {
    const now = m.mem.u8.subarray(f * 4096, f * 4096 + 4096);
    if (f >= TABLES && f < TABLES + TABLE_FRAMES) {
      for (let i = 0; i < 4096; i++) {
        if ((now[i] & ~0x60) !== (copy[i] & ~0x60) || (i & 7) !== 0 && now[i] !== copy[i]) {
          assert.fail(`page table frame ${f} changed beyond A/D at ${i}: ${where()}`);
        }
      }
    } else if (!copy.every((b, i) => b === now[i])) {
      assert.fail(`frame 0x${f.toString(16)} changed: ${where()}`);
    }
  }
  let h = 0;
  for (let i = 0; i < m.mem.u8.length; i++) h = (Math.imul(h, 31) + m.mem.u8[i]) | 0;
  return JSON.stringify([
    gprs(cpu),
    cpu.eip,
    cpu.lm.ripHi,
    cpu.getEflags(),
    cpu.cr2,
    cpu.lm.cr2Hi,
    platform.exceptions,
    cpu.retired - retired0,
    h,
  ]);
}

Deno.test(`fuzz64: ${ONE ? `program ${ONE}` : `${PROGRAMS} random programs`} in a long-mode sandbox`, () => {
  const seeds = ONE ? [Number(ONE)] : Array.from({ length: PROGRAMS }, (_, i) => i + 1);
  const m = sandbox();
  let faults = 0;
  for (const seed of seeds) {
    const d = runProgram(seed === seeds[0] ? m : reset(m), seed);
    if (d.includes('"kind":0')) faults++;
    // Each 16th again on a fresh CPU: determinism, and nothing left over by the reset.
    if (seed % 16 === 0) assert.equal(runProgram(sandbox(), seed), d, `not deterministic: ${seed}`);
  }
  // The sandbox is meant to fault often (holes, NX, read-only, CPL 3): make sure it did.
  assert.ok(ONE || faults > seeds.length / 4, `${faults} faults in ${seeds.length}`);
  if (Deno.env.get("PVX_FUZZ64_STATS")) console.log(JSON.stringify(stats));
  if (flagFaults.length > 0) {
    console.log(
      `fuzz64: ${flagFaults.length} faults changed RFLAGS, first: ` +
        flagFaults.slice(0, 5).join(", "),
    );
  }
});

Deno.test({
  name: "fuzz64: faults leave RFLAGS unchanged",
  fn() {
    assert.deepEqual(flagFaults, []);
  },
});
