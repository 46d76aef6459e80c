/**
 * System instructions in 64-bit mode: syscall/sysret (architectural and through
 * Platform.syscall), swapgs, rdtscp, MSRs, control registers, descriptor-table loads,
 * segment loads (FS_BASE from a descriptor), privileged instructions at CPL 3, int n /
 * int3 / int1 kinds, TF single step. Code bytes from `as --64 -M intel` (source beside).
 * @module
 */

import assert from "node:assert/strict";
import { EXC_FAULT, EXC_INT3, EXC_SOFTINT, EXC_TRAP, hex } from "../../../lib/cpu/mod.ts";
import { getReg, getRip, setReg } from "./machine64.ts";
import { SEL, sysMachine, toUser } from "./sys_machine.ts";
import { ATTR_L, EFER_SCE, M_FS_BASE, M_GS_BASE } from "../../../lib/cpu/long/long_state.ts";
import { LongModeWalker } from "../../../lib/paging/mod.ts";

// user (0x1000): mov eax, 0x1234; syscall; mov ebx, eax; ud2
const USER = hex("b8341200000f0589c30f0b");
// kernel (0x2000): mov r12, rcx; mov r13, r11; int3; add eax, 1; sysretq
const KERNEL = hex("4989cc4d89ddcc83c001480f07");

Deno.test("syscall/sysretq: STAR selectors, LSTAR, SFMASK, RCX/R11, back to ring 3", () => {
  const m = sysMachine(USER);
  const { cpu, mem, platform } = m;
  mem.write(0x2000, KERNEL);
  cpu.lm.msr[2] = 0x2000; // LSTAR
  cpu.lm.msr[6] = 0x300 | 0x400; // SFMASK: TF IF DF
  toUser(m);
  cpu.setEflags(0x202 | 0x400 | 0x1); // IF DF CF
  let kernelFlags = -1, kernelCs = -1;
  platform.onException = (v) => {
    if (v !== 3) return cpu.stop();
    kernelFlags = cpu.getEflags();
    kernelCs = cpu.sel(1) | (cpu.sel(2) << 16) | (cpu.cpl << 24);
  };
  cpu.run(100);
  assert.deepEqual(platform.exceptions.map((e) => [e.vector, e.eip]), [[3, 0x2007], [6, 0x1009]]);
  assert.equal(getReg(cpu, 12), 0x1007n, "RCX = the instruction after syscall");
  assert.equal(getReg(cpu, 13), 0x603n, "R11 = RFLAGS at syscall");
  assert.equal(kernelFlags, 0x3, "kernel RFLAGS masked by SFMASK (IF, DF clear)");
  assert.equal(kernelCs, 0x10 | (0x18 << 16), "CS 0x10, SS 0x18, CPL 0");
  assert.equal(getReg(cpu, 3), 0x1235n);
  assert.equal(cpu.sel(1), 0x33);
  assert.equal(cpu.sel(2), 0x2b);
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.getEflags() & 0x603, 0x603, "RFLAGS from R11");
});

Deno.test("sysretd returns to compatibility code (0x40 is inc eax there)", () => {
  // kernel: add eax, 1; sysretd
  const m = sysMachine(hex("b8341200000f05 4040 0f0b"));
  const { cpu, mem, platform } = m;
  mem.write(0x2000, hex("83c0010f07"));
  cpu.lm.msr[2] = 0x2000;
  toUser(m);
  cpu.run(100);
  // After sysretd: CS 0x23 (L = 0), so 40 40 are two inc eax.
  assert.equal(cpu.sel(1), 0x23);
  assert.equal(cpu.segAttr[1] & ATTR_L, 0);
  assert.equal(cpu.regs[0], 0x1237);
  assert.deepEqual(platform.exceptions.map((e) => [e.vector, e.eip]), [[6, 0x1009]]);
});

Deno.test("syscall/sysret faults: #UD without EFER.SCE, sysret #GP(0) at CPL 3 and on a non-canonical RCX", () => {
  let m = sysMachine(hex("0f05"));
  m.cpu.efer &= ~EFER_SCE;
  m.cpu.run(1);
  assert.deepEqual([m.platform.exceptions[0].vector, m.platform.exceptions[0].eip], [6, 0x1000]);
  m = sysMachine(hex("480f07"));
  toUser(m);
  m.cpu.run(1);
  assert.deepEqual([m.platform.exceptions[0].vector, m.platform.exceptions[0].errorCode], [13, 0]);
  m = sysMachine(hex("480f07"));
  setReg(m.cpu, 1, 0x0000800000000000n);
  m.cpu.run(1);
  assert.deepEqual([m.platform.exceptions[0].vector, m.platform.exceptions[0].errorCode], [13, 0]);
  assert.equal(m.cpu.cpl, 0, "nothing changed");
  assert.equal(m.cpu.sel(1), SEL.kcs);
});

