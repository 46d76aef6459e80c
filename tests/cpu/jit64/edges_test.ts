/**
 * The 64-bit block compiler at its edges, each compared with the interpreter on a twin
 * machine (hot threshold 1): self-modifying code inside a compiled loop, a #PF in the
 * middle of a region (CR2, RIP, registers, RFLAGS and the retired count of the faulting
 * instruction), `end` falling at every instruction of a region, code on an NX page (never
 * run, even when compiled before the page became NX), and a second vcpu over the same
 * memory rewriting a compiled loop. Programs assembled with `as --64 -msyntax=intel`
 * (source in the comments; bytes committed).
 * @module
 */

import assert from "node:assert/strict";
import { hex } from "../../../lib/cpu/testing.ts";
import { Cpu } from "../../../lib/cpu/mod.ts";
import { RecordingPlatform } from "../../../lib/cpu/testing.ts";
import { ATTR_L, EFER_LMA, EFER_NXE } from "../../../lib/cpu/long/long_state.ts";
import { LongModeWalker } from "../../../lib/paging/mod.ts";
import { type Machine64, machine64Paged, PTE_RW, PTE_US } from "../long/sandbox64.ts";
import { setJit64, state64 } from "./diff64.ts";

const HI = 0xffff8000 | 0, BASE = 0x00400000;
const CODE = BASE, DATA = BASE + 0x4000, STACK = BASE + 0x8000;

/**
 * 00 lea rsi, [rip + patch + 1]
 * 07 loop1: patch: mov eax, 0x11111111
 * 0c add edx, eax
 * 0e inc dword ptr [rsi]       (the immediate of the mov above)
 * 10 dec ecx
 * 12 jnz loop1
 * 14 hlt
 */
const SMC = hex("488d3501000000b81111111101c2ff06ffc975f3f4");

/**
 * 00 xor eax, eax; 02 xor edi, edi
 * 04 loop2: cmp rdi, r9; 07 jae done
 * 09 mov rdx, [rbx + rdi*8]; 0d cmp rdx, -1; 11 je skip; 13 add rax, rdx
 * 16 skip: inc rdi; 19 jmp loop2
 * 1b done: hlt
 */
const SCAN = hex("31c031ff4c39cf7312488b14fb4883faff74034801d048ffc7ebe9f4");

/** A paged machine: code at CODE (writable), two data pages, a hole after them, a stack. */
function machine(code: Uint8Array, nx = false): Machine64 {
  const m = machine64Paged(0x40, 0x20, 0x10);
  m.tables.map(CODE, HI, 0x10, PTE_RW | PTE_US, nx);
  m.tables.map(DATA, HI, 0x14, PTE_RW | PTE_US, true);
  m.tables.map(DATA + 0x1000, HI, 0x15, PTE_RW | PTE_US, true);
  m.tables.map(STACK - 0x1000, HI, 0x17, PTE_RW | PTE_US, true);
  m.mem.write(0x10000, code);
  for (let i = 0; i < 1024; i++) m.mem.dv.setInt32(0x14000 + i * 8, i % 7 === 3 ? -1 : i * 3, true);
  for (let i = 0; i < 1024; i++) m.mem.dv.setInt32(0x14000 + i * 8 + 4, i % 7 === 3 ? -1 : 0, true);
  m.cpu.eip = CODE;
  m.cpu.lm.ripHi = HI;
  m.cpu.regs[4] = STACK - 64;
  m.cpu.lm.hi[4] = HI;
  return m;
}

/** Runs both machines in the same slices, comparing after each; returns the jit twin's stats. */
function compare(a: Machine64, b: Machine64, slices: number[]): void {
  setJit64(a.cpu, true);
  setJit64(b.cpu, false);
  for (const s of slices) {
    a.cpu.run(s);
    b.cpu.run(s);
    assert.deepEqual(state64(a.cpu), state64(b.cpu), `after a slice of ${s}`);
    assert.deepEqual(a.platform.exceptions, b.platform.exceptions);
  }
}

Deno.test("jit64: a compiled loop that patches its own immediate sees each new value", () => {
  const a = machine(SMC), b = machine(SMC);
  for (const m of [a, b]) m.cpu.regs[1] = 40;
  compare(a, b, [3, 5, 50, 1000]);
  assert.equal(a.cpu.halted, true);
  // edx = sum of 0x11111111 + k for k = 0..39
  assert.equal(a.cpu.regs[2] >>> 0, (40 * 0x11111111 + (39 * 40) / 2) >>> 0);
  assert.ok(a.cpu.jit64!.stats.regions >= 2, "the page was compiled again after the write");
});

