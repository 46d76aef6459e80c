/**
 * The x86_64 ABI of the hypervisor side, on hand-assembled 64-bit kernels: privileged
 * instructions emulated from #GP (mov from %cr3, wrmsr/rdmsr of FS_BASE and GS_BASE,
 * swapgs), event channels in the x86_64 shared_info (bitmaps at 2048/2560, a 64-bit
 * selector at vcpu_info + 8, 4096 ports), memory_op's 32-byte reservation with 8-byte
 * extents, and SCHEDOP_poll's 24-byte struct.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { BASE, kernel64, le32, movImm, SYSCALL } from "./_kernel64.ts";

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RDI = 7;
const JMP_SELF = [0xeb, 0xfe];

function machine(code: number[], pages = 16): Machine {
  return new Machine({ image: kernel64(Uint8Array.from(code)), memoryMiB: pages });
}

Deno.test("64-bit PV: mov from %cr3, wrmsr/rdmsr FS_BASE and GS_BASE, swapgs are emulated", async () => {
  const code = [
    0x0f,
    0x20,
    0xdb, // mov %cr3,%rbx
    ...movImm(RCX, 0xc0000100), // FS_BASE
    ...movImm(RAX, 0x12345000),
    ...movImm(RDX, 0x7fff),
    0x0f,
    0x30, // wrmsr
    ...movImm(RCX, 0xc0000101), // GS_BASE
    ...movImm(RAX, 0xabc000),
    ...movImm(RDX, 0),
    0x0f,
    0x30,
    0x0f,
    0x01,
    0xf8, // swapgs: the value goes to the shadow
    ...movImm(RCX, 0xc0000102), // SHADOW_GS_BASE
    0x0f,
    0x32, // rdmsr -> edx:eax
    ...JMP_SELF,
  ];
  const m = machine(code);
  await m.run(undefined, 200);
  const v = m.domain.vcpus[0], c = v.cpu64!;
  assert.equal(m.domain.isShutdown, false);
  // cr3 as Xen gives it: the kernel L4's machine address
  assert.equal(c.lo(RBX), m.built64!.regs.cr3);
  const b = new Uint32Array(2);
  c.getBase(0, b);
  assert.deepEqual([...b], [0x12345000, 0x7fff]);
  c.getBase(2, b);
  assert.deepEqual([...b], [0xabc000, 0]);
  assert.equal(c.lo(RAX), 0xabc000);
  assert.equal(c.lo(RDX), 0);
  // a non-canonical FS_BASE is refused: #GP to the guest (no handler: crash)
  const bad = machine([
    ...movImm(RCX, 0xc0000100),
    ...movImm(RAX, 0),
    ...movImm(RDX, 0x8000),
    0x0f,
    0x30,
    ...JMP_SELF,
  ]);
  const r = await bad.run(undefined, 100);
  assert.equal(r.reason, "crash");
  assert.match(r.dump ?? "", /unhandled trap 13/);
});

Deno.test("64-bit PV: event channels use the x86_64 shared_info layout and 4096 ports", () => {
  const m = machine(JMP_SELF);
  const d = m.domain, ev = d.evtchn!;
  assert.equal(ev.maxPorts, 4096);
  const port = ev.allocUnbound(0x7ff0, d.domid);
  assert.ok(port > 0);
  // bind far up so the selector needs its upper word: a port of the 64th bitmap word
  const si = d.sharedInfo();
  d.host.mem.u8[d.vcpus[0].vcpuInfoMaddr + 1] = 0; // unmask upcalls
  const high = 64 * 5 + 3;
  ev.shared.testAndClearMask(high);
  assert.equal(ev.shared.testAndSetPending(high), false);
  // pending bit `high` at shared_info + 2048 (x86_64 evtchn_pending)
  assert.equal((si.getUint8(2048 + (high >> 3)) >> (high & 7)) & 1, 1);
  // send on a bound port: pending bit, selector bit port >> 6 in the 8-byte selector
  const a = ev.allocUnbound(d.domid, d.domid);
  const b = ev.bindInterdomain(d.domid, a);
  assert.ok(typeof b === "number" && b > 0);
  ev.shared.testAndClearMask(a);
  assert.equal(ev.send(b as number), 0);
  const vi = d.vcpus[0].vcpuInfoMaddr;
  const dv = d.host.mem.dv;
  assert.equal((si.getUint8(2048 + (a >> 3)) >> (a & 7)) & 1, 1);
  assert.equal(dv.getUint32(vi + 8, true) & (1 << (a >> 6)), 1 << (a >> 6));
  assert.equal(d.host.mem.u8[vi], 1, "evtchn_upcall_pending");
  // the wallclock sits at 3072 (x86_64), not at the i386 offset inside the bitmaps
  assert.equal(si.getUint32(3072, true) % 2, 0, "wc_version even");
  assert.equal(si.getUint32(2304, true), 0, "nothing written at the i386 offset");
});

Deno.test("64-bit PV: populate_physmap takes a 32-byte reservation with 8-byte extents", async () => {
  // reservation at buf: extent_start = buf + 64, nr_extents = 2, order 0, flags 0, domid
  // DOMID_SELF; pfns 100 and 101 (a PV guest keeps its own P2M: Xen records the M2P)
  const code: number[] = [];
  const leaAt = code.length;
  code.push(0x48, 0x8d, 0x35, 0, 0, 0, 0); // lea buf(%rip),%rsi
  code.push(...movImm(RDI, 6), ...movImm(RAX, 12), ...SYSCALL); // memory_op(populate)
  code.push(0x48, 0x89, 0xc3, ...JMP_SELF); // mov %rax,%rbx
  while (code.length % 16) code.push(0x90);
  const bufAt = code.length;
  const buf = new Array(96).fill(0);
  buf.splice(0, 8, ...le32(BASE + bufAt + 64), 0, 0, 0, 0);
  buf.splice(8, 8, 2, 0, 0, 0, 0, 0, 0, 0);
  buf.splice(24, 2, 0xf0, 0x7f);
  buf.splice(64, 8, ...le32(100), 0, 0, 0, 0);
  buf.splice(72, 8, ...le32(101), 0, 0, 0, 0);
  code.push(...buf);
  code.splice(leaAt + 3, 4, ...le32(bufAt - (leaAt + 7)));
  const m = new Machine({
    image: kernel64(Uint8Array.from(code)),
    memoryMiB: 16,
    sliceInstructions: 10,
  });
  const d = m.domain;
  d.maxPages += 8; // room for two more pages
  await m.run(undefined, 100);
  const c = d.vcpus[0].cpu64!;
  assert.equal(c.lo(RBX), 2, "both extents populated");
  const v = d.vcpus[0];
  const out = new Uint8Array(16);
  assert.ok(v.access.copyFromGuest(BASE + bufAt + 64, out));
  const o = new DataView(out.buffer);
  for (const [i, pfn] of [[0, 100], [1, 101]]) {
    const mfn = o.getUint32(i * 8, true);
    assert.equal(o.getUint32(i * 8 + 4, true), 0, "the 8-byte entry's upper half");
    assert.equal(d.host.frames.m2p.get(mfn as never), pfn);
  }
});

Deno.test("64-bit PV: SCHEDOP_poll reads the 24-byte sched_poll (a pending port returns at once)", async () => {
  // sched_poll at buf: ports = buf + 32, nr_ports 1, timeout 0; port 1 made pending first
  const code: number[] = [];
  const leaAt = code.length;
  code.push(0x48, 0x8d, 0x35, 0, 0, 0, 0); // lea buf(%rip),%rsi
  code.push(...movImm(RDI, 3), ...movImm(RAX, 29), ...SYSCALL, 0x48, 0x89, 0xc3, ...JMP_SELF);
  while (code.length % 16) code.push(0x90);
  const bufAt = code.length;
  const buf = new Array(48).fill(0);
  buf.splice(0, 4, ...le32(BASE + bufAt + 32));
  buf.splice(8, 4, 1, 0, 0, 0);
  buf.splice(32, 4, 1, 0, 0, 0);
  code.push(...buf);
  code.splice(leaAt + 3, 4, ...le32(bufAt - (leaAt + 7)));
  const m = machine(code);
  const d = m.domain;
  d.evtchn!.shared.testAndSetPending(1);
  await m.run(undefined, 100);
  const v = d.vcpus[0];
  assert.equal(v.cpu64!.lo(RBX), 0);
  assert.equal(v.blocked, false);
});