Deno.test("Platform.syscall: RCX/R11 written, nothing else changed, RIP past the instruction", () => {
  const m = sysMachine(hex("b8341200000f05 0f0b"));
  const { cpu, platform } = m;
  const seen: bigint[][] = [];
  (platform as unknown as { syscall: () => void }).syscall = () => {
    seen.push([getReg(cpu, 1), getReg(cpu, 11), getRip(cpu), BigInt(cpu.sel(1)), BigInt(cpu.cpl)]);
    setReg(cpu, 0, 0xffffffffffffffdan); // -ENOSYS-like result
  };
  toUser(m);
  cpu.setEflags(0x246);
  setReg(cpu, 1, 0x1111222233334444n);
  cpu.run(10);
  assert.deepEqual(seen, [[0x1007n, 0x246n, 0x1007n, 0x33n, 3n]]);
  assert.equal(getReg(cpu, 0), 0xffffffffffffffdan);
  assert.deepEqual(platform.exceptions.map((e) => [e.vector, e.eip]), [[6, 0x1007]]);
});

Deno.test("swapgs exchanges GS_BASE and KERNEL_GS_BASE (gs: follows); #GP(0) at CPL 3", () => {
  // wrmsr GS_BASE 0x3000; wrmsr KERNEL_GS_BASE 0x4000; mov rax, gs:[0]; swapgs;
  // mov rbx, gs:[0]; rdmsr GS_BASE; hlt
  const m = sysMachine(hex(
    "b9010100c0b80030000031d20f30b9020100c0b8004000000f3065488b0425000000000f01f8" +
      "65488b1c2500000000b9010100c00f32f4",
  ));
  m.mem.dv.setUint32(0x3000, 0x33, true);
  m.mem.dv.setUint32(0x4000, 0x44, true);
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(getReg(m.cpu, 0), 0x4000n);
  assert.equal(getReg(m.cpu, 3), 0x44n);
  assert.equal(m.cpu.lm.msr[M_GS_BASE * 2 + 2], 0x3000, "KERNEL_GS_BASE");
  assert.equal(m.cpu.segBase[5], 0x4000, "the 32-bit view of GS follows");
  const u = sysMachine(hex("0f01f8"));
  toUser(u);
  u.cpu.run(1);
  assert.deepEqual([u.platform.exceptions[0].vector, u.platform.exceptions[0].errorCode], [13, 0]);
});

Deno.test("rdtscp: ECX = TSC_AUX, upper halves cleared", () => {
  // wrmsr TSC_AUX = 7; mov rcx, -1; rdtscp; hlt
  const m = sysMachine(hex("b9030100c0b80700000031d20f3048c7c1ffffffff0f01f9f4"));
  setReg(m.cpu, 0, -1n);
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(getReg(m.cpu, 1), 7n);
  assert.equal(m.cpu.lm.hi[0], 0);
  assert.equal(m.cpu.lm.hi[2], 0);
});

Deno.test("int3 / int n / int1 are reported with their kinds, RIP after them; into is #UD", () => {
  const m = sysMachine(hex("cccd80f1ce"));
  m.platform.onException = (v) => {
    if (v === 6) m.cpu.stop();
  };
  m.cpu.run(10);
  assert.deepEqual(
    m.platform.exceptions.map((e) => [e.vector, e.kind, e.eip]),
    [[3, EXC_INT3, 0x1001], [0x80, EXC_SOFTINT, 0x1003], [1, EXC_TRAP, 0x1004], [
      6,
      EXC_FAULT,
      0x1004,
    ]],
  );
});

Deno.test("privileged instructions at CPL 3: #GP(0) with RIP at the instruction", () => {
  // mov cr3, rax; hlt; cli; in al, 0x60; out dx, eax; wrmsr; rdmsr; mov rax, cr0;
  // mov dr0, rax; swapgs; invlpg [rax]; lgdt [rax]; clts; sysretq
  const code = hex("0f22d8f4fae460ef0f300f320f20c00f23c00f01f80f01380f01100f06480f07");
  const starts = [0, 3, 4, 5, 7, 8, 10, 12, 15, 18, 21, 24, 27, 29];
  const m = sysMachine(code);
  toUser(m);
  m.platform.onException = (v) => {
    assert.equal(v, 13);
    const next = starts[starts.indexOf(m.cpu.eip - 0x1000) + 1];
    m.cpu.eip = 0x1000 + (next ?? 32);
    if (next === undefined) m.cpu.stop();
  };
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions.map((e) => e.eip - 0x1000), starts);
  assert.ok(m.platform.exceptions.every((e) => e.vector === 13 && e.errorCode === 0));
});

