/**
 * Far transfers in IA-32e mode between 64-bit and compatibility code: jmp/call far through
 * memory (m16:32, m16:64), ret far (32- and 64-bit operands), the 32-bit far jmp and ret
 * of compatibility code back into 64-bit code, iretq to the same and an outer level (to
 * 64-bit and to compatibility code), and their #GP cases. Bytes from `as` (source beside).
 * @module
 */

import assert from "node:assert/strict";
import { hex } from "../../../lib/cpu/mod.ts";
import { getReg, getRip, setReg } from "./machine64.ts";
import { SEL, sysMachine } from "./sys_machine.ts";
import { ATTR_L } from "../../../lib/cpu/long/long_state.ts";

Deno.test("64-bit -> compat by ljmp m16:32, compat -> 64-bit by ljmp ptr16:32 (EA)", () => {
  // 64: mov eax, 1; ljmp [rip+p]; hlt; p: .long 0x1100; .word 0x38
  const m = sysMachine(hex("b801000000ff2d01000000f4001100003800"));
  m.mem.write(0x1100, hex("4040ea001200001000")); // 32: inc eax; inc eax; ljmp 0x10:0x1200
  m.mem.write(0x1200, hex("ffc0f4")); // 64: inc eax; hlt
  setReg(m.cpu, 0, 0xffffffff00000000n);
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.ok(m.cpu.halted);
  assert.equal(getReg(m.cpu, 0), 4n);
  assert.equal(getRip(m.cpu), 0x1203n);
  assert.equal(m.cpu.sel(1), SEL.kcs);
});

Deno.test("rex.w lret to compatibility code; compat lret (32-bit) back to 64-bit code", () => {
  // 64 at 0x1000: push 0x38; push 0x1100; rex.w lret
  const m = sysMachine(hex("6a38680011000048cb"));
  // 32 at 0x1100: inc eax; inc eax; ljmp 0x10:0x1200 ; 64 at 0x1200: inc eax; hlt
  m.mem.write(0x1100, hex("4040ea001200001000"));
  m.mem.write(0x1200, hex("ffc0f4"));
  const rsp = getReg(m.cpu, 4);
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.regs[0], 3);
  assert.equal(getReg(m.cpu, 4), rsp);
});

Deno.test("lcall m16:32 into compat code, whose 32-bit lret comes back to 64-bit code", () => {
  // 64: lcall [rip+p]; add eax, 5; hlt; p: .long 0x1100; .word 0x38
  const m = sysMachine(hex("ff1d0400000083c005f4001100003800"));
  m.mem.write(0x1100, hex("40cb")); // 32: inc eax; lret
  const rsp = getReg(m.cpu, 4);
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.regs[0], 6);
  assert.equal(getReg(m.cpu, 4), rsp);
  assert.ok((m.cpu.segAttr[1] & ATTR_L) !== 0);
  assert.equal(getRip(m.cpu), 0x100an);
});

Deno.test("rex.w lcall m16:64 and rex.w lret within 64-bit code (8-byte CS and RIP pushed)", () => {
  // lcall [rip+p] (REX.W); add eax, 5; hlt; p: .quad 0x1100; .word 0x10
  const m = sysMachine(hex("48ff1d0400000083c005f400110000000000001000"));
  m.mem.write(0x1100, hex("b80700000048cb")); // mov eax, 7; rex.w lret
  let frame: bigint[] = [];
  m.platform.onException = () => m.cpu.stop();
  const rsp = getReg(m.cpu, 4);
  m.cpu.run(2); // lcall, mov
  frame = [
    m.mem.dv.getBigUint64(Number(rsp) - 8, true),
    m.mem.dv.getBigUint64(Number(rsp) - 16, true),
  ];
  assert.deepEqual(frame, [0x10n, 0x1007n]);
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.regs[0], 12);
  assert.equal(getReg(m.cpu, 4), rsp);
});

Deno.test("iretq to ring 3: 64-bit code (CS 0x33) and compatibility code (CS 0x23)", () => {
  for (const [cs, code] of [[0x33, "ffc0"], [0x23, "4040"]] as const) {
    // push 0x2b; push 0x40000; push 0x202; push cs; push 0x1100; iretq
    const m = sysMachine(hex(`6a2b68000004006802020000 6a${cs.toString(16)} 680011000048cf`));
    m.mem.write(0x1100, hex(`${code}0f0b`)); // inc eax (twice in compat) then ud2
    m.cpu.run(100);
    const e = m.platform.exceptions;
    assert.equal(e.length, 1);
    assert.equal(e[0].vector, 6);
    assert.equal(m.cpu.cpl, 3);
    assert.equal(m.cpu.sel(1), cs);
    assert.equal(m.cpu.sel(2), 0x2b);
    assert.equal(getReg(m.cpu, 4), 0x40000n);
    assert.equal(m.cpu.getEflags() & 0x200, 0x200);
    assert.equal(m.cpu.regs[0], cs === 0x33 ? 1 : 2);
  }
});

