/**
 * Compatibility mode (EFER.LMA, CS.L = 0): 32-bit code through the 4-level walker (the
 * CompatWalker adapter), its #PF (error code, CR2 high half 0) and #GP(selector), syscall
 * from compatibility code (CSTAR, or Platform.syscall), and FS_BASE coherence across
 * the switch (wrmsr in 64-bit code seen by compat code's fs:, and a compat mov fs seen
 * by 64-bit code's rdmsr and fs:).
 * @module
 */

import assert from "node:assert/strict";
import { Cpu, hex, PhysMemory, RecordingPlatform } from "../../../lib/cpu/mod.ts";
import { LongModeWalker } from "../../../lib/paging/mod.ts";
import { CompatWalker } from "../../../lib/cpu/long/compat.ts";
import { EFER_LMA } from "../../../lib/cpu/long/long_state.ts";
import { getReg, getRip, setReg } from "./machine64.ts";
import { K_CS32, SEL, sysMachine, toUser } from "./sys_machine.ts";

/** Identity-maps the first 1 MiB (user, writable) with 4 KiB pages; returns the PML4. */
function mapLow(dv: DataView): number {
  const PML4 = 0x40000, PDPT = 0x41000, PD = 0x42000, PT = 0x43000;
  const e = (at: number, to: number) => dv.setUint32(at, to | 7, true);
  e(PML4, PDPT);
  e(PDPT, PD);
  e(PD, PT);
  for (let i = 0; i < 256; i++) e(PT + i * 8, i * 4096);
  return PML4;
}

Deno.test("compat code runs through CompatWalker over the 4-level walker; #PF has CR2 high half 0", () => {
  const mem = new PhysMemory(512);
  const platform = new RecordingPlatform();
  const cpu = new Cpu(mem, platform, new CompatWalker());
  platform.cpu = cpu;
  const w = new LongModeWalker(mem);
  w.cr3 = mapLow(mem.dv);
  cpu.lm.walker = w;
  cpu.efer |= EFER_LMA;
  cpu.setSegmentRaw(1, 0x38, 0, -1, K_CS32);
  cpu.lm.cr2Hi = 0x1234; // stale: a compat-mode #PF clears it
  // mov eax, 1; mov [0x150004], eax; ud2 (0x150004 is beyond the mapped 1 MiB)
  mem.write(0x1000, hex("b801000000a3040015000f0b"));
  cpu.eip = 0x1000;
  cpu.regs[4] = 0x80000;
  cpu.run(10);
  const e = platform.exceptions;
  assert.deepEqual(e.map((x) => [x.vector, x.errorCode, x.eip, x.cr2]), [[
    14,
    2,
    0x1005,
    0x150004,
  ]]);
  assert.equal(cpu.lm.cr2Hi, 0);
  assert.equal(cpu.regs[0], 1);
  assert.ok(w.cr3 > 0);
});

Deno.test("compat code: mov ds with a selector beyond the GDT is #GP(selector)", () => {
  const m = sysMachine(hex("b87b0000008ed8"));
  m.cpu.setSegmentRaw(1, SEL.kcs32, 0, -1, K_CS32);
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.errorCode, e.eip]), [[
    13,
    0x78,
    0x1005,
  ]]);
});

Deno.test("syscall from compatibility code enters 64-bit code at CSTAR (RCX = next EIP)", () => {
  const m = sysMachine(hex("0f050f0b"));
  toUser(m, true);
  m.cpu.lm.msr[4] = 0x2000; // CSTAR
  m.mem.write(0x2000, hex("ffc0f4")); // 64: inc eax; hlt
  m.cpu.regs[0] = 0x10;
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(getReg(m.cpu, 1), 0x1002n);
  assert.equal(m.cpu.sel(1), SEL.kcs);
  assert.equal(getReg(m.cpu, 0), 0x11n, "inc eax ran as a 64-bit instruction");
  assert.equal(getRip(m.cpu), 0x2003n);
});

Deno.test("syscall from compatibility code goes to Platform.syscall when there is one", () => {
  const m = sysMachine(hex("0f050f0b"));
  toUser(m, true);
  let calls = 0;
  (m.platform as unknown as { syscall: () => void }).syscall = () => {
    calls++;
    assert.equal(getReg(m.cpu, 1), 0x1002n);
    assert.equal(m.cpu.sel(1), SEL.ucs32);
  };
  m.cpu.run(10);
  assert.equal(calls, 1);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.eip]), [[6, 0x1002]]);
});

Deno.test("FS_BASE written in 64-bit code is compat code's fs: base; a compat mov fs is 64-bit code's FS_BASE", () => {
  // 64: wrmsr FS_BASE = 0x6000; ljmp [rip+p] -> 0x38:0x1100
  const m = sysMachine(hex("b9000100c0b80060000031d20f30ff2d00000000001100003800"));
  // 32: mov edi, fs:[8]; mov ebx, 0x43; mov fs, ebx; ljmp 0x10:0x1200
  m.mem.write(0x1100, hex("648b3d08000000bb430000008ee3ea001200001000"));
  // 64: rdmsr FS_BASE; mov rsi, fs:[8]; hlt
  m.mem.write(0x1200, hex("b9000100c00f3264488b342508000000f4"));
  m.mem.dv.setUint32(0x6008, 0x600d, true);
  m.mem.dv.setBigUint64(0x5008, 0x5555aaaa5555aaaan, true);
  setReg(m.cpu, 2, 0n);
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.ok(m.cpu.halted);
  assert.equal(m.cpu.regs[7], 0x600d, "compat fs:[8] with the wrmsr'd base");
  assert.equal(m.cpu.regs[3], 0x43);
  assert.equal(getReg(m.cpu, 0), 0x5000n, "rdmsr FS_BASE after the compat load");
  assert.equal(getReg(m.cpu, 6), 0x5555aaaa5555aaaan);
});

Deno.test("rdtscp in compatibility code (#UD in the 32-bit decoder) runs: ECX = TSC_AUX", () => {
  const m = sysMachine(hex("0f01f90f0b"));
  toUser(m, true);
  m.cpu.lm.msr[14] = 0x2a; // TSC_AUX
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.eip]), [[6, 0x1003]]);
  assert.equal(m.cpu.regs[1], 0x2a);
});