Deno.test("cli/sti/in/out follow IOPL at CPL 3", () => {
  const m = sysMachine(hex("fae460fbf4"));
  toUser(m);
  m.cpu.setEflags(0x3202); // IOPL 3
  m.cpu.run(3);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.regs[0] & 0xff, 0xff, "in reads all ones");
  assert.ok(m.cpu.interruptsEnabled);
});

Deno.test("mov to/from cr2 and cr8 with 64-bit operands; cr0 read", () => {
  // movabs rax, 0x123456789abc; mov cr2, rax; mov rbx, cr2; mov ecx, 5; mov cr8, rcx;
  // mov rdx, cr8; mov rax, cr0; mov r9, cr4; hlt
  const m = sysMachine(
    hex("48b8bc9a7856341200000f22d00f20d3b905000000440f22c1440f20c20f20c0410f20e1f4"),
  );
  m.cpu.cr0 = 0x80050033 | 0;
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(getReg(m.cpu, 3), 0x123456789abcn);
  assert.equal(m.cpu.lm.cr2Hi, 0x1234);
  assert.equal(getReg(m.cpu, 2), 5n);
  assert.equal(getReg(m.cpu, 0), 0x80050033n);
  assert.equal(getReg(m.cpu, 9), BigInt(m.cpu.cr4));
});

Deno.test("lgdt/sgdt/sidt take 10-byte pseudo-descriptors in 64-bit mode", () => {
  // lgdt [rip+gd]; sgdt [rip+out]; sidt [rip+out2]; hlt; gd: .word 0x7f; .quad ...; out; out2
  const m = sysMachine(hex(
    "0f01150f0000000f0105120000000f010d1b000000f47f00005034120080ffff" + "00".repeat(32),
  ));
  m.cpu.idtBase = 0x9000;
  m.cpu.idtLimit = 0xfff;
  m.cpu.descriptorTables = null;
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.gdtLimit, 0x7f);
  assert.equal(m.cpu.gdtBase >>> 0, 0x12345000);
  assert.equal(m.cpu.lm.gdtBaseHi >>> 0, 0xffff8000);
  const dv = m.mem.dv;
  assert.equal(dv.getUint16(0x1020, true), 0x7f);
  assert.equal(dv.getBigUint64(0x1022, true), 0xffff800012345000n);
  assert.equal(dv.getUint16(0x1030, true), 0xfff);
  assert.equal(dv.getBigUint64(0x1032, true), 0x9000n);
});

Deno.test("mov fs, sel loads FS_BASE from the descriptor; push fs / pop gs; a null FS clears the base", () => {
  // mov eax, 0x43; mov fs, eax; mov rbx, fs:[8]; rdmsr FS_BASE; push fs; pop gs;
  // mov r8d, gs; mov rsi, gs:[8]; xor eax, eax; mov fs, eax; rdmsr FS_BASE; mov r9, rax; hlt
  const m = sysMachine(hex(
    "b8430000008ee064488b1c2508000000b9000100c00f320fa00fa9418ce865488b34250800000031c0" +
      "8ee0b9000100c00f324989c1f4",
  ));
  m.cpu.lm.msr[M_FS_BASE * 2 + 1] = 0x1234; // a stale high half: the load clears it
  m.mem.dv.setBigUint64(0x5008, 0x1122334455667788n, true);
  m.cpu.run(100);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(getReg(m.cpu, 3), 0x1122334455667788n);
  assert.equal(getReg(m.cpu, 6), 0x1122334455667788n);
  assert.equal(getReg(m.cpu, 8), 0x43n);
  assert.equal(m.cpu.sel(5), 0x43);
  assert.equal(getReg(m.cpu, 9), 0n, "FS_BASE after mov fs, 0");
  assert.equal(m.cpu.lm.msr[M_GS_BASE * 2], 0x5000);
});

Deno.test("mov ds, a selector beyond the GDT: #GP(selector)", () => {
  const m = sysMachine(hex("b87b0000008ed8f4"));
  m.cpu.run(10);
  assert.deepEqual(
    m.platform.exceptions.map((e) => [e.vector, e.errorCode, e.eip]),
    [[13, 0x78, 0x1005]],
  );
});

