/**
 * The faults and edge rules of the 64-bit integer ISA that the host harness cannot show
 * (host64_test.ts runs only non-faulting cases): rep movs/stos/cmps restarting after a #PF
 * mid-string (registers at the completed elements, RIP on the instruction, CR2), a rep cut
 * by the per-step budget, LOCK #UD, cmpxchg16b alignment, cmpxchg8b with a register
 * operand, #SS(0) against #GP(0) for non-canonical stack and memory addresses, the
 * opcodes invalid in 64-bit mode, tzcnt/lzcnt executing as bsf/bsr, popf's CPL/IOPL rules,
 * FS-relative string sources and pop with an RSP-based destination.
 * @module
 */

import assert from "node:assert/strict";
import { hex } from "../../../lib/cpu/testing.ts";
import type { LongWalker } from "../../../lib/cpu/long/long_state.ts";
import { ATTR_L, M_FS_BASE } from "../../../lib/cpu/long/long_state.ts";
import { getReg, getRip, machine64, setReg } from "./machine64.ts";

const VEC_UD = 6, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14;

/** Identity paging over the low 4 GiB for the pages in `mapped`; others #PF. */
class HoleWalker implements LongWalker {
  pfErrorCode = 0;
  lastFault = 0;
  readonly unmapped = new Set<number>();
  translate64(lo: number, hi: number, access: number): number {
    const top = hi >> 15;
    if (top !== 0 && top !== -1) {
      this.lastFault = 3;
      return -1;
    }
    if (hi !== 0 || this.unmapped.has(lo >>> 12)) {
      this.lastFault = 1;
      this.pfErrorCode = access;
      return -1;
    }
    return lo >>> 0;
  }
}

function run(code: string, regs: [number, bigint][] = [], steps = 100) {
  const m = machine64(hex(code + "f4"));
  for (const [r, v] of regs) setReg(m.cpu, r, v);
  m.cpu.run(steps);
  return m;
}

function fault(code: string, regs: [number, bigint][] = []): { vector: number; code: number } {
  const { platform, cpu } = run(code, regs);
  assert.equal(platform.exceptions.length, 1, code);
  assert.equal(getRip(cpu), 0x1000n, code + ": RIP on the instruction");
  return { vector: platform.exceptions[0].vector, code: platform.exceptions[0].errorCode };
}

Deno.test("long mode: rep movsq restarts after a #PF mid-string (forward, page at a time)", () => {
  const m = machine64(hex("f348a5f4"));
  const { cpu, mem, platform } = m;
  const w = new HoleWalker();
  w.unmapped.add(0x21);
  cpu.lm.walker = w;
  for (let i = 0; i < 4096; i++) mem.u8[0x10000 + i] = (i * 7 + 3) & 0xff;
  setReg(cpu, 6, 0x10000n);
  setReg(cpu, 7, 0x20800n);
  setReg(cpu, 1, 0x200n);
  cpu.run(10);
  assert.equal(platform.exceptions.length, 1);
  assert.equal(platform.exceptions[0].vector, VEC_PF);
  assert.equal(platform.exceptions[0].errorCode & 2, 2, "a write");
  assert.equal(cpu.cr2, 0x21000);
  assert.equal(getRip(cpu), 0x1000n);
  assert.equal(getReg(cpu, 1), 0x100n, "rcx counts the completed elements");
  assert.equal(getReg(cpu, 6), 0x10800n);
  assert.equal(getReg(cpu, 7), 0x21000n);
  assert.deepEqual(mem.u8.subarray(0x20800, 0x21000), mem.u8.subarray(0x10000, 0x10800));
  // The guest maps the page and returns: the instruction finishes where it stopped.
  w.unmapped.clear();
  platform.exceptions.length = 0;
  cpu.run(10);
  assert.deepEqual(platform.exceptions, []);
  assert.ok(cpu.halted);
  assert.equal(getReg(cpu, 1), 0n);
  assert.equal(getReg(cpu, 7), 0x21800n);
  assert.deepEqual(mem.u8.subarray(0x20800, 0x21800), mem.u8.subarray(0x10000, 0x11000));
});

