/**
 * 64-bit programs on the interpreter: a program assembled with `as --64` (source in the
 * comments; bytes committed) run flat and at a higher-half address through the 4-level
 * walker, the faults of the 64-bit path (#UD, #GP(0) on non-canonical addresses and jump
 * targets, #PF with CR2), FS-relative accesses, and the dormancy of it all in 32-bit mode.
 * @module
 */

import assert from "node:assert/strict";
import { hex } from "../../../lib/cpu/testing.ts";
import { LongModeWalker } from "../../../lib/paging/mod.ts";
import { getReg, getRip, machine64, setReg } from "./machine64.ts";
import { flatMachine } from "../../../lib/cpu/testing.ts";
import { ATTR_L, M_FS_BASE } from "../../../lib/cpu/long/long_state.ts";

/** as --64 -M intel of (offsets in hex):
 * 00 movabs rax, 0x1122334455667788     46 mov r12, [rsi + 8]
 * 0a lea rsi, [rip + data]              4a movzx r13d, byte ptr [rsi + 1]
 * 11 mov [rsi], rax                     4f movsxd r14, dword ptr [rsi + 4]
 * 14 mov rbx, [rsi]                     53 cmp r14, rax
 * 17 mov ecx, 10                        56 jb below
 * 1c xor edx, edx                       58 mov r15, 1
 * 1e xor r8d, r8d                       5f hlt
 * 21 loop1: add rdx, rcx                60 below: mov r15, 2
 * 24 lea r8, [r8 + rcx*8 + 3]           67 hlt
 * 29 dec ecx                            68 fn: mov qword ptr [rsi + 8], -2
 * 2b jnz loop1                          70 add qword ptr [rsi + 8], 0x10
 * 2d mov r9, -1                         75 ret
 * 34 mov r9d, 5                         76 (nop padding)
 * 3a push rax; 3b push r8               80 data: .quad 0, 0
 * 3d pop r10; 3f pop r11; 41 call fn
 */
const PROGRAM = hex(
  "48b88877665544332211488d356f000000488906488b1eb90a00000031d24531c04801ca4d8d44c8" +
    "03ffc975f449c7c1ffffffff41b905000000504150415a415be8220000004c8b6608440fb66e01" +
    "4c6376044939c6720849c7c701000000f449c7c702000000f448c74608feffffff4883460810c3" +
    "662e0f1f84000000000000000000000000000000000000000000",
);

const RAX = 0x1122334455667788n;
const EXPECTED: [number, bigint][] = [
  [0, RAX],
  [3, RAX],
  [1, 0n],
  [2, 55n], // 10 + 9 + ... + 1
  [8, 8n * 55n + 30n], // sum of rcx*8 + 3
  [9, 5n], // mov r9d zero-extends over -1
  [10, 8n * 55n + 30n],
  [11, RAX],
  [12, 0xen], // -2 + 0x10
  [13, 0x77n],
  [14, 0x11223344n],
  [15, 2n], // 0x11223344 < rax: jb taken
];

Deno.test("long mode: an as --64 program runs flat (lea rip, SIB, push/pop, call/ret, jcc)", () => {
  const { cpu, platform } = machine64(PROGRAM);
  const rsp = getReg(cpu, 4);
  cpu.run(1000);
  assert.deepEqual(platform.exceptions, []);
  assert.ok(cpu.halted);
  for (const [r, v] of EXPECTED) assert.equal(getReg(cpu, r), v, `r${r}`);
  assert.equal(getReg(cpu, 6), 0x1080n);
  assert.equal(getReg(cpu, 4), rsp);
  assert.equal(getRip(cpu), 0x1068n);
});

/** Maps 2 MiB of linear memory at `base` (hi half `hi`) onto machine 0 with 4 KiB pages. */
function mapHigh(mem: { dv: DataView }, hi: number): number {
  const PML4 = 0x40000, PDPT = 0x41000, PD = 0x42000, PT = 0x43000;
  const e = (at: number, to: number) => mem.dv.setUint32(at, to | 7, true);
  // hi:0 -> PML4 index from bits 47..39, PDPT index from bits 38..30 (both from hi).
  const l4 = (hi >>> 7) & 0x1ff, l3 = (hi << 2) & 0x1fc;
  e(PML4 + l4 * 8, PDPT);
  e(PDPT + l3 * 8, PD);
  e(PD, PT);
  for (let i = 0; i < 256; i++) e(PT + i * 8, i * 4096);
  return PML4;
}

