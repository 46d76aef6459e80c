/**
 * Random 64-bit programs, compiled and interpreted: loops of random instructions (the
 * forms the block compiler takes, at 8/32/64 bits with REX, memory operands through base,
 * SIB, RIP-relative and FS addresses, and forms it refuses, so regions end anywhere),
 * forward branches, calls, pushes and pops, in a paged sandbox at 0xffff8000_00400000
 * with holes, an NX page, a read-only page, a supervisor page, writable code pages in
 * half the programs (stores into the running code), code starting near a page end, CPL
 * 0 or 3. Each program runs on two identical machines, one with the compiler at hot
 * threshold 1, in the same random slices (so `end` falls inside regions); after every
 * slice registers, RIP, RFLAGS, retired count, CR2, memory and the exceptions reported
 * must be equal. 300 programs by default, 20,000 under PVX_FUZZ=full; PVX_JIT64_SEED=n
 * replays one.
 * @module
 */

import assert from "node:assert/strict";
import type { Cpu } from "../../../lib/cpu/mod.ts";
import { type Machine64, machine64Paged, PTE_RW, PTE_US, Tables64 } from "../long/sandbox64.ts";
import { setJit64, state64 } from "./diff64.ts";
import type { Jit64 } from "../../../lib/cpu/jit64/jit64.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const ONE = Deno.env.get("PVX_JIT64_SEED");
const PROGRAMS = FULL ? 20_000 : 300;

const HI = 0xffff8000 | 0;
const BASE = 0x00400000;
const FRAMES = 0x30, TABLES = 0x20, TABLE_FRAMES = 0x10;
/** [page index, frame, writable, user, nx] of the sandbox pages (3 and 8 are holes). */
const PAGES: [number, number, boolean, boolean, boolean][] = [
  [0, 0x10, false, true, false], // code (writable in half the programs)
  [1, 0x11, false, true, false],
  [2, 0x12, true, true, true], // NX data
  [4, 0x14, true, true, false],
  [5, 0x15, false, true, false], // read-only
  [6, 0x16, true, false, false], // supervisor
  [7, 0x17, true, true, false], // stack
  [9, 0x19, true, true, false],
];
/** GPRs the random instructions write; the pointer registers only serve as bases. */
const DATA = [0, 1, 2, 8, 9, 10, 11, 14];
const PTR = [3, 5, 6, 7, 12, 13];

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = Math.imul(seed + 1, 0x9e3779b1) ^ 0x2545f491 || 1;
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
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)];
  }
}

/** An instruction under construction: prefix bytes, REX bits, body bytes. */
interface Enc {
  pre: number[];
  rex: number;
  forceRex: boolean;
  body: number[];
  /** Index into body of a rel32 to fix up to the code offset `to`, and the target. */
  fix?: { at: number; to: number };
  /** A RIP-relative disp32 at body index `at` to aim at linear page offset `page`. */
  rip?: { at: number; target: number };
}

/** A ModRM operand with reg field `reg` (0..15): register, or memory in the sandbox. */
function modrm(r: Rng, e: Enc, reg: number, memOnly = false): void {
  if (reg >= 8) e.rex |= 4;
  const k = r.below(40);
  const regf = (reg & 7) << 3;
  if (!memOnly && k < 20) {
    const rm = r.pick(DATA);
    if (rm >= 8) e.rex |= 1;
    e.body.push(0xc0 | regf | (rm & 7));
    return;
  }
  if (k < 34) {
    const base = r.pick(PTR);
    if (base >= 8) e.rex |= 1;
    if (r.below(3) === 0) {
      // base + index * scale + disp8
      const idx = r.pick([14, 1, 2]);
      if (idx >= 8) e.rex |= 2;
      e.body.push(0x44 | regf, (r.below(4) << 6) | ((idx & 7) << 3) | (base & 7), r.below(256));
    } else if ((base & 7) === 4) e.body.push(0x44 | regf, 0x24, r.below(256));
    else e.body.push(0x40 | regf | (base & 7), r.below(256));
    return;
  }
  if (k < 37) {
    // RIP-relative into a data, read-only, NX or code page
    e.body.push(0x05 | regf);
    e.rip = {
      at: e.body.length,
      target: (r.below(8) === 0 ? r.pick([5, 0, 3]) : r.pick([2, 4, 9])) * 4096 + r.below(4096),
    };
    e.body.push(0, 0, 0, 0);
    return;
  }
  if (k < 39) {
    // fs:[disp32] (FS base is page 4) or a large displacement from a pointer
    if (r.below(2) === 0) {
      e.pre.push(0x64);
      e.body.push(0x04 | regf, 0x25);
      const d = r.below(8) !== 0 ? r.below(4096 + 64) : r.u32();
      e.body.push(d & 255, (d >>> 8) & 255, (d >>> 16) & 255, d >>> 24);
    } else {
      const base = r.pick(PTR);
      if (base >= 8) e.rex |= 1;
      if ((base & 7) === 4) e.body.push(0x84 | regf, 0x24);
      else e.body.push(0x80 | regf | (base & 7));
      const d = r.below(4) === 0 ? r.u32() : r.below(1024) - 512;
      e.body.push(d & 255, (d >>> 8) & 255, (d >>> 16) & 255, d >>> 24);
    }
    return;
  }
  // rsp-based (stack page)
  e.body.push(0x44 | regf, 0x24, r.below(64) * 8 - 256);
}

