/**
 * The 64-bit fast loop (lib/cpu/long/fast64.ts) against step64 alone, and the exactness
 * of its decoded-instruction cache:
 * - differential: random programs of the forms the fast loop decodes (random REX, ModRM,
 *   SIB, displacements, immediates; memory operands in a data area that includes the code
 *   itself, so stores rewrite code) and the crc_sort kernel of bench/cpu64 (flat and at
 *   0xffffffff80010000 through the 4-level walker) run with the fast loop on and off:
 *   registers, RIP, RFLAGS, memory and the exceptions reported must be equal (rdtsc
 *   among the forms: the platform's TSC is the retired count, kept exact for callbacks);
 * - invalidation: self-modifying code in the page being run, a code page remapped to
 *   another frame (invlpg), a code frame written from outside the CPU (`mem.write`), and
 *   one frame run as 64-bit code and as compatibility-mode code (bytes that decode
 *   differently in each).
 * @module
 */

import assert from "node:assert/strict";
import type { Cpu } from "../../../lib/cpu/mod.ts";
import { FAST64 } from "../../../lib/cpu/long/fast64.ts";
import { ATTR_L } from "../../../lib/cpu/long/long_state.ts";
import { type FlatMachine, hex, type RecordingPlatform } from "../../../lib/cpu/testing.ts";
import { machine64Flat, machine64Kernel, runFor } from "../../../bench/cpu64/machines.ts";
import { getReg, machine64 } from "./machine64.ts";
import { machine64Paged, PTE_RW } from "./sandbox64.ts";

const PROGRAMS = Deno.env.get("PVX_FUZZ") === "full" ? 5000 : 300;

/** The state compared between the two loops. */
function stateOf(cpu: Cpu, platform: RecordingPlatform): string {
  let h = 0;
  const u8 = cpu.mem.u8;
  for (let i = 0; i < u8.length; i++) h = (Math.imul(h, 31) + u8[i]) | 0;
  return JSON.stringify([
    [...cpu.regs],
    [...cpu.lm.rlo],
    [...cpu.lm.hi],
    cpu.eip,
    cpu.lm.ripHi,
    cpu.getEflags(),
    cpu.retired,
    h,
    platform.exceptions,
  ]);
}

class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = (seed * 0x9e3779b1 + 0x7f4a7c15) | 0;
  }
  u32(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x;
    return x >>> 0;
  }
  below(n: number): number {
    return this.u32() % n;
  }
}

/** Opcode templates: [bytes, immediate bytes, has ModRM]. */
const FORMS: [number[], number, boolean][] = [];
for (let op = 0; op < 8; op++) {
  for (let k = 0; k < 4; k++) FORMS.push([[op * 8 + k], 0, true]);
  FORMS.push([[op * 8 + 4], 1, false], [[op * 8 + 5], 4, false]);
}
for (let b = 0x50; b < 0x60; b++) FORMS.push([[b], 0, false]);
for (let b = 0x70; b < 0x80; b++) FORMS.push([[b], 1, false], [[0x0f, b + 0x10], 4, false]);
for (const b of [0x84, 0x85, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d]) FORMS.push([[b], 0, true]);
for (let b = 0x90; b < 0x9a; b++) FORMS.push([[b], 0, false]);
for (let b = 0xb8; b < 0xc0; b++) FORMS.push([[b], 4, false]);
for (let b = 0x40; b < 0x50; b++) FORMS.push([[0x0f, b], 0, true], [[0x0f, b + 0x50], 0, true]);
for (const b of [0xaf, 0xb6, 0xb7, 0xbe, 0xbf, 0x1f]) FORMS.push([[0x0f, b], 0, true]);
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
  [[0xc1], 1, true],
  [[0xd1], 0, true],
  [[0xd3], 0, true],
  [[0xc3], 0, false],
  [[0xc6], 1, true],
  [[0xc7], 4, true],
  [[0xe8], 4, false],
  [[0xeb], 1, false],
  [[0xf6], 1, true],
  [[0xf7], 4, true],
  [[0xff], 0, true],
  [[0x0f, 0x31], 0, false], // rdtsc: the platform reads the retired count
);

const CODE = 0x10000, CODE_END = 0x11000, DATA = 0x10000, DATA_SIZE = 0x8000;