Deno.test("TF: a single-step #DB trap (DR6.BS) after each instruction, RIP at the next", () => {
  // mov eax, 1; add eax, 2; nop; hlt
  const m = sysMachine(hex("b80100000083c00290f4"));
  m.platform.onException = () => {};
  m.cpu.setEflags(0x102);
  m.cpu.run(4);
  assert.deepEqual(
    m.platform.exceptions.map((e) => [e.vector, e.kind, e.eip]),
    [[1, EXC_TRAP, 0x1005], [1, EXC_TRAP, 0x1008], [1, EXC_TRAP, 0x1009], [1, EXC_TRAP, 0x100a]],
  );
  assert.equal(m.cpu.dr[6] & 0x4000, 0x4000);
  assert.equal(m.cpu.regs[0], 3);
});

Deno.test("an instruction breakpoint on a 64-bit address: #DB fault before it, RF lets it run", () => {
  const m = sysMachine(hex("b80100000083c00290f4"));
  m.cpu.dr[0] = 0x1005;
  m.cpu.dr[7] = 0x401;
  m.cpu.debug.refresh();
  m.platform.onException = () => {
    m.cpu.setEflags(m.cpu.getEflags() | 0x10000); // resume with RF
  };
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.kind, e.eip]), [[
    1,
    EXC_FAULT,
    0x1005,
  ]]);
  assert.equal(m.cpu.dr[6] & 1, 1);
  assert.equal(m.cpu.regs[0], 3);
  assert.ok(m.cpu.halted);
});

Deno.test("#PF from 64-bit code at a higher-half address: CR2 in both halves, error code", () => {
  // movabs rax, 0xffff800000400000; mov rbx, [rax]
  const m = sysMachine(hex("48b8000040000080ffff488b18"));
  const w = new LongModeWalker(m.mem);
  // PML4[256] -> PDPT -> PD with nothing present at 0x400000: a not-present read.
  const e = (at: number, to: number) => m.mem.dv.setUint32(at, to | 7, true);
  e(0x40000 + 256 * 8, 0x41000);
  e(0x41000, 0x42000);
  e(0x40000, 0x43000); // the low half for the code: identity 4 KiB pages below 0x40000
  e(0x43000, 0x44000);
  e(0x44000, 0x45000);
  for (let i = 0; i < 64; i++) e(0x45000 + i * 8, i * 4096);
  w.cr3 = 0x40000;
  m.cpu.lm.walker = w;
  toUser(m);
  m.cpu.run(10);
  const x = m.platform.exceptions[0];
  assert.deepEqual([x.vector, x.errorCode, x.eip, x.cr2], [14, 4, 0x100a, 0x400000]);
  assert.equal(m.cpu.lm.cr2Hi, 0xffff8000 | 0);
  assert.equal(getReg(m.cpu, 0), 0xffff800000400000n);
});

Deno.test("lldt of a 16-byte LDT descriptor (base bits 63..32), sldt", () => {
  // mov eax, 0x60; lldt ax; sldt ebx; hlt
  const m = sysMachine(hex("b8600000000f00d00f00c3f4"));
  m.dt.gdt.push([0x12340fff, 0x56008200 | 0x78], [0xffff8000 | 0, 0]); // LDT at 0x..78561234
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(m.cpu.ldtSel, 0x60);
  assert.equal(m.cpu.ldtBase >>> 0, 0x56781234);
  assert.equal(m.cpu.lm.ldtBaseHi >>> 0, 0xffff8000);
  assert.equal(m.cpu.ldtLimit, 0xfff);
  assert.equal(getReg(m.cpu, 3), 0x60n);
});

Deno.test("mov cr4 clearing PAE in IA-32e mode: #GP(0)", () => {
  // mov rax, cr4; and eax, ~0x20; mov cr4, rax
  const m = sysMachine(hex("0f20e083e0df0f22e0"));
  m.cpu.cr4 |= 0x20;
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.errorCode, e.eip]), [[
    13,
    0,
    0x1006,
  ]]);
  assert.equal(m.cpu.cr4 & 0x20, 0x20);
});

