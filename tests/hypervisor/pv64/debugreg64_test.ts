/**
 * A 64-bit domain's debug registers keep 64-bit values (set_debugreg of Xen 4.17's
 * xen/arch/x86/pv/misc-hypercalls.c): DR0-3 take any address __addr_ok accepts (below
 * 2^47 or from HYPERVISOR_VIRT_END up), so a kernel linked at 0xffffffff80000000 can put an
 * instruction breakpoint on its own code; get_debugreg and `mov %dr0` read the whole value.
 * @module
 */
import assert from "node:assert/strict";
import { EINVAL, EPERM } from "../../../lib/abi/mod.ts";
import type { KernelImage64 } from "../../../lib/hypervisor/builder/kernel_image64.ts";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { doSetDebugreg, readDebugreg } from "../../../lib/hypervisor/pv/misc_hypercalls.ts";
import { BASE, kernel64, le32, movImm, SYSCALL } from "./_kernel64.ts";

const RAX = 0, RSI = 6, RDI = 7;
const HIGH = 0xffffffff80000000n;
const HI = 0xffffffff; // the high half of every address of the kernel below
const LO = 0x80000000 + BASE; // the low half of its first byte

/** A kernel64 linked and entered at HIGH + BASE. */
function highKernel(code: Uint8Array): KernelImage64 {
  const k = kernel64(code);
  const at = HIGH + BigInt(BASE);
  return {
    ...k,
    virtBase: HIGH,
    entry: at,
    kernelStart: at,
    kernelEnd: k.kernelEnd + HIGH,
    segments: [{ vaddr: at, data: code, memsz: code.length }],
  };
}

/** lea rel32(%rip), reg (reg 0..7), the displacement from the end of the instruction. */
function leaRip(reg: number, from: number, to: number): number[] {
  return [0x48, 0x8d, 0x05 | (reg << 3), ...le32(to - (from + 7))];
}

Deno.test("64-bit PV: DR0 at a kernel address reads back whole and its breakpoint fires #DB", async () => {
  const code: number[] = [];
  const fix: [number, number, number][] = []; // (lea at, reg, label) patched below
  const lea = (reg: number, label: number) => {
    fix.push([code.length, reg, label]);
    code.push(...leaRip(reg, 0, 0));
  };
  const L_TABLE = 0, L_TARGET = 1, L_HANDLER = 2;
  const labels: number[] = [];
  lea(RDI, L_TABLE);
  code.push(...movImm(RAX, 0), ...SYSCALL); // set_trap_table
  // set_debugreg(0, &target); set_debugreg(7, L0 | reserved bit 10: an execute breakpoint)
  code.push(...movImm(RDI, 0));
  lea(RSI, L_TARGET);
  code.push(...movImm(RAX, 8), ...SYSCALL);
  code.push(0x49, 0x89, 0xc7); // mov %rax,%r15 (set_debugreg's result)
  code.push(...movImm(RDI, 7), ...movImm(RSI, 0x401), ...movImm(RAX, 8), ...SYSCALL);
  // get_debugreg(0) -> %r12; mov %dr0,%rax (emulated) -> %r13
  code.push(...movImm(RDI, 0), ...movImm(RAX, 9), ...SYSCALL, 0x49, 0x89, 0xc4);
  code.push(0x0f, 0x21, 0xc0, 0x49, 0x89, 0xc5);
  labels[L_TARGET] = code.length;
  code.push(0xbb, 0x11, 0, 0, 0, 0xeb, 0xfe); // target: mov $0x11,%ebx; jmp .
  labels[L_HANDLER] = code.length;
  code.push(0xbb, 0x5a, 0, 0, 0, 0xeb, 0xfe); // #DB handler: mov $0x5a,%ebx; jmp .
  while (code.length % 8) code.push(0x90);
  labels[L_TABLE] = code.length;
  const handler = LO + labels[L_HANDLER];
  // trap_info { vector 1, flags 0, cs 0xe033, pad, address } then the sentinel
  code.push(1, 0, 0x33, 0xe0, 0, 0, 0, 0, ...le32(handler), ...le32(HI), ...new Array(16).fill(0));
  for (const [at, reg, label] of fix) code.splice(at, 7, ...leaRip(reg, at, labels[label]));

  const m = new Machine({ image: highKernel(Uint8Array.from(code)), memoryMiB: 16 });
  const v = m.domain.vcpus[0], c = v.cpu64!;
  await m.run(() => c.lo(3) === 0x5a || c.lo(3) === 0x11, 2000);
  const target = LO + labels[L_TARGET];
  assert.equal(c.lo(15), 0, "set_debugreg(0, kernel address) succeeds");
  assert.deepEqual([c.lo(12), c.hi(12)], [target, HI], "get_debugreg(0): all 64 bits");
  assert.deepEqual([c.lo(13), c.hi(13)], [target, HI], "mov %dr0: all 64 bits");
  assert.deepEqual([v.debugreg[0], v.debugregHi[0]], [target, HI]);
  assert.equal(c.lo(3), 0x5a, "the breakpoint on the kernel address reached the #DB handler");
  assert.equal(v.cpu.eip >>> 0, handler + 5);
  assert.equal(c.hi(4), HI, "on the kernel's stack");
  assert.equal(v.debugreg[6] & 1, 1, "DR6.B0");
});

Deno.test("64-bit PV set_debugreg: Xen's __addr_ok for DR0-3, upper halves of DR6/DR7 refused", () => {
  const m = new Machine({ image: kernel64(Uint8Array.of(0xeb, 0xfe)), memoryMiB: 16 });
  const v = m.domain.vcpus[0];
  // below 2^47, and from HYPERVISOR_VIRT_END (0xffff880000000000) up: accepted
  for (const [lo, hi] of [[0xfffff000, 0x7fff], [0, 0xffff8800], [0x81000000, HI]]) {
    assert.equal(doSetDebugreg(v, 1, lo, hi), 0, `${hi.toString(16)}:${lo.toString(16)}`);
    assert.deepEqual([v.debugreg[1], v.debugregHi[1]], [lo, hi]);
  }
  // the non-canonical hole and Xen's own range: -EPERM, the register unchanged
  for (const [lo, hi] of [[0, 0x8000], [0, 0xffff8000], [0xfffffff8, 0xffff87ff]]) {
    assert.equal(doSetDebugreg(v, 1, lo, hi), -EPERM, `${hi.toString(16)}:${lo.toString(16)}`);
    assert.deepEqual([v.debugreg[1], v.debugregHi[1]], [0x81000000, HI]);
  }
  // a 32-bit address above the 32-bit hypervisor hole is fine for a 64-bit domain
  assert.equal(doSetDebugreg(v, 2, 0xfc000000, 0), 0);
  assert.equal(doSetDebugreg(v, 6, 0, 1), -EINVAL);
  assert.equal(doSetDebugreg(v, 7, 0x401, 1), -EINVAL);
  assert.equal(readDebugreg(v, 7), 0x400, "DR7 unchanged");
  assert.equal(doSetDebugreg(v, 7, 0x401, 0), 0);
});