function imm(e: Enc, r: Rng, n: number): void {
  for (let i = 0; i < n; i++) e.body.push(r.below(4) === 0 ? 0xff : r.below(256));
}

/** One random instruction (no control transfer). */
function insn(r: Rng): Enc {
  const e: Enc = { pre: [], rex: r.below(2) === 0 ? 8 : 0, forceRex: r.below(3) === 0, body: [] };
  const reg = r.pick(DATA);
  switch (r.below(24)) {
    case 0:
    case 1:
    case 2: {
      const form = r.below(6);
      e.body.push(r.below(8) * 8 + form);
      if (form < 4) modrm(r, e, reg);
      else imm(e, r, form === 4 ? 1 : 4);
      break;
    }
    case 3:
    case 4: {
      const op = r.pick([0x80, 0x81, 0x83]);
      e.body.push(op);
      modrm(r, e, r.below(8));
      imm(e, r, op === 0x81 ? 4 : 1);
      break;
    }
    case 5:
      e.body.push(r.pick([0x84, 0x85, 0x87]));
      modrm(r, e, reg);
      break;
    case 6:
    case 7:
      e.body.push(r.pick([0x88, 0x89, 0x8a, 0x8b]));
      modrm(r, e, reg);
      break;
    case 8:
      e.body.push(0x8d);
      modrm(r, e, reg, true);
      break;
    case 9:
      if (r.below(2) === 0) {
        e.body.push(0x63);
        e.rex |= 8;
      } else e.body.push(0x0f, r.pick([0xb6, 0xb7, 0xbe, 0xbf]));
      modrm(r, e, reg);
      break;
    case 10: {
      const op = r.pick([0xc6, 0xc7]);
      e.body.push(op);
      modrm(r, e, 0);
      imm(e, r, op === 0xc6 ? 1 : 4);
      break;
    }
    case 11: {
      const b = 0xb0 + r.below(16);
      if (reg >= 8) e.rex |= 1;
      e.body.push((b & ~7) | (reg & 7));
      imm(e, r, b < 0xb8 ? 1 : (e.rex & 8) !== 0 ? 8 : 4);
      break;
    }
    case 12:
    case 13: {
      const op = r.pick([0xc0, 0xc1, 0xd0, 0xd1, 0xd3]);
      e.body.push(op);
      modrm(r, e, r.pick([4, 5, 7, 4, 5, 7, 0, 1]));
      if (op < 0xd0) e.body.push(r.pick([0, 1, 4, 31, 32, 33, 63, r.below(256)]));
      break;
    }
    case 14: {
      const op = r.pick([0xf6, 0xf7]);
      const sub = r.pick([0, 2, 3, 4, 5]);
      e.body.push(op);
      modrm(r, e, sub);
      if (sub === 0) imm(e, r, op === 0xf6 ? 1 : 4);
      break;
    }
    case 15:
      e.body.push(r.pick([0xfe, 0xff]));
      modrm(r, e, r.below(2));
      break;
    case 16:
      e.body.push(0x0f, (r.below(2) === 0 ? 0x40 : 0x90) + r.below(16));
      modrm(r, e, reg);
      break;
    case 17:
      e.body.push(r.pick([0x98, 0x99, 0x90, 0xf5, 0xf8, 0xf9]));
      break;
    case 18:
      e.body.push(0x0f, 0x1f);
      modrm(r, e, 0);
      break;
    case 19:
    case 20: {
      if (reg >= 8) e.rex |= 1;
      e.rex &= ~8;
      e.body.push((r.below(2) === 0 ? 0x50 : 0x58) | (reg & 7));
      break;
    }
    case 21:
      if (r.below(2) === 0) {
        e.body.push(0x6a);
        imm(e, r, 1);
      } else {
        e.body.push(0x68);
        imm(e, r, 4);
      }
      break;
    case 22: // imul, and forms the compiler refuses
      if (r.below(2) === 0) {
        const op = r.pick([0x69, 0x6b]);
        e.body.push(op);
        modrm(r, e, reg);
        imm(e, r, op === 0x69 ? 4 : 1);
      } else {
        e.body.push(0x0f, r.pick([0xaf, 0xaf, 0xa3, 0xbc]));
        modrm(r, e, reg);
      }
      break;
    default:
      e.body.push(0xff);
      modrm(r, e, 6); // push r/m
      e.rex &= ~8;
  }
  return e;
}

