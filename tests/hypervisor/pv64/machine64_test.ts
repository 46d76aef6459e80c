/**
 * A 64-bit PV domain on the running CPU: hand-assembled kernels make hypercalls with
 * `syscall` (number in rax, arguments in rdi, rsi, rdx, results in rax), take an
 * exception through their set_trap_table entry (the 64-bit bounce frame on their stack,
 * sysret-style rcx/r11) and come back with the iret hypercall.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { BASE, kernel64, le32, movImm, sink, SYSCALL } from "./_kernel64.ts";

const RAX = 0, RCX = 1, RDX = 2, RSI = 6, RDI = 7;

/** lea rel32(%rip), reg (reg 0..7), the displacement from the end of the instruction. */
function leaRip(reg: number, from: number, to: number): number[] {
  return [0x48, 0x8d, 0x05 | (reg << 3), ...le32(to - (from + 7))];
}

Deno.test("64-bit PV: console_io and sched_op shutdown through syscall, rsi = start_info", async () => {
  const msg = new TextEncoder().encode("hello from 64-bit pvx\n");
  const code: number[] = [];
  // keep start_info's address in %rbx (mov %rsi,%rbx)
  code.push(0x48, 0x89, 0xf3);
  const leaAt = code.length;
  code.push(...leaRip(RDX, leaAt, 0)); // patched below
  code.push(...movImm(RSI, msg.length), 0x31, 0xff, ...movImm(RAX, 18), ...SYSCALL);
  // movq $0,(%rsp); mov %rsp,%rsi; mov $2,%edi; mov $29,%eax; syscall
  code.push(0x48, 0xc7, 0x04, 0x24, 0, 0, 0, 0, 0x48, 0x89, 0xe6);
  code.push(...movImm(RDI, 2), ...movImm(RAX, 29), ...SYSCALL, 0xeb, 0xfe);
  const msgAt = code.length;
  code.splice(leaAt, 7, ...leaRip(RDX, leaAt, msgAt));
  const s = sink();
  const m = new Machine({
    image: kernel64(Uint8Array.from([...code, ...msg])),
    memoryMiB: 16,
    console: s,
  });
  const v = m.domain.vcpus[0];
  assert.ok(m.built64 !== null && v.pv64 !== null && v.cpu64 !== null);
  const r = await m.run(undefined, 10_000);
  assert.equal(s.text(), "hello from 64-bit pvx\n");
  assert.equal(r.reason, "poweroff");
  // rbx kept rsi as the builder set it: start_info's virtual address, "xen-3.0-x86_64"
  const si = v.cpu64!.lo(3) + v.cpu64!.hi(3) * 2 ** 32;
  const magic = new Uint8Array(14);
  assert.ok(v.access.copyFromGuest(si, magic));
  assert.equal(new TextDecoder().decode(magic), "xen-3.0-x86_64");
});

Deno.test("64-bit PV: an unknown hypercall number answers -ENOSYS sign-extended in rax", async () => {
  const code = [...movImm(RAX, 63), ...SYSCALL, 0xeb, 0xfe];
  const m = new Machine({ image: kernel64(Uint8Array.from(code)), memoryMiB: 16 });
  await m.run(undefined, 100);
  const c = m.domain.vcpus[0].cpu64!;
  assert.equal(c.lo(RAX), -38 >>> 0);
  assert.equal(c.hi(RAX), 0xffffffff);
});

