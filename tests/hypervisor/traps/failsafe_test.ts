/**
 * Descriptor tables: set_gdt takes the guest's own (read-only) descriptor page,
 * segment loads use it, and making the loaded DS descriptor not-present with
 * update_descriptor sends the guest to its failsafe callback with the old selectors.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { EBX, ECX, EDX, ESI, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";

const BASE = 0xc0000000;
const GDT_VA = BASE + 0x2000; // pfn 2: the page after the code

function failsafeKernel(): Uint8Array {
  return kernelImage((a, hp) => {
    a.db(0x8b, 0x46, 0x44); // mov eax,[esi+68]: mfn_list
    a.db(0x8b, 0x40, 0x08); // mov eax,[eax+8]: mfn of pfn 2
    a.db(0xa3).ddLabel("frames"); // [frames] = mfn
    a.db(0xc1, 0xe0, 0x0c, 0x83, 0xc8, 0x21); // shl eax,12; or eax,0x21 (present, read-only)
    a.movImm(EBX, GDT_VA).db(0x89, 0xc1).movImm(EDX, 0).movImm(ESI, 2).hypercall(hp, 14);
    a.db(0xa3).ddLabel("ret1");
    a.movImm(EBX, 0xe019).movLabel(ECX, "spin").movImm(EDX, 0xe019).movLabel(ESI, "fs");
    a.hypercall(hp, 4); // set_callbacks(event, failsafe)
    a.movLabel(EBX, "frames").movImm(ECX, 16).hypercall(hp, 2); // set_gdt
    a.db(0xa3).ddLabel("ret2");
    a.movImm(0, 0x09).db(0x8e, 0xd8); // mov ds,ax: GDT entry 1 (flat data, DPL 1)
    a.db(0xa1).ddLabel("frames"); // mov eax,[frames] through the new DS
    a.db(0xc1, 0xe0, 0x0c, 0x83, 0xc8, 0x08, 0x89, 0xc3); // ebx = mfn << 12 | 8
    a.movImm(ECX, 0).movImm(EDX, 0x0000ffff).movImm(ESI, 0x00cf3200); // not present
    a.hypercall(hp, 10); // update_descriptor -> DS no longer loads -> failsafe
    a.label("spin").jmpLabel("spin");
    a.label("fs"); // frame: ds, es, fs, gs, eip, cs, eflags
    a.movImm(0, 0xe021).db(0x8e, 0xd8); // repair ds first
    a.db(0x8b, 0x04, 0x24, 0xa3).ddLabel("oldds");
    a.movImm(EBX, 0).movImm(ECX, 12).movLabel(EDX, "ret1").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.align(4).label("ret1").dd(0xffff).label("ret2").dd(0xffff).label("oldds").dd(0);
    a.label("frames").dd(0).label("zero").dd(0);
    a.align(4096);
    if (a.here !== GDT_VA) throw new Error(`GDT page at ${a.here.toString(16)}`);
    a.dd(0).dd(0); // entry 0: null
    a.dd(0x0000ffff).dd(0x00cfb200); // entry 1: flat data, DPL 1
    a.align(4096);
  }, { bss: 0x30000 });
}

Deno.test("set_gdt loads the guest's descriptors; a vanished DS descriptor hits the failsafe", async () => {
  const sink = new ByteSink();
  const m = new Machine({
    image: failsafeKernel(),
    memoryMiB: 8,
    console: sink,
    maxInstructions: 1e6,
  });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const dv = new DataView(sink.bytes().buffer);
  assert.equal(dv.getInt32(0, true), 0, "remap read-only");
  assert.equal(dv.getInt32(4, true), 0, "set_gdt");
  assert.equal(dv.getUint32(8, true), 0x09, "the old DS in the failsafe frame");
});