Deno.test("long mode: std; rep movsb and repe cmpsd restart after a #PF on the source", () => {
  const m = machine64(hex("fdf3a4f4"));
  const { cpu, mem, platform } = m;
  const w = new HoleWalker();
  w.unmapped.add(0x2f);
  cpu.lm.walker = w;
  for (let i = 0; i < 0x40; i++) mem.u8[0x30000 + i] = i + 1;
  setReg(cpu, 6, 0x30010n); // copies 0x30010 down to 0x2fff1: faults on reading 0x2ffff
  setReg(cpu, 7, 0x40010n);
  setReg(cpu, 1, 0x20n);
  cpu.run(10);
  assert.equal(platform.exceptions[0]?.vector, VEC_PF);
  assert.equal(platform.exceptions[0].errorCode & 2, 0, "a read");
  assert.equal(cpu.cr2, 0x2ffff);
  assert.equal(getRip(cpu), 0x1001n, "on the rep movsb after std");
  assert.equal(getReg(cpu, 1), 0x20n - 0x11n);
  assert.equal(getReg(cpu, 6), 0x2ffffn);
  assert.equal(getReg(cpu, 7), 0x3ffffn);
  for (let i = 0; i <= 0x10; i++) assert.equal(mem.u8[0x40000 + i], i + 1);

  const c2 = machine64(hex("f3a7f4"));
  const w2 = new HoleWalker();
  w2.unmapped.add(0x51);
  c2.cpu.lm.walker = w2;
  c2.mem.u8.fill(0xab, 0x50000, 0x51000);
  c2.mem.u8.fill(0xab, 0x60000, 0x61100);
  setReg(c2.cpu, 6, 0x50ff8n);
  setReg(c2.cpu, 7, 0x60ff8n);
  setReg(c2.cpu, 1, 8n);
  c2.cpu.run(10);
  assert.equal(c2.platform.exceptions[0]?.vector, VEC_PF);
  assert.equal(c2.cpu.cr2, 0x51000);
  assert.equal(getReg(c2.cpu, 1), 6n, "two equal dwords compared before the fault");
});

Deno.test("long mode: a rep longer than the step budget leaves RIP on itself", () => {
  const { cpu, platform } = machine64(hex("f3acf4"), 512); // rep lodsb
  setReg(cpu, 6, 0x10000n);
  setReg(cpu, 1, 100_000n);
  cpu.run(1);
  assert.deepEqual(platform.exceptions, []);
  assert.equal(getRip(cpu), 0x1000n);
  const left = getReg(cpu, 1);
  assert.ok(left > 0n && left < 100_000n, `rcx ${left}`);
  assert.equal(getReg(cpu, 6), 0x10000n + 100_000n - left);
  cpu.run(10);
  assert.ok(cpu.halted);
  assert.equal(getReg(cpu, 1), 0n);
  assert.equal(getReg(cpu, 6), 0x10000n + 100_000n);
});

Deno.test("long mode: rep stosq over several pages, then the FS base on a string source", () => {
  const { cpu, mem, platform } = machine64(hex("f348abf4"));
  setReg(cpu, 0, 0x1122334455667788n);
  setReg(cpu, 7, 0x20008n);
  setReg(cpu, 1, 0x801n);
  cpu.run(10);
  assert.deepEqual(platform.exceptions, []);
  assert.equal(getReg(cpu, 7), 0x20008n + 0x801n * 8n);
  for (let a = 0x20008; a < 0x20008 + 0x801 * 8; a += 8) {
    assert.equal(mem.dv.getBigUint64(a, true), 0x1122334455667788n, a.toString(16));
  }
  assert.equal(mem.dv.getBigUint64(0x20000, true), 0n);
  assert.equal(mem.dv.getBigUint64(0x20008 + 0x801 * 8, true), 0n);

  const f = machine64(hex("64a4f4")); // movsb fs:[rsi] -> es:[rdi]
  f.cpu.lm.msr[M_FS_BASE * 2] = 0x30000;
  f.mem.u8[0x30005] = 0x5a;
  f.mem.u8[0x00005] = 0x11;
  setReg(f.cpu, 6, 5n);
  setReg(f.cpu, 7, 0x40000n);
  f.cpu.run(10);
  assert.equal(f.mem.u8[0x40000], 0x5a, "source through FS");
  assert.equal(f.mem.u8[0x70000], 0, "destination is ES (base 0)");
});