Deno.test("64-bit PV: #UD bounces to the set_trap_table handler with Xen's frame, iret returns", async () => {
  // set_trap_table(&table); ud2; [resumes here after iret] movl $0x5a,%ebx; jmp .
  // handler: pop %rcx; pop %r11; the saved rip += 2 (past ud2); then what the guest and
  //          Xen's iret stub push: flags 0, rcx, r11, rax; mov $23,%eax; syscall
  const code: number[] = [];
  const leaAt = code.length;
  code.push(...leaRip(RDI, leaAt, 0), ...movImm(RAX, 0), ...SYSCALL);
  const ud2At = code.length;
  code.push(0x0f, 0x0b);
  const resumeAt = code.length;
  code.push(0xbb, 0x5a, 0, 0, 0, 0xeb, 0xfe); // mov $0x5a,%ebx; jmp .
  const handlerAt = code.length;
  // pop %rcx; pop %r11; addq $2,(%rsp) (the frame's rip past ud2)
  code.push(0x59, 0x41, 0x5b, 0x48, 0x83, 0x04, 0x24, 0x02);
  // push $0 (VGCF flags); push %rcx; push %r11; push %rax; mov $23,%eax; syscall
  code.push(0x6a, 0x00, 0x51, 0x41, 0x53, 0x50, ...movImm(RAX, 23), ...SYSCALL, 0xeb, 0xfe);
  while (code.length % 8) code.push(0x90);
  const tableAt = code.length;
  // trap_info { vector 6, flags 0, cs 0xe033, pad, address } then the sentinel
  code.push(6, 0, 0x33, 0xe0, 0, 0, 0, 0, ...le32(BASE + handlerAt), 0, 0, 0, 0);
  code.push(...new Array(16).fill(0));
  code.splice(leaAt, 7, ...leaRip(RDI, leaAt, tableAt));

  // First stop after the handler's first instruction (pop %rcx) to look at the frame (a
  // run of even one instruction goes on from a bounce into the handler).
  const m = new Machine({
    image: kernel64(Uint8Array.from(code)),
    memoryMiB: 16,
    sliceInstructions: 1,
  });
  const v = m.domain.vcpus[0], c = v.cpu64!;
  const rsp0 = c.lo(4);
  await m.run(() => (v.cpu.eip >>> 0) === BASE + handlerAt + 1, 1000);
  assert.equal(v.cpu.eip >>> 0, BASE + handlerAt + 1);
  const frameAt = c.lo(4) - 8;
  const f = new Uint8Array(56);
  assert.ok(v.access.copyFromGuest(frameAt, f));
  const w = (i: number) => new DataView(f.buffer).getUint32(i * 8, true);
  const wh = (i: number) => new DataView(f.buffer).getUint32(i * 8 + 4, true);
  // {rcx, r11, rip, cs | mask << 32, rflags, rsp, ss}: rcx/r11 as the syscall left them
  assert.equal(w(0), BASE + ud2At, "rcx: the rip after set_trap_table's syscall");
  assert.equal(w(2), BASE + ud2At, "rip: the ud2");
  assert.equal(w(3), 0xe030, "cs with RPL 0: the kernel was interrupted");
  assert.equal(wh(3), 1, "the saved upcall mask (the builder leaves events masked)");
  assert.equal(w(5), rsp0, "rsp");
  assert.equal(w(6), 0xe02b, "ss");
  assert.equal(frameAt & 0xf, 8, "7 words under a 16-byte aligned stack top");
  assert.equal(c.lo(RCX), BASE + ud2At, "pop %rcx took the frame's rcx");
  // sysret semantics on the way in: r11 = rflags (with IF)
  assert.equal(c.lo(11) & 0x200, 0x200);
  // Then the handler irets past the ud2.
  await m.run(() => c.lo(3) === 0x5a, 1000);
  assert.equal(c.lo(3), 0x5a);
  assert.equal(v.cpu.eip >>> 0, BASE + resumeAt + 5);
  assert.equal(c.lo(4), rsp0, "rsp back as before the exception");
  assert.equal(v.domain.isShutdown, false);
});

Deno.test("64-bit PV: a fault with no trap handler crashes the domain with a 64-bit dump", async () => {
  const m = new Machine({ image: kernel64(Uint8Array.from([0x0f, 0x0b])), memoryMiB: 16 });
  const r = await m.run(undefined, 100);
  assert.equal(r.reason, "crash");
  assert.match(r.dump ?? "", /unhandled trap 6/);
  assert.match(r.dump ?? "", /RIP: e033:\[<0000000000100000>\]/);
  assert.match(r.dump ?? "", /rax: 0000000000000000/);
});