Deno.test("long mode: the same program at 0xffff800000001000 through the 4-level walker", () => {
  const { cpu, mem, platform } = machine64(PROGRAM);
  const walker = new LongModeWalker(mem);
  walker.cr3 = mapHigh(mem, 0xffff8000 | 0);
  cpu.lm.walker = walker;
  cpu.lm.ripHi = 0xffff8000 | 0;
  setReg(cpu, 4, 0xffff800000030000n);
  cpu.run(1000);
  assert.deepEqual(platform.exceptions, []);
  for (const [r, v] of EXPECTED) assert.equal(getReg(cpu, r), v, `r${r}`);
  assert.equal(getReg(cpu, 6), 0xffff800000001080n);
  assert.equal(getReg(cpu, 4), 0xffff800000030000n);
  assert.equal(getRip(cpu), 0xffff800000001068n);
});

function faultOf(code: string, setup?: (m: ReturnType<typeof machine64>) => void) {
  const m = machine64(hex(code));
  setup?.(m);
  m.cpu.run(100);
  assert.equal(m.platform.exceptions.length, 1, code);
  return { ...m.platform.exceptions[0], rip: getRip(m.cpu), m };
}

Deno.test("long mode: unsupported and invalid opcodes raise #UD at the instruction", () => {
  for (const code of ["06", "0f05", "90 0f0b", "37", "48 62 00"]) {
    const e = faultOf(code);
    assert.equal(e.vector, 6, code);
    assert.equal(e.errorCode, -1);
    assert.equal(e.rip, code.startsWith("90") ? 0x1001n : 0x1000n);
  }
});

Deno.test("long mode: non-canonical data addresses and jump targets raise #GP(0)", () => {
  // mov rax, 0x0000800000000000; mov rbx, [rax]
  let e = faultOf("48b80000000000800000 488b18");
  assert.deepEqual([e.vector, e.errorCode, e.rip], [13, 0, 0x100an]);
  // mov rax, 0x0000800000000000; jmp rax
  e = faultOf("48b80000000000800000 ffe0");
  assert.deepEqual([e.vector, e.errorCode, e.rip], [13, 0, 0x100an]);
  // 67 prefix: [eax] truncates the address to 32 bits, so this one is canonical and works.
  const { cpu, platform } = machine64(hex("48b8 0020000000800000 67 488b18 f4"));
  cpu.run(10);
  assert.deepEqual(platform.exceptions, []);
  assert.equal(getReg(cpu, 3), 0n);
});

Deno.test("long mode: an access beyond memory raises #PF with CR2, nothing written", () => {
  // mov rax, 0x12345678; mov [rax], rax  (identity: 1 MiB of memory)
  const e = faultOf("48c7c078563412 488900");
  assert.deepEqual([e.vector, e.errorCode, e.rip], [14, 2, 0x1007n]);
  assert.equal(e.cr2, 0x12345678);
  // push with RSP on an unmapped page: RSP unchanged.
  const f = faultOf("50", (m) => setReg(m.cpu, 4, 0x200000n));
  assert.equal(f.vector, 14);
  assert.equal(getReg(f.m.cpu, 4), 0x200000n);
});

Deno.test("long mode: fs: adds FS_BASE; lea ignores it", () => {
  // mov rax, fs:[0x10]; lea rbx, fs:[0x10]; hlt
  const { cpu, mem, platform } = machine64(hex("64488b042510000000 64488d1c2510000000 f4"));
  cpu.lm.msr[M_FS_BASE * 2] = 0x3000;
  mem.dv.setUint32(0x3010, 0xcafe, true);
  mem.dv.setUint32(0x3014, 0xbeef, true);
  cpu.run(10);
  assert.deepEqual(platform.exceptions, []);
  assert.equal(getReg(cpu, 0), 0xbeef0000cafen);
  assert.equal(getReg(cpu, 3), 0x10n);
});