/** Writes a random program; returns the instruction starts. */
function program(u8: Uint8Array, r: Rng): number[] {
  const starts: number[] = [];
  let p = CODE;
  while (p < CODE_END - 16) {
    starts.push(p);
    const [op, imm, hasModrm] = FORMS[r.below(FORMS.length)];
    const pfx = r.below(8);
    if (pfx === 0) u8[p++] = 0x66;
    else if (pfx === 1) u8[p++] = [0x64, 0x65, 0x2e, 0xf3][r.below(4)];
    if (r.below(2) === 0) u8[p++] = 0x40 | r.below(16);
    for (const b of op) u8[p++] = b;
    if (hasModrm) {
      let modrm = r.u32() & 0xff;
      // group 5: inc dec call jmp push (no far forms); jumps and calls through memory land
      // in random places, which is fine
      if (op[0] === 0xff && ((modrm >> 3) & 7) === 3) modrm ^= 0x08;
      if (op[0] === 0xff && ((modrm >> 3) & 7) === 5) modrm ^= 0x08;
      u8[p++] = modrm;
      const mod = modrm >> 6, rm = modrm & 7;
      if (mod !== 3 && rm === 4) u8[p++] = r.u32() & 0xff;
      if (mod === 1) u8[p++] = r.u32() & 0xff;
      else if (mod === 2 || (mod === 0 && rm === 5)) {
        // small displacements keep the accesses near the data area
        const d = (r.below(0x400) - 0x200) | 0;
        for (let i = 0; i < 4; i++) u8[p++] = (d >> (i * 8)) & 0xff;
      }
    }
    for (let i = 0; i < imm; i++) u8[p++] = r.u32() & 0xff;
    // relative branches: short hops
    if (op[0] === 0xe8) u8.set([r.below(64), 0, 0, 0], p - 4);
    if (op[0] === 0x0f && op[1] >= 0x80 && op[1] < 0x90) {
      u8.set([(r.below(128) - 64) & 0xff, 0xff * (r.below(2)), 0xff * (r.below(2)), 0], p - 4);
      u8[p - 3] = u8[p - 4] >= 0x80 ? 0xff : 0;
      u8[p - 2] = u8[p - 3];
      u8[p - 1] = u8[p - 3];
    }
  }
  return starts;
}

/** Runs one random program with the fast loop on or off; returns the final state. */
function runRandom(m: FlatMachine, seed: number, fast: boolean): string {
  // The machine is reused: memory rewritten from outside the CPU (noteWrite drops the
  // decoded code), state reset.
  m.mem.u8.fill(0);
  m.mem.noteWrite(0, m.mem.size);
  m.cpu.flushTlb();
  m.cpu.halted = false;
  m.cpu.retired = 0;
  m.cpu.setEflags(2);
  m.platform.exceptions.length = 0;
  const highs: number[] = [];
  m.platform.onException = () => {
    highs.push(m.cpu.lm.cr2Hi, m.cpu.lm.ripHi);
    m.cpu.stop();
  };
  const r = new Rng(seed);
  const starts = program(m.mem.u8, r);
  for (let i = 0; i < 16; i++) {
    // mostly pointers into the data area, some values with every bit pattern
    const wild = r.below(4) === 0;
    const v = wild ? r.u32() | 0 : DATA + r.below(DATA_SIZE / 8) * 8;
    if (i < 8) m.cpu.regs[i] = v;
    else m.cpu.lm.rlo[i - 8] = v;
    m.cpu.lm.hi[i] = wild ? [0, -1, r.u32() | 0][r.below(3)] : 0;
  }
  m.cpu.regs[4] = 0x30000;
  m.cpu.eip = starts[r.below(starts.length)];
  const saved = FAST64.enabled;
  FAST64.enabled = fast;
  try {
    for (let chunk = 0; chunk < 40; chunk++) {
      const before = m.platform.exceptions.length;
      m.cpu.run(50);
      if (m.platform.exceptions.length > before || m.cpu.halted) {
        m.cpu.halted = false;
        m.cpu.stopRequested = false;
        m.cpu.eip = starts[r.below(starts.length)];
        m.cpu.lm.ripHi = 0;
        m.cpu.segAttr[1] |= ATTR_L;
      }
    }
  } finally {
    FAST64.enabled = saved;
  }
  return stateOf(m.cpu, m.platform) + highs.join();
}

