/**
 * HYPERVISOR_iret of a 64-bit guest whose return context does not load (Xen's iretq to
 * the guest faults): the failsafe callback gets the context in an 11-word frame (rcx,
 * r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss); without one the domain crashes. With
 * VGCF_in_syscall Xen returns by sysret, which loads the flat selectors whatever cs/ss
 * said. Found by the 64-bit random-code fuzzer.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { Pv64Platform } from "../../../lib/hypervisor/machine/pv64_platform.ts";
import { BASE, kernel64 } from "./_kernel64.ts";

const RAX = 0, RCX = 1, RDX = 2, RSP = 4, RSI = 6, RDI = 7, R11 = 11;
const EVENT = BASE + 0x100, FAILSAFE = BASE + 0x200, RESUME = BASE + 0x300;

function rig() {
  const m = new Machine({ image: kernel64(new Uint8Array(0x1000).fill(0x90)), memoryMiB: 16 });
  const v = m.domain.vcpus[0], c = v.cpu64!;
  const platform = new Pv64Platform(v);
  const hypercall = (nr: number, ...args: number[]) => {
    c.setReg(RAX, nr, 0);
    [RDI, RSI, RDX].forEach((r, i) => c.setReg(r, args[i] ?? 0, 0));
    platform.syscall();
  };
  /** Pushes an iret_context (rax, r11, rcx, flags, rip, cs, rflags, rsp, ss) and irets. */
  const iret = (flags: number, cs: number, ss: number) => {
    const sp = c.lo(RSP) - 72;
    const words = [0x1234, 5, 6, flags, RESUME, cs, 0x202, c.lo(RSP), ss];
    const b = new Uint8Array(72), dv = new DataView(b.buffer);
    words.forEach((w, i) => dv.setUint32(i * 8, w, true));
    assert.ok(v.access.copyToGuest(sp, b));
    c.setReg(RSP, sp, 0);
    hypercall(23);
  };
  const frame = (n: number) => {
    const b = new Uint8Array(n * 8);
    assert.ok(v.access.copyFromGuest(c.lo(RSP), b));
    const dv = new DataView(b.buffer);
    return [...Array(n).keys()].map((i) => dv.getUint32(i * 8, true));
  };
  return { m, v, c, hypercall, iret, frame };
}

Deno.test("64-bit iret to unloadable selectors bounces to the failsafe callback with its 11-word frame", () => {
  const { m, v, c, hypercall, iret, frame } = rig();
  hypercall(4, EVENT, FAILSAFE, 0); // set_callbacks(event, failsafe, syscall)
  const rsp0 = c.lo(RSP);
  iret(0, 0, 0); // cs 0 and ss 0 (| 3): null selectors
  assert.equal(m.domain.isShutdown, false, m.domain.crashReason);
  assert.equal(v.cpu.eip >>> 0, FAILSAFE);
  assert.equal(v.cpu.getSeg(1), 0xe033);
  const f = frame(11);
  assert.deepEqual(f.slice(0, 2), [6, 5], "rcx, r11 of the iret context");
  assert.deepEqual(f.slice(6, 8), [RESUME, 0], "rip, then cs (RPL cleared: kernel mode)");
  assert.equal(f[8] & 0x200, 0x200, "rflags with IF");
  assert.deepEqual(f.slice(9), [rsp0, 3], "rsp, ss");
  assert.equal(c.lo(RAX), 0x1234, "rax from the iret context");
});

Deno.test("64-bit iret to unloadable selectors without a failsafe callback crashes the domain", () => {
  const { m, iret } = rig();
  iret(0, 0, 0);
  assert.equal(m.domain.isShutdown, true);
  assert.match(m.domain.crashReason, /iret: bad return selectors cs=0x3 ss=0x3, and no failsafe/);
});

Deno.test("64-bit iret with VGCF_in_syscall returns by sysret on the flat selectors", () => {
  const { m, v, c, iret } = rig();
  iret(1 << 8, 0, 0); // VGCF_in_syscall
  assert.equal(m.domain.isShutdown, false, m.domain.crashReason);
  assert.equal(v.cpu.eip >>> 0, RESUME);
  assert.equal(v.cpu.getSeg(1), 0xe033);
  assert.equal(v.cpu.getSeg(2), 0xe02b);
  assert.equal(c.lo(RCX), RESUME, "sysret: rcx = rip");
  assert.equal(c.lo(R11) & 0x200, 0x200, "sysret: r11 = rflags | IF");
});