function bytesOf(e: Enc): number[] {
  const rex = e.rex !== 0 || e.forceRex ? [0x40 | e.rex] : [];
  return [...e.pre, ...rex, ...e.body];
}

/** Where the last program's loop tail is (a fault resumes there). */
let tailAt = 0;

/** Assembles a program at code page offset `start`; returns its bytes. */
function program(r: Rng, start: number): number[] {
  const out: number[] = [];
  const fix32 = (at: number, to: number) => {
    const d = to - (at + 4);
    for (let i = 0; i < 4; i++) out[at + i] = (d >> (i * 8)) & 255;
  };
  const fixRip: { at: number; end: number; target: number }[] = [];
  const put = (e: Enc) => {
    const b = bytesOf(e);
    const at = out.length;
    out.push(...b);
    if (e.rip) {
      fixRip.push({ at: at + b.length - e.body.length + e.rip.at, end: 0, target: e.rip.target });
    }
    const last = fixRip[fixRip.length - 1];
    if (last && last.end === 0) last.end = out.length;
  };
  const n = 4 + r.below(28);
  const pending: { at: number; to: number }[] = [];
  const starts: number[] = [];
  const callAt: number[] = [];
  for (let j = 0; j < n; j++) {
    starts.push(out.length);
    const k = r.below(14);
    if (k === 0) {
      out.push(0x0f, 0x80 + r.below(16), 0, 0, 0, 0); // forward jcc to a later instruction
      pending.push({ at: out.length - 4, to: j + 1 + r.below(n - j) });
    } else if (k === 1) {
      out.push(0xe8, 0, 0, 0, 0);
      callAt.push(out.length - 4);
    } else put(insn(r));
  }
  starts.push(out.length);
  const loopTail = out.length;
  tailAt = start + loopTail;
  out.push(0x41, 0xff, 0xcf, 0x0f, 0x85, 0, 0, 0, 0); // dec r15d; jnz body
  fix32(out.length - 4, 0);
  out.push(0xf4); // hlt
  const sub = out.length;
  for (let j = r.below(5); j > 0; j--) put(insn(r));
  if (r.below(3) === 0) {
    // an indirect jump back to the loop tail
    out.push(0x48, 0x8d, 0x05, 0, 0, 0, 0); // lea rax, [rip + tail]
    fix32(out.length - 4, loopTail);
    out.push(0xff, 0xe0); // jmp rax
  } else out.push(0xc3);
  for (const p of pending) fix32(p.at, starts[Math.min(p.to, starts.length - 1)]);
  for (const a of callAt) fix32(a, sub);
  for (const f of fixRip) {
    // disp32 = target - end of instruction (both as code-page-relative offsets)
    const d = f.target - (start + f.end);
    for (let i = 0; i < 4; i++) out[f.at + i] = (d >> (i * 8)) & 255;
  }
  return out;
}

function sandbox(): Machine64 {
  return machine64Paged(FRAMES, TABLES, TABLE_FRAMES);
}

