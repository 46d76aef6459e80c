import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { readStartInfo } from "../../../lib/hypervisor/builder/start_info.ts";
import { fillHypercallPage } from "../../../lib/hypervisor/builder/hypercall_page.ts";
import { helloKernel } from "../_image.ts";

Deno.test("buildDomain() fills start_info as xc_dom does and the registers point at it", () => {
  const ramdisk = new Uint8Array(10_000).fill(0x5a);
  const m = new Machine({
    image: helloKernel(),
    memoryMiB: 8,
    cmdline: "console=hvc0 quiet",
    ramdisk,
  });
  const b = m.built;
  const d = m.domain;
  const page = m.host.mem.u8.subarray(d.mfnOf(b.layout.startInfoPfn) * 4096).subarray(0, 4096);
  const si = readStartInfo(page);
  assert.equal(si.magic, "xen-3.0-x86_32p");
  assert.equal(si.nrPages, 2048);
  assert.equal(si.sharedInfoMaddr, d.sharedInfoMfn * 4096);
  assert.equal(si.storeMfn, d.mfnOf(b.layout.xenstorePfn));
  assert.equal(si.consoleMfn, d.mfnOf(b.layout.consolePfn));
  assert.ok(si.storeEvtchn > 0 && si.consoleEvtchn > 0 && si.storeEvtchn !== si.consoleEvtchn);
  assert.equal(si.ptBase, b.layout.pgtables.vstart);
  assert.equal(si.nrPtFrames, b.layout.nrL3 + b.layout.nrL2 + b.layout.nrL1);
  assert.equal(si.mfnList, b.layout.p2m.vstart);
  assert.equal(si.modStart, b.layout.ramdisk?.vstart);
  assert.equal(si.modLen, 12288);
  assert.equal(si.cmdline, "console=hvc0 quiet");
  assert.equal(b.regs.esi, 0xc0000000 + b.layout.startInfoPfn * 4096);
  assert.equal(b.regs.esp, 0xc0000000 + (b.layout.bootstackPfn + 1) * 4096);
  assert.equal(b.regs.cs, 0xe019);
  // The P2M list the guest reads names the machine frames of its pfns.
  const v = d.vcpus[0];
  for (const pfn of [0, 1, 100, 2047]) {
    assert.equal(v.access.readU32(si.mfnList + pfn * 4), d.mfnOf(pfn));
  }
  // Machine frames are not the identity of pfns.
  assert.notEqual(d.mfnOf(0), 0);
  // Events start masked.
  assert.equal(m.host.mem.u8[d.sharedInfoMfn * 4096 + 1], 1);
  // The ramdisk is in place.
  assert.equal(v.access.readU32(si.modStart), 0x5a5a5a5a);
});

Deno.test("buildDomain() maps page-table pages read-only and pins the L3", () => {
  const m = new Machine({ image: helloKernel(), memoryMiB: 8 });
  const l = m.built.layout;
  const v = m.domain.vcpus[0];
  const f = m.host.frames;
  assert.equal(v.access.copyToGuest(l.pgtables.vstart, new Uint8Array(4)), false);
  assert.equal(v.access.copyToGuest(l.p2m.vstart, new Uint8Array(4)), true);
  const l3 = m.built.regs.cr3 / 4096;
  assert.equal(f.type[l3], 3); // PGT_l3_page_table
  assert.ok(f.tflags[l3] & 1); // pinned
});

Deno.test("fillHypercallPage() writes Xen's 32-bit stubs, iret's without a ret", () => {
  const p = new Uint8Array(4096);
  fillHypercallPage(p);
  assert.deepEqual([...p.subarray(18 * 32, 18 * 32 + 9)], [
    0xb8,
    18,
    0,
    0,
    0,
    0xcd,
    0x82,
    0xc3,
    0xcc,
  ]);
  assert.deepEqual([...p.subarray(23 * 32, 23 * 32 + 9)], [
    0x50,
    0xb8,
    23,
    0,
    0,
    0,
    0xcd,
    0x82,
    0xcc,
  ]);
  assert.equal(p[4095], 0xcc);
});
