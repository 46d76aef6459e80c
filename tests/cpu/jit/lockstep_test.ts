/**
 * Lockstep differential tests of the block compiler against the interpreter: the same
 * random program on two CPUs (one compiling every entry at once, one interpreting), run in
 * the same random instruction budgets; after every run() the registers, EIP, EFLAGS, the
 * retired count, the data page and the exceptions must be identical. Covers forward
 * branches, loops, calls, self-modifying stores into the running code, and a faulting load
 * at every position of the loop body. `PVX_FUZZ=full` runs many more programs.
 * @module
 */
import assert from "node:assert/strict";
import { type FlatMachine, flatMachine } from "../../../lib/cpu/testing.ts";
import { Jit } from "../../../lib/cpu/jit/jit.ts";
import { CODE, DATA, type ProgramOptions, randomProgram, Rng, SUB } from "./_programs.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";

/** Data segments with base 0 and a limit below 4 GiB, like Xen's ring-1 flat segments. */
const LIMIT = 0xf57fffff;

function machine(
  code: Uint8Array,
  sub: Uint8Array,
  jit: boolean,
  seed: number,
  limited: boolean,
): FlatMachine {
  const m = flatMachine(code, CODE, 64);
  if (limited) {
    for (const s of [0, 2, 3]) m.cpu.setSegmentRaw(s, 0x10, 0, LIMIT, 0xc093);
    m.cpu.setSegmentRaw(1, 0x08, 0, LIMIT, 0xc09b);
  }
  m.mem.write(SUB, sub);
  const data = new Uint8Array(4096);
  const r = new Rng(seed ^ 0x5a5a5a5a);
  for (let i = 0; i < data.length; i++) data[i] = r.int(256);
  m.mem.write(DATA, data);
  const init = new Rng(seed ^ 0x12345);
  for (const reg of [0, 1, 2, 6, 7]) m.cpu.regs[reg] = init.next() | 0;
  // Arithmetic flags set or clear, sometimes DF set (string forms step down).
  m.cpu.setEflags([0x8d5, 0x2, 0xcd5][init.int(3)]);
  m.cpu.jit = jit ? new Jit(1) : null;
  return m;
}

function state(m: FlatMachine): string {
  const c = m.cpu;
  const regs = Array.from(c.regs, (v) => (v >>> 0).toString(16)).join(" ");
  const data = m.mem.u8.subarray(DATA, DATA + 256);
  let h = 0;
  for (const b of data) h = (Math.imul(h, 31) + b) | 0;
  const exc = m.platform.exceptions.map((e) =>
    `${e.vector}/${e.errorCode}@${e.eip.toString(16)} cr2=${(e.cr2 >>> 0).toString(16)}`
  ).join(",");
  return `eip=${c.eip.toString(16)} n=${c.retired} fl=${c.getEflags().toString(16)} ` +
    `regs=${regs} data=${h} halted=${c.halted} exc=[${exc}]`;
}

/** Runs one program in lockstep; returns the instructions run compiled and the faults seen. */
function lockstep(seed: number, o: ProgramOptions): { ran: number; faults: number } {
  const r = new Rng(seed);
  const { code, sub } = randomProgram(r, o);
  return lockstepCode(code, sub, seed, o, (o.bad ?? 0) > LIMIT);
}

/** Runs `code` (and `sub`) on both CPUs in the same random budgets, comparing as it goes. */
function lockstepCode(
  code: Uint8Array,
  sub: Uint8Array,
  seed: number,
  o: unknown,
  limited: boolean,
): { ran: number; faults: number } {
  const a = machine(code, sub, true, seed, limited), b = machine(code, sub, false, seed, limited);
  const budgets = new Rng(seed ^ 0x777);
  for (let step = 0; step < 400; step++) {
    const n = 1 + budgets.int(step % 3 === 0 ? 200 : 12);
    a.cpu.run(n);
    b.cpu.run(n);
    const sa = state(a), sb = state(b);
    if (sa !== sb) {
      assert.fail(
        `seed ${seed} ${JSON.stringify(o)} step ${step}:\n jit: ${sa}\n int: ${sb}\n` +
          `code: ${Array.from(code, (x) => x.toString(16).padStart(2, "0")).join(" ")}`,
      );
    }
    if (a.cpu.halted || a.platform.exceptions.length > 0) break;
  }
  return { ran: a.cpu.jit!.stats.ran, faults: a.platform.exceptions.length };
}