/** Loads program `seed` into `m` (memory, tables, TLB and registers reset). */
function load(m: Machine64, seed: number): void {
  const r = new Rng(seed);
  const { cpu, mem } = m;
  mem.u8.fill(0);
  mem.noteWrite(0, mem.u8.length);
  const tables = new Tables64(mem, TABLES, TABLE_FRAMES);
  const codeRw = (seed & 1) === 1;
  for (const [k, frame, rw, user, nx] of PAGES) {
    const w = rw || (k < 2 && codeRw);
    tables.map(BASE + k * 4096, HI, frame, (w ? PTE_RW : 0) | (user ? PTE_US : 0), nx);
  }
  m.walker.cr3 = tables.cr3;
  cpu.flushTlb();
  for (const [, frame] of PAGES) {
    for (let i = 0; i < 4096; i++) mem.u8[frame * 4096 + i] = r.below(4) === 0 ? r.u32() : 0;
  }
  const start = r.below(3) === 0 ? 4096 - 40 - r.below(80) : r.below(64);
  const code = program(r, start);
  mem.u8.set(code.slice(0, 0x2000 - start), 0x10000 + start);
  for (let i = 0; i < 16; i++) {
    let lo = r.below(2) === 0 ? r.u32() | 0 : r.below(64) - 8,
      hi = r.below(3) === 0 ? r.u32() | 0 : 0;
    if (PTR.includes(i)) {
      const page = r.below(10) === 0 ? r.pick([5, 6, 0, 3]) : r.pick([2, 4, 9, 7]);
      lo = (BASE + page * 4096 + 256 + r.below(3584)) | 0;
      hi = r.below(60) === 0 ? 0x12345 : HI;
    }
    if (i === 14) [lo, hi] = [r.below(16), 0];
    if (i === 15) [lo, hi] = [1 + r.below(40), 0];
    if (i === 4) [lo, hi] = [(BASE + 7 * 4096 + 2048 + r.below(64) * 8) | 0, HI];
    if (i < 8) cpu.regs[i] = lo;
    else cpu.lm.rlo[i - 8] = lo;
    cpu.lm.hi[i] = hi;
  }
  cpu.lm.msr.fill(0);
  cpu.lm.msr[8] = BASE + 4 * 4096; // FS base
  cpu.lm.msr[9] = HI;
  cpu.eip = BASE + start;
  cpu.lm.ripHi = HI;
  cpu.setEflags(0x2 | (r.u32() & 0x8d5));
  cpu.setCpl(r.below(3) === 0 ? 3 : 0);
  cpu.cr2 = 0;
  cpu.lm.cr2Hi = 0;
  cpu.halted = false;
  cpu.retired = 0;
  m.platform.exceptions.length = 0;
  // A fault resumes at the loop tail with a sane stack, up to 12 times.
  const tail = tailAt;
  m.platform.onException = () => {
    if (m.platform.exceptions.length >= 12) return cpu.stop();
    cpu.eip = (BASE + tail) | 0;
    cpu.lm.ripHi = HI;
    cpu.regs[4] = (BASE + 7 * 4096 + 2048) | 0;
    cpu.lm.hi[4] = HI;
  };
}

const totals = { regions: 0, ran: 0, programs: 0, faults: 0 };

function runPair(a: Machine64, b: Machine64, seed: number): void {
  load(a, seed);
  load(b, seed);
  const j: Jit64 = setJit64(a.cpu, true, 1, ONE ? (n, src) => console.log(n, src) : undefined)!;
  setJit64(b.cpu, false);
  if (ONE) {
    const at = (a.cpu.eip & 4095) + 0x10000;
    Deno.writeFileSync("/tmp/jit64_seed.bin", a.mem.u8.slice(at, at + 400));
  }
  const r = new Rng(seed ^ 0x5a5a5a);
  const where = (s: string) => `seed ${seed} (PVX_JIT64_SEED=${seed}): ${s}`;
  for (let total = 0; total < 3000;) {
    const slice = r.pick([1, 2, 3, 5, 8, 13, 50, 200, 1000]);
    const na = a.cpu.run(slice), nb = b.cpu.run(slice);
    assert.deepEqual(state64(a.cpu), state64(b.cpu), where(`state after ${total} + ${slice}`));
    assert.equal(na, nb, where("retired"));
    assert.deepEqual(a.platform.exceptions, b.platform.exceptions, where("exceptions"));
    total += slice;
    if (a.cpu.halted || a.platform.exceptions.length >= 12 || na === 0) break;
  }
  totals.regions += j.stats.regions;
  totals.ran += j.stats.ran;
  totals.programs++;
  if (a.platform.exceptions.length > 0) totals.faults++;
}

/** The current state of a CPU, for debugging a failing seed. */
export function dump(cpu: Cpu): string {
  return JSON.stringify(state64(cpu));
}

Deno.test(`jit64: ${ONE ? `program ${ONE}` : `${PROGRAMS} random programs`} compiled = interpreted`, () => {
  const a = sandbox(), b = sandbox();
  if (ONE) runPair(a, b, Number(ONE));
  else for (let s = 0; s < PROGRAMS; s++) runPair(a, b, s);
  // The programs must exercise the compiler and fault sometimes.
  assert.ok(ONE || totals.ran > PROGRAMS * 10, JSON.stringify(totals));
  assert.ok(ONE || totals.faults > PROGRAMS / 20, JSON.stringify(totals));
  if (Deno.env.get("PVX_JIT64_STATS")) console.log(totals);
});