Deno.test("long mode: LOCK is #UD unless the form is lockable with a memory destination", () => {
  const rbx: [number, bigint][] = [[3, 0x2000n]];
  for (const code of ["f001c0", "f08b03", "f03803", "f0f7d0", "f00fc1c3", "f090", "f00fa303"]) {
    assert.equal(fault(code, rbx).vector, VEC_UD, code);
  }
  for (
    const code of [
      "f00103",
      "f0f713",
      "f0ff03",
      "f00fc103",
      "f00fb103",
      "f00fc70b",
      "f0860b",
      "f00fba2b05",
    ]
  ) {
    const { platform, cpu } = run(code, rbx);
    assert.deepEqual(platform.exceptions, [], code);
    assert.ok(cpu.halted, code);
  }
});

Deno.test("long mode: cmpxchg16b needs a 16-byte aligned m128; cmpxchg8b a memory operand", () => {
  assert.deepEqual(fault("480fc70b", [[3, 0x2008n]]), { vector: VEC_GP, code: 0 });
  assert.equal(fault("0fc7c8").vector, VEC_UD);
  const { cpu, platform } = run("480fc70b", [[3, 0x2010n], [0, 5n], [2, 6n], [1, 7n]]);
  assert.deepEqual(platform.exceptions, []);
  assert.equal(getReg(cpu, 0), 0n, "unequal: rdx:rax loaded from memory");
  assert.equal(getReg(cpu, 2), 0n);
  assert.equal(cpu.getEflags() & 0x40, 0);
});

Deno.test("long mode: non-canonical stack addresses raise #SS(0), other memory #GP(0)", () => {
  const bad = 0x0000800000000000n;
  assert.deepEqual(fault("50", [[4, bad + 8n]]), { vector: VEC_SS, code: 0 }); // push rax
  assert.deepEqual(fault("58", [[4, bad]]), { vector: VEC_SS, code: 0 }); // pop rax
  assert.deepEqual(fault("c3", [[4, bad]]), { vector: VEC_SS, code: 0 }); // ret
  assert.deepEqual(fault("c9", [[5, bad]]), { vector: VEC_SS, code: 0 }); // leave
  assert.deepEqual(fault("488b4500", [[5, bad]]), { vector: VEC_SS, code: 0 }); // [rbp]
  assert.deepEqual(fault("488b0424", [[4, bad]]), { vector: VEC_SS, code: 0 }); // [rsp]
  assert.deepEqual(fault("368b03", [[3, bad]]), { vector: VEC_GP, code: 0 }); // ss:[rbx]
  assert.deepEqual(fault("488b03", [[3, bad]]), { vector: VEC_GP, code: 0 }); // [rbx]
  assert.deepEqual(fault("480fc70c24", [[4, bad]]), { vector: VEC_SS, code: 0 }); // cmpxchg16b [rsp]
  assert.deepEqual(fault("0fa30424", [[4, bad]]), { vector: VEC_SS, code: 0 }); // bt [rsp], eax
  assert.deepEqual(fault("3e488b4500", [[5, bad]]), { vector: VEC_SS, code: 0 }); // ds:[rbp]
  assert.deepEqual(fault("64488b4500", [[5, bad]]), { vector: VEC_GP, code: 0 }); // fs:[rbp]
  assert.deepEqual(fault("498b4500", [[13, bad]]), { vector: VEC_GP, code: 0 }); // [r13]
  const { cpu } = run("50", [[4, bad + 8n]]);
  assert.equal(getReg(cpu, 4), bad + 8n, "RSP unchanged");
});

