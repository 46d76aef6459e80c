/**
 * Writable page tables: a ring-1 store into one of the guest's own L1 tables through its
 * read-only mapping is emulated after validation; an entry that does not validate leaves
 * the #PF to the guest.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { EBX, ECX, EDX, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";

/**
 * Copies the L1 entry of the start_info page into the slot of va 0xc0020000 (a store
 * through the read-only mapping of the L1), then prints 4 bytes read at that va.
 * @param bad store a PTE naming machine frame 0 (Xen's) instead
 */
function ptwrKernel(bad: boolean): Uint8Array {
  return kernelImage((a, hp) => {
    a.db(0x8b, 0x7e, 0x3c); // mov edi,[esi+60]: pt_base (L3)
    a.db(0x81, 0xc7).dd(2 * 4096); // add edi,8192: the first L1 (after L3 and one L2)
    a.db(0x89, 0xf0, 0x2d).dd(0xc0000000); // mov eax,esi; sub eax,base
    a.db(0xc1, 0xe8, 0x09); // shr eax,9: pfn * 8 = offset of its entry
    a.db(0x8b, 0x04, 0x07); // mov eax,[edi+eax]: the start_info PTE (low dword)
    if (bad) a.db(0x25).dd(0xfff); // and eax,0xfff: frame 0
    a.db(0x89, 0x87).dd(0x20 * 8); // mov [edi+0x100],eax: the ptwr store
    a.movImm(EBX, 0).movImm(ECX, 4).movImm(EDX, 0xc0020000).hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.align(4).label("zero").dd(0);
  }, { bss: 0x30000 });
}

Deno.test("a store into an L1 through its read-only mapping is validated and applied", async () => {
  const sink = new ByteSink();
  const m = new Machine({
    image: ptwrKernel(false),
    memoryMiB: 8,
    console: sink,
    maxInstructions: 1e6,
  });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  assert.equal(new TextDecoder().decode(sink.bytes()), "xen-");
});

Deno.test("a store of an entry that does not validate gets the #PF", async () => {
  const m = new Machine({ image: ptwrKernel(true), memoryMiB: 8, maxInstructions: 1e6 });
  const r = await m.run();
  assert.equal(r.reason, "crash");
  assert.match(r.dump ?? "", /unhandled trap 14 \(error code 0x3\)/);
});
