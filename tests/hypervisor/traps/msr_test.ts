/**
 * MSRs a PV guest reads and writes through Xen's emulation (guest_rdmsr / read_msr for an
 * Intel policy): CPUID faulting offered and switchable, DEBUGCTL and the RAZ MSRs, PAT,
 * APIC_BASE, FEATURE_CONTROL; an unknown MSR raises #GP.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { EAX, EBX, ECX, EDX, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";

const READS = [0x1d9, 0xce, 0x140, 0x3a, 0x1b, 0x277, 0x198, 0x19c, 0x345];

function msrKernel(): Uint8Array {
  return kernelImage((a, hp) => {
    a.movLabel(EBX, "traps").hypercall(hp, 0);
    let slot = 0;
    const read = (msr: number) => {
      a.movImm(ECX, msr).db(0x0f, 0x32); // rdmsr
      a.db(0xa3).ddLabel("out", slot * 8).db(0x89, 0x15).ddLabel("out", slot * 8 + 4);
      slot++;
    };
    for (const m of READS) read(m);
    a.movImm(ECX, 0x140).movImm(EAX, 1).movImm(EDX, 0).db(0x0f, 0x30); // CPUID faulting on
    read(0x140);
    a.movImm(ECX, 0x140).movImm(EAX, 0).db(0x0f, 0x30);
    read(0x140);
    a.movImm(ECX, 0x12345).db(0x0f, 0x32); // unknown: #GP, the handler skips it
    a.movImm(EBX, 0).movImm(ECX, slot * 8 + 4).movLabel(EDX, "out").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.label("gp"); // count the #GP, skip the 2-byte rdmsr, drop the error code, iret
    a.db(0x83, 0x05).ddLabel("out", slot * 8).db(0x01);
    a.db(0x83, 0x44, 0x24, 0x04, 0x02, 0x83, 0xc4, 0x04);
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4));
    a.align(4).label("zero").dd(0).label("out");
    for (let i = 0; i < slot * 2 + 1; i++) a.dd(0);
    a.align(8).label("traps").db(13, 1).db(0x19, 0xe0).ddLabel("gp").dd(0).dd(0);
  }, { bss: 0x30000 });
}

Deno.test("rdmsr/wrmsr: Xen's PV answers, CPUID faulting switchable, #GP for unknown", async () => {
  const sink = new ByteSink();
  const m = new Machine({ image: msrKernel(), memoryMiB: 8, console: sink, maxInstructions: 1e6 });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const out = sink.bytes();
  const dv = new DataView(out.buffer, out.byteOffset);
  const q = (i: number) => [dv.getUint32(i * 8, true), dv.getUint32(i * 8 + 4, true)];
  assert.deepEqual(q(0), [0, 0], "DEBUGCTL");
  assert.deepEqual(q(1), [0x80000000, 0], "PLATFORM_INFO: CPUID faulting");
  assert.deepEqual(q(2), [0, 0], "MISC_FEATURES_ENABLES");
  assert.deepEqual(q(3), [1, 0], "FEATURE_CONTROL: locked");
  assert.deepEqual(q(4), [0xfee00900, 0], "APIC_BASE of vcpu 0");
  assert.deepEqual(q(5), [0x00070406, 0x0501], "PAT");
  for (const i of [6, 7, 8]) assert.deepEqual(q(i), [0, 0], `RAZ ${READS[i].toString(16)}`);
  assert.deepEqual(q(9), [1, 0], "faulting on");
  assert.deepEqual(q(10), [0, 0], "faulting off");
  assert.equal(dv.getUint32(11 * 8, true), 1, "one #GP, for the unknown MSR");
});