Deno.test("long mode: the opcodes invalid in 64-bit mode raise #UD", () => {
  const ops = [
    "06",
    "07",
    "0e",
    "16",
    "17",
    "1e",
    "1f",
    "27",
    "2f",
    "37",
    "3f",
    "60",
    "61",
    "62c0",
    "82c001",
    "9a000000000000",
    "c4c0",
    "c5c0",
    "ce",
    "d40a",
    "d50a",
    "d6",
    "ea000000000000",
    "0f0b", // ud2
    "0fb8c0", // jmpe (popcnt needs F3)
    "0f38f003", // movbe: not advertised
    "8fc8", // 8F /1
    "0fbac001", // bt group /0
    "fed0", // FE /2
  ];
  for (const op of ops) assert.equal(fault(op).vector, VEC_UD, op);
});

Deno.test("long mode: F3 0F BC/BD execute as bsf/bsr (no BMI1/ABM advertised)", () => {
  let { cpu } = run("f3480fbcc3", [[0, 0x1234n], [3, 0n]]); // tzcnt rax, rbx
  assert.equal(getReg(cpu, 0), 0x1234n, "zero source: destination unchanged");
  assert.equal(cpu.getEflags() & 0x40, 0x40);
  ({ cpu } = run("f3480fbdc3", [[3, 1n]])); // lzcnt rax, rbx
  assert.equal(getReg(cpu, 0), 0n, "bsr of 1 is 0 (lzcnt would give 63)");
  ({ cpu } = run("f3490fb8c3", [[11, 0xf0f0n]])); // popcnt rax, r11 (REX.B)
  assert.equal(getReg(cpu, 0), 8n);
  ({ cpu } = run("f3480fb8c3", [[3, 0xff00ff00ff00ff00n]]));
  assert.equal(getReg(cpu, 0), 32n);
});

Deno.test("long mode: popf changes IF and IOPL at CPL 0, neither at CPL 3 with IOPL 0", () => {
  // push imm32 0x3000 | 0x200 | 1 (IOPL 3, IF, CF); popfq
  let m = run("6801320000" + "9d");
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.getEflags() & 0x3201, 0x3201);
  m = machine64(hex("68013200009d6a009df4"));
  m.cpu.setEflags(0x2);
  m.cpu.setSegmentRaw(1, 0x33, 0, -1, m.cpu.segAttr[1] | ATTR_L | 0x60);
  m.cpu.regs[4] = 0x80000;
  m.cpu.run(3);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.getEflags() & 0x3201, 0x1, "CF taken, IF and IOPL kept");
  // 66 9D pops 16 bits
  m = run("66680100669d");
  assert.equal(m.cpu.getEflags() & 1, 1);
  assert.equal(getReg(m.cpu, 4), BigInt(256 * 4096 - 16));
});

Deno.test("long mode: pop [rsp+8] addresses with the incremented RSP; push/pop 16-bit", () => {
  const m = run("6a11" + "6a22" + "8f442408" + "5866506658", [[0, 0x5555n]]);
  assert.deepEqual(m.platform.exceptions, []);
  const top = BigInt(256 * 4096 - 16);
  // push 0x11 (top-8), push 0x22 (top-16); pop [rsp+8] after rsp = top-8: writes top.
  assert.equal(m.mem.dv.getBigUint64(Number(top), true), 0x22n);
  assert.equal(getReg(m.cpu, 0), 0x11n, "pop rax");
  assert.equal(getReg(m.cpu, 4), top, "66 50 / 66 58 balanced");
});

Deno.test("long mode: rep stosb over the next instructions runs the new bytes", () => {
  // rep stosb (rdi = 0x1002, rcx = 2, al = 0x90) turns the ud2 after it into two nops.
  const m = run("f3aa0f0b", [[0, 0x90n], [7, 0x1002n], [1, 2n]]);
  assert.deepEqual(m.platform.exceptions, []);
  assert.ok(m.cpu.halted);
  assert.equal(getRip(m.cpu), 0x1005n);
});