Deno.test("jit64: a #PF in the middle of a region leaves the faulting instruction's state", () => {
  const a = machine(SCAN), b = machine(SCAN);
  for (const m of [a, b]) {
    m.cpu.regs[3] = DATA + 0x800; // rbx: 256 qwords before the hole at DATA + 0x2000
    m.cpu.lm.hi[3] = HI;
    m.cpu.lm.rlo[1] = 100_000; // r9
  }
  compare(a, b, [2, 9, 100, 10_000]);
  const x = a.platform.exceptions;
  assert.equal(x.length, 1);
  assert.equal(x[0].vector, 14);
  assert.equal(a.cpu.eip, CODE + 9, "RIP at the faulting load");
  assert.equal(a.cpu.cr2, DATA + 0x2000);
  assert.equal(a.cpu.lm.cr2Hi, HI);
  assert.equal(a.cpu.regs[7], 0x300, "rdi counts the qwords read");
  assert.ok(a.cpu.jit64!.stats.ran > 1000, JSON.stringify(a.cpu.jit64!.stats));
});

Deno.test("jit64: `end` at each instruction of a compiled loop", () => {
  for (let first = 1; first <= 24; first++) {
    const a = machine(SCAN), b = machine(SCAN);
    for (const m of [a, b]) {
      m.cpu.regs[3] = DATA;
      m.cpu.lm.hi[3] = HI;
      m.cpu.lm.rlo[1] = 50;
    }
    compare(a, b, [first, 1, 2, 3, 5, 7, 11, 13, 17, 1, 1, 1, 1000]);
    assert.equal(a.cpu.halted, true);
  }
});

Deno.test("jit64: code on an NX page is never run, compiled before or not", () => {
  const a = machine(SCAN, true), b = machine(SCAN, true);
  compare(a, b, [100]);
  assert.equal(a.platform.exceptions[0]?.vector, 14);
  assert.equal(a.platform.exceptions[0]?.errorCode, 0x11, "an instruction fetch, present");
  assert.equal(a.cpu.retired, 0);
  // Compiled first, then made NX: the region must not run again.
  const c = machine(SCAN), d = machine(SCAN);
  for (const m of [c, d]) {
    m.cpu.regs[3] = DATA;
    m.cpu.lm.hi[3] = HI;
    m.cpu.lm.rlo[1] = 1_000_000;
  }
  compare(c, d, [500]);
  assert.ok(c.cpu.jit64!.stats.ran > 100);
  for (const m of [c, d]) {
    m.tables.map(CODE, HI, 0x10, PTE_RW | PTE_US, true);
    m.cpu.flushTlb();
    m.cpu.run(500);
  }
  assert.deepEqual(state64(c.cpu), state64(d.cpu));
  assert.equal(c.platform.exceptions[0]?.vector, 14);
  assert.equal(c.platform.exceptions[0]?.errorCode, 0x11);
});

Deno.test("jit64: another vcpu rewriting a compiled loop drops it", () => {
  const m = machine(SCAN);
  const cpu = m.cpu;
  setJit64(cpu, true);
  cpu.regs[3] = DATA;
  cpu.lm.hi[3] = HI;
  cpu.lm.rlo[1] = 1_000_000;
  cpu.run(300);
  assert.ok(cpu.jit64!.stats.ran > 100);
  // A second CPU over the same memory stores "hlt" over "inc rdi" through its own path.
  const platform = new RecordingPlatform();
  const other = new Cpu(m.mem, platform, null);
  platform.cpu = other;
  other.efer |= EFER_LMA | EFER_NXE;
  other.segAttr[1] |= ATTR_L;
  const w = new LongModeWalker(m.mem);
  w.cr3 = m.tables.cr3;
  other.lm.walker = w;
  // mov byte ptr [rax], 0xf4; hlt  at 0x1000 (machine), rax = the linear code address
  m.tables.map(0x1000, 0, 0x18, PTE_RW, false);
  m.mem.write(0x18000, hex("c600f4f4"));
  other.eip = 0x1000;
  other.regs[0] = CODE + 0x16;
  other.lm.hi[0] = HI;
  other.run(10);
  assert.equal(m.mem.u8[0x10016], 0xf4);
  const before = cpu.retired;
  cpu.run(1000);
  assert.equal(cpu.halted, true, "the first CPU ran into the new hlt");
  assert.ok(cpu.retired - before < 20);
});