Deno.test("iretq faults before any change: non-canonical RIP #GP(0), RPL below CPL #GP(sel)", () => {
  // movabs rax, 0x0000800000001000; push 0x18; push 0x40000; push 2; push 0x10; push rax; iretq
  const m = sysMachine(hex("48b800100000008000006a1868000004006a026a105048cf"));
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.errorCode]), [[13, 0]]);
  assert.equal(m.cpu.sel(1), SEL.kcs);
  const rsp = getReg(m.cpu, 4);
  // The same frame from ring 3 returning to ring 0: #GP(0x10).
  const u = sysMachine(hex("6a1868000004006a026a10680011000048cf"));
  u.cpu.setSegmentRaw(1, SEL.ucs64, 0, -1, 0xa0fb);
  u.cpu.setSegmentRaw(2, SEL.uss, 0, -1, 0xc0f3);
  u.cpu.run(100);
  assert.deepEqual(u.platform.exceptions.map((e) => [e.vector, e.errorCode]), [[13, 0x10]]);
  assert.ok(rsp > 0n);
});

/** Appends a 16-byte 64-bit call gate to the GDT (two entries). */
function callGate(dt: { gdt: [number, number][] }, target: number, off: number, dpl: number) {
  dt.gdt.push([(target << 16) | (off & 0xffff), (off & 0xffff0000) | 0x8000 | (dpl << 13) | 0xc00]);
  dt.gdt.push([0, 0]);
}

Deno.test("call gate: lcall from ring 3 to ring 0 on TSS.RSP0 (SS, RSP, CS, RIP pushed), rex.w lret back", () => {
  // lcall [rip+p]; ud2; p: .long 0; .word 0x63
  const m = sysMachine(hex("ff1d020000000f0b000000006300"));
  m.mem.write(0x3000, hex("4989e748cb")); // mov r15, rsp; rex.w lret
  callGate(m.dt, SEL.kcs, 0x3000, 3); // 0x60
  callGate(m.dt, SEL.kcs, 0x3000, 0); // 0x70
  m.cpu.trSel = SEL.tss;
  m.cpu.trBase = 0x7000;
  m.cpu.trLimit = 0x67;
  m.mem.dv.setBigUint64(0x7004, 0xa008n, true); // RSP0
  m.cpu.setSegmentRaw(1, SEL.ucs64, 0, -1, 0xa0fb);
  m.cpu.setSegmentRaw(2, SEL.uss, 0, -1, 0xc0f3);
  setReg(m.cpu, 4, 0x40000n);
  let inKernel: number[] = [];
  m.platform.onException = () => m.cpu.stop();
  m.cpu.run(2); // lcall, mov r15, rsp
  inKernel = [m.cpu.cpl, m.cpu.sel(1), m.cpu.sel(2)];
  m.cpu.run(100);
  assert.deepEqual(inKernel, [0, SEL.kcs, 0]);
  assert.equal(getReg(m.cpu, 15), 0xa008n - 32n, "no alignment for a call gate");
  const q = (a: number) => m.mem.dv.getBigUint64(a, true);
  assert.deepEqual([q(0xa000), q(0x9ff8), q(0x9ff0), q(0x9fe8)], [0x2bn, 0x40000n, 0x33n, 0x1006n]);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.eip]), [[6, 0x1006]]);
  assert.deepEqual([m.cpu.cpl, m.cpu.sel(1), m.cpu.sel(2)], [3, SEL.ucs64, SEL.uss]);
  assert.equal(getReg(m.cpu, 4), 0x40000n);
  // Through the DPL-0 gate from ring 3: #GP(0x70).
  const g = sysMachine(hex("ff1d020000000f0b000000007300"));
  callGate(g.dt, SEL.kcs, 0x3000, 3);
  callGate(g.dt, SEL.kcs, 0x3000, 0);
  g.cpu.setSegmentRaw(1, SEL.ucs64, 0, -1, 0xa0fb);
  g.cpu.run(10);
  assert.deepEqual(g.platform.exceptions.map((e) => [e.vector, e.errorCode]), [[13, 0x70]]);
});

Deno.test("call gate: ljmp through a gate at the same level", () => {
  // ljmp [rip+p]; p: .long 0; .word 0x70
  const m = sysMachine(hex("ff2d00000000000000007000"));
  m.mem.write(0x3000, hex("ffc0f4")); // inc eax; hlt
  callGate(m.dt, SEL.kcs, 0x3000, 3);
  callGate(m.dt, SEL.kcs, 0x3000, 0);
  const rsp = getReg(m.cpu, 4);
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.regs[0], 1);
  assert.equal(getReg(m.cpu, 4), rsp);
  assert.equal(m.cpu.sel(1), SEL.kcs);
});