Deno.test("jit: flags carried from block to block (lazy, shift, imul, inc) match", () => {
  // Each producer's flags cross a jmp into a block that reads them with adc / setcc / pushf.
  const producers = [
    [0xc1, 0xe0, 0x05], // shl eax, 5
    [0xc1, 0xe8, 0x03], // shr eax, 3
    [0xc1, 0xf8, 0x1f], // sar eax, 31
    [0xd3, 0xc0], // rol eax, cl
    [0x6b, 0xc0, 0x7f], // imul eax, eax, 127
    [0x01, 0xd8], // add eax, ebx
    [0x29, 0xd8], // sub eax, ebx
    [0x40], // inc eax
    [0x48], // dec eax
  ];
  const readers = [
    [0x11, 0xc1], // adc ecx, eax
    [0x0f, 0x92, 0xc1], // setb cl
    [0x0f, 0x9a, 0xc1], // setp cl
    [0x0f, 0x9c, 0xc1], // setl cl
    [0x9c, 0x59], // pushf; pop ecx
  ];
  let ran = 0;
  for (const [i, p] of producers.entries()) {
    for (const [j, rd] of readers.entries()) {
      for (const v of FULL ? [0x80000001, 0x7fffffff, 1, 0, -1, 0x12345678] : [0x80000001, 0]) {
        const code = [
          0xb8,
          v & 255,
          (v >>> 8) & 255,
          (v >>> 16) & 255,
          (v >>> 24) & 255, // mov eax, v
          0xbb,
          0x01,
          0x00,
          0x00,
          0x80, // mov ebx, 0x80000001
          0xb9,
          0x03,
          0x00,
          0x00,
          0x00, // mov ecx, 3
          ...p,
          0xeb,
          0x00, // jmp +0 (a new block)
          ...rd,
          0xf4, // hlt
        ];
        const o = { p, rd, v };
        ran += lockstepCode(Uint8Array.from(code), new Uint8Array([0xc3]), i * 100 + j, o, false)
          .ran;
      }
    }
  }
  assert.ok(ran > 0);
});

Deno.test("jit: random programs run in lockstep with the interpreter", () => {
  const count = FULL ? 3000 : 150;
  let ran = 0;
  for (let seed = 1; seed <= count; seed++) {
    ran += lockstep(seed, { len: 4 + (seed % 24), loops: 1 + (seed % 7), faultAt: -1, smc: false })
      .ran;
  }
  assert.ok(ran > count * 10, `only ${ran} instructions ran compiled`);
});

Deno.test("jit: self-modifying stores into the running code, in lockstep", () => {
  const count = FULL ? 1500 : 80;
  let ran = 0;
  for (let seed = 1; seed <= count; seed++) {
    ran += lockstep(seed * 7919, {
      len: 4 + (seed % 16),
      loops: 2 + (seed % 5),
      faultAt: -1,
      smc: true,
    }).ran;
  }
  assert.ok(ran > 0, "nothing ran compiled");
});

Deno.test("jit: a fault at every position of a block leaves the interpreter's state", () => {
  const programs = FULL ? 200 : 12;
  let runs = 0, faulted = 0;
  for (let p = 0; p < programs; p++) {
    const len = 6 + (p % 10);
    for (let at = 0; at < len; at++) {
      runs++;
      if (lockstep(100_000 + p * 97 + at, { len, loops: 2, faultAt: at, smc: false }).faults) {
        faulted++;
      }
    }
  }
  // A forward branch may skip the faulting load; most programs reach it.
  assert.ok(faulted > runs / 2, `only ${faulted} of ${runs} programs faulted`);
});

Deno.test("jit: a segment-limit #GP at every position, with Xen-like limited segments", () => {
  const programs = FULL ? 100 : 6;
  let runs = 0, faulted = 0;
  for (let p = 0; p < programs; p++) {
    const len = 6 + (p % 10);
    for (let at = 0; at < len; at++) {
      runs++;
      const o = { len, loops: 2, faultAt: at, smc: p % 2 === 0, bad: 0xf6000000 };
      if (lockstep(200_000 + p * 97 + at, o).faults) faulted++;
    }
  }
  assert.ok(faulted > runs / 2, `only ${faulted} of ${runs} programs faulted`);
});