Deno.test("long mode is dormant without EFER.LMA: CS.L alone runs 32-bit code", () => {
  // 48 = dec eax, 40 = inc eax in 32-bit mode (REX prefixes in 64-bit mode).
  const { cpu } = flatMachine(hex("48 48 40 f4"));
  cpu.segAttr[1] |= ATTR_L;
  cpu.regs[0] = 10;
  cpu.run(10);
  assert.equal(cpu.regs[0], 9);
  assert.equal(cpu.eip, 0x1004);
});

Deno.test("IA-32e MSRs: wrmsr/rdmsr of STAR..KERNEL_GS_BASE; non-canonical bases #GP(0)", () => {
  for (
    const msr of [
      0xc0000081,
      0xc0000082,
      0xc0000083,
      0xc0000084,
      0xc0000100,
      0xc0000101,
      0xc0000102,
    ]
  ) {
    // wrmsr; xor eax, eax; xor edx, edx; rdmsr; hlt
    const { cpu, platform } = flatMachine(hex("0f30 31c0 31d2 0f32 f4"));
    cpu.regs[1] = msr | 0;
    cpu.regs[0] = 0x89abcdef | 0;
    cpu.regs[2] = 0xffff8000 | 0;
    cpu.run(10);
    assert.deepEqual(platform.exceptions, [], msr.toString(16));
    assert.equal(cpu.regs[0], 0x89abcdef | 0);
    assert.equal(cpu.regs[2], 0xffff8000 | 0);
    const slot = [
      0xc0000081,
      0xc0000082,
      0xc0000083,
      0xc0000084,
      0xc0000100,
      0xc0000101,
      0xc0000102,
    ]
      .indexOf(msr);
    assert.equal(cpu.lm.msr[slot * 2 + 1], 0xffff8000 | 0);
  }
  const { cpu, platform } = flatMachine(hex("0f30 f4"));
  cpu.regs[1] = 0xc0000082 | 0; // LSTAR
  cpu.regs[2] = 0x00008000;
  cpu.run(10);
  assert.equal(platform.exceptions[0]?.vector, 13);
  assert.equal(cpu.lm.msr[3], 0);
});

Deno.test("long mode: cqo/cwde/cdqe, setcc with REX (sil, dil), cmovcc zero-extension, leave", () => {
  // as --64: mov rax, -5; cqo; mov ebx, 0x80; xor esi, esi; mov edi, 0x1234; cmp ebx, 0x7f;
  // setg sil; setb dil; mov r8, -1; cmovl r8d, ebx; cmovg r9, rbx; mov eax, 0xff80; cwde;
  // cdqe; mov rbp, 0x55; push rbp; mov rbp, rsp; sub rsp, 0x20; mov qword ptr [rbp - 8], 7;
  // mov r10, [rbp - 8]; leave; hlt
  const { cpu, platform } = machine64(hex(
    "48c7c0fbffffff4899bb8000000031f6bf3412000083fb7f400f9fc6400f92c749c7c0ffffffff440f4cc3" +
      "4c0f4fcbb880ff000098489848c7c555000000554889e54883ec2048c745f8070000004c8b55f8c9f4",
  ));
  const rsp = getReg(cpu, 4);
  cpu.run(100);
  assert.deepEqual(platform.exceptions, []);
  assert.equal(getReg(cpu, 2), 0xffffffffffffffffn); // cqo of -5
  assert.equal(getReg(cpu, 6), 1n); // setg sil
  assert.equal(getReg(cpu, 7), 0x1200n); // setb dil (not below)
  assert.equal(getReg(cpu, 8), 0xffffffffn); // cmovl r8d not taken still zero-extends
  assert.equal(getReg(cpu, 9), 0x80n);
  assert.equal(getReg(cpu, 0), 0xffffffffffffff80n); // cwde then cdqe
  assert.equal(getReg(cpu, 10), 7n);
  assert.equal(getReg(cpu, 5), 0x55n); // leave popped rbp
  assert.equal(getReg(cpu, 4), rsp);
});