Deno.test(`fast64: ${PROGRAMS} random programs, fast loop against step64`, () => {
  const on = machine64(new Uint8Array(0), 64), off = machine64(new Uint8Array(0), 64);
  for (let seed = 1; seed <= PROGRAMS; seed++) {
    assert.equal(runRandom(on, seed, true), runRandom(off, seed, false), `seed ${seed}`);
  }
});

Deno.test("fast64: the crc_sort kernel flat and through the 4-level walker, on and off", () => {
  for (const make of [machine64Flat, machine64Kernel]) {
    const states: string[] = [];
    for (const fast of [true, false]) {
      FAST64.enabled = fast;
      try {
        const cpu = make();
        runFor(cpu, 1_500_000);
        states.push(stateOf(cpu, cpu.platform as RecordingPlatform));
      } finally {
        FAST64.enabled = true;
      }
    }
    assert.equal(states[0], states[1]);
  }
});

/**
 * as --64 -M intel:
 *   loop: mov eax, 1        ; b8 01 00 00 00  (offset 0: its immediate at 1)
 *         add rbx, rax      ; 48 01 c3
 *         mov byte ptr [rip - 14], 2  ; c6 05 f2 ff ff ff 02 (rewrites the immediate)
 *         dec ecx           ; ff c9
 *         jnz loop          ; 75 ed
 *         hlt               ; f4
 */
Deno.test("fast64: self-modifying code in the running page is seen at once", () => {
  const m = machine64(hex("b801000000" + "4801c3" + "c605f2ffffff02" + "ffc9" + "75ed" + "f4"));
  m.cpu.regs[1] = 3;
  m.cpu.run(100);
  // 1 on the first pass, 2 on the next two
  assert.equal(getReg(m.cpu, 3), 5n);
  assert.equal(m.cpu.eip, 0x1000 + 20);
});

Deno.test("fast64: a code frame written from outside the CPU drops its records", () => {
  const m = machine64(hex("b807000000" + "f4"));
  m.cpu.run(10);
  assert.equal(m.cpu.regs[0], 7);
  m.mem.write(0x1001, new Uint8Array([9]));
  m.cpu.halted = false;
  m.cpu.eip = 0x1000;
  m.cpu.run(10);
  assert.equal(m.cpu.regs[0], 9);
});

Deno.test("fast64: a code page remapped to another frame runs the new frame's code", () => {
  const m = machine64Paged(64, 0x20, 0x10);
  m.mem.write(0x5000, hex("b805000000f4")); // mov eax, 5; hlt
  m.mem.write(0x6000, hex("b806000000f4")); // mov eax, 6; hlt
  const LO = 0x400000, HI = 0xffff8000 | 0;
  m.tables.map(LO, HI, 5, PTE_RW);
  m.cpu.eip = LO;
  m.cpu.lm.ripHi = HI;
  m.cpu.run(10);
  assert.equal(m.cpu.regs[0], 5);
  m.tables.map(LO, HI, 6, PTE_RW);
  m.cpu.flushTlb();
  m.cpu.halted = false;
  m.cpu.eip = LO;
  m.cpu.run(10);
  assert.equal(m.cpu.regs[0], 6);
});

/**
 * One frame as 64-bit and as compatibility-mode code: 48 05 01 00 00 00 is
 * `add rax, 1` in 64-bit mode and `dec eax; add eax, 1` in 32-bit code; f4 = hlt.
 */
Deno.test("fast64: one frame run as 64-bit code and as compatibility-mode code", () => {
  const m = machine64(hex("480501000000f4"));
  const run = (long: boolean): number => {
    if (long) m.cpu.segAttr[1] |= ATTR_L;
    else m.cpu.segAttr[1] &= ~ATTR_L;
    m.cpu.halted = false;
    m.cpu.eip = 0x1000;
    m.cpu.regs[0] = 10;
    m.cpu.lm.hi[0] = 0;
    m.cpu.run(10);
    return m.cpu.regs[0];
  };
  for (let i = 0; i < 3; i++) {
    assert.equal(run(true), 11, "64-bit: add rax, 1");
    assert.equal(run(false), 10, "compatibility mode: dec eax; add eax, 1");
  }
});