Deno.test("invlpg of a higher-half page drops its cached translation (a changed PTE is seen after it)", () => {
  // movabs rax, 0xffff800000400000; mov rbx, [rax]; mov rcx, [rax]; invlpg [rax];
  // mov rdx, [rax]; hlt
  const m = sysMachine(hex("48b8000040000080ffff488b18488b080f0138488b10f4"));
  const w = new LongModeWalker(m.mem);
  const e = (at: number, to: number) => m.mem.dv.setUint32(at, to | 7, true);
  e(0x40000, 0x43000); // identity 4 KiB pages below 0x40000 for the code
  e(0x43000, 0x44000);
  e(0x44000, 0x45000);
  for (let i = 0; i < 64; i++) e(0x45000 + i * 8, i * 4096);
  e(0x40000 + 256 * 8, 0x41000); // 0xffff8000_00400000 -> frame 0x50
  e(0x41000, 0x42000);
  e(0x42000 + 2 * 8, 0x46000);
  e(0x46000, 0x50000);
  m.mem.dv.setUint32(0x50000, 0x50, true);
  m.mem.dv.setUint32(0x51000, 0x51, true);
  w.cr3 = 0x40000;
  m.cpu.lm.walker = w;
  m.cpu.run(2);
  e(0x46000, 0x51000); // remap without a flush: the TLB still has frame 0x50
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions, []);
  assert.deepEqual([getReg(m.cpu, 3), getReg(m.cpu, 1), getReg(m.cpu, 2)], [0x50n, 0x50n, 0x51n]);
});

Deno.test("mov cr3 in 64-bit mode points the 4-level walker at the new PML4 and flushes", () => {
  // movabs rax, 0xffff800000400000; mov rbx, [rax]; mov ecx, 0x60000; mov cr3, rcx;
  // mov rdx, [rax]; hlt
  const m = sysMachine(hex("48b8000040000080ffff488b18b9000006000f22d9488b10f4"));
  const e = (at: number, to: number) => m.mem.dv.setUint32(at, to | 7, true);
  // Two address spaces sharing the low identity map, 0xffff8000_00400000 on frames 0x50/0x51.
  for (
    const [pml4, pd, pt, frame] of [[0x40000, 0x42000, 0x46000, 0x50000], [
      0x60000,
      0x62000,
      0x66000,
      0x51000,
    ]]
  ) {
    e(pml4, 0x43000);
    e(pml4 + 256 * 8, pd - 0x1000);
    e(pd - 0x1000, pd);
    e(pd + 2 * 8, pt);
    e(pt, frame);
  }
  e(0x43000, 0x44000);
  e(0x44000, 0x45000);
  for (let i = 0; i < 64; i++) e(0x45000 + i * 8, i * 4096);
  m.mem.dv.setUint32(0x50000, 0x50, true);
  m.mem.dv.setUint32(0x51000, 0x51, true);
  const w = new LongModeWalker(m.mem);
  w.cr3 = 0x40000;
  m.cpu.lm.walker = w;
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions, []);
  assert.equal(w.cr3, 0x60000);
  assert.deepEqual([getReg(m.cpu, 3), getReg(m.cpu, 2)], [0x50n, 0x51n]);
});

Deno.test("a Linux-style syscall path: LSTAR entry with swapgs, per-CPU stack through gs:, sysretq", () => {
  // Kernel: wrmsr LSTAR = entry, SFMASK = TF|IF, KERNEL_GS_BASE = 0x6000; iretq to user.
  // entry: swapgs; mov gs:[8], rsp; mov rsp, gs:[0]; push rcx; push r11; add rax, 100;
  //   pop r11; pop rcx; mov rsp, gs:[8]; swapgs; sysretq
  // user: mov eax, 5; syscall; mov ebx, eax; mov eax, 7; syscall; ud2
  const m = sysMachine(hex(
    "b9820000c0488d053400000031d20f30b9840000c0b8000300000f30b9020100c0b8006000000f30" +
      "6a2b680000040068020200006a33488d05310000005048cf0f01f865488924250800000065488b24" +
      "25000000005141534883c064415b5965488b2425080000000f01f8480f07b8050000000f0589c3" +
      "b8070000000f050f0b",
  ));
  m.mem.dv.setBigUint64(0x6000, 0x9000n, true); // per-CPU: the kernel stack top
  m.cpu.run(200);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.eip]), [[6, 0x107e]]);
  assert.equal(getReg(m.cpu, 3), 105n);
  assert.equal(getReg(m.cpu, 0), 107n);
  assert.deepEqual([m.cpu.cpl, m.cpu.sel(1), m.cpu.sel(2)], [3, 0x33, 0x2b]);
  assert.equal(getReg(m.cpu, 4), 0x40000n);
  assert.equal(m.mem.dv.getBigUint64(0x6008, true), 0x40000n, "user RSP saved at gs:[8]");
  assert.equal(m.mem.dv.getBigUint64(0x9000 - 8, true), 0x107en, "RCX pushed on the kernel stack");
  assert.equal(m.cpu.lm.msr[M_GS_BASE * 2], 0, "user GS_BASE back");
  assert.equal(m.cpu.lm.msr[M_GS_BASE * 2 + 2], 0x6000, "KERNEL_GS_BASE back");
});
