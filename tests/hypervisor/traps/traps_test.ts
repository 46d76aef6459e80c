/**
 * Traps and events end to end, in a real guest: exceptions bounce to set_trap_table's
 * handlers with Xen's frame and return through the iret hypercall; the forced-emulation
 * prefix runs cpuid; VIRQ_TIMER arrives as an event upcall once SCHEDOP_block unmasks
 * events; a fault with no handler crashes the domain with a dump.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { type Asm, EBX, ECX, EDX, ESI, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";

const BASE = 0xc0000000;
const SI_VA = BASE + 0x20000; // a bss page remapped onto shared_info

/** console_io(write, 1, &ch) preserving ebx/ecx/edx. */
function putc(a: Asm, hp: number, label: string): void {
  a.db(0x53, 0x51, 0x52); // push ebx, ecx, edx
  a.movImm(EBX, 0).movImm(ECX, 1).movLabel(EDX, label).hypercall(hp, 18);
  a.db(0x5a, 0x59, 0x5b); // pop edx, ecx, ebx
}

function trapKernel(): Uint8Array {
  return kernelImage((a, hp) => {
    // esi = start_info: map shared_info (start_info.shared_info at +36) at SI_VA.
    a.db(0x8b, 0x56, 0x24); // mov edx,[esi+36]
    a.db(0x83, 0xca, 0x07); // or edx,7
    a.movImm(EBX, SI_VA).db(0x89, 0xd1).movImm(EDX, 0).movImm(ESI, 2); // ecx = lo, edx = hi, esi = UVMF_INVLPG
    a.hypercall(hp, 14);
    a.movLabel(EBX, "traps").hypercall(hp, 0);
    a.movImm(EBX, 0xe019).movLabel(ECX, "evt").movImm(EDX, 0xe019).movLabel(ESI, "evt");
    a.hypercall(hp, 4);
    a.db(0x0f, 0x0b); // ud2 -> "U"
    a.db(0xcc); // int3 -> "3"
    a.movImm(0, 0x40000000).db(0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2); // forced cpuid
    a.db(0x89, 0x1d).ddLabel("sig"); // mov [sig],ebx
    a.movImm(EBX, 0).movImm(ECX, 4).movLabel(EDX, "sig").hypercall(hp, 18); // "XenV"
    a.movImm(EBX, 1).movLabel(ECX, "bindvirq").hypercall(hp, 32); // bind VIRQ_TIMER
    a.movImm(EBX, 1).movImm(ECX, 0).hypercall(hp, 15); // set_timer_op(1 ns): due at once
    a.movImm(EBX, 1).movImm(ECX, 0).hypercall(hp, 29); // SCHEDOP_block -> upcall "E"
    putc(a, hp, "chB");
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.label("ud");
    putc(a, hp, "chU");
    a.db(0x83, 0x04, 0x24, 0x02); // add dword [esp],2: skip the ud2
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4)); // jmp to the iret stub
    a.label("bp");
    putc(a, hp, "ch3");
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4));
    a.label("evt");
    putc(a, hp, "chE");
    a.db(0xc6, 0x05).dd(SI_VA).db(0); // mov byte [SI_VA+0],0: evtchn_upcall_pending = 0
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4));
    a.align(4).label("sig").dd(0);
    a.label("zero").dd(0);
    a.label("chU").ascii("U").label("ch3").ascii("3").label("chE").ascii("E");
    a.label("chB").ascii("B");
    a.align(4).label("bindvirq").dd(0).dd(0).dd(0); // virq TIMER, vcpu 0, port out
    a.align(8).label("traps");
    a.db(6, 0).db(0x19, 0xe0).ddLabel("ud");
    a.db(3, 3).db(0x19, 0xe0).ddLabel("bp");
    a.dd(0).dd(0);
  }, { bss: 0x40000 });
}

Deno.test("exceptions bounce to the trap table, cpuid is emulated, VIRQ_TIMER upcalls", async () => {
  const sink = new ByteSink();
  const m = new Machine({ image: trapKernel(), memoryMiB: 8, console: sink, maxInstructions: 1e6 });
  const r = await m.run();
  const text = new TextDecoder().decode(sink.bytes());
  assert.equal(r.reason, "poweroff", r.dump);
  assert.equal(text, "U3XenVEB");
});

Deno.test("a fault with no trap handler crashes the domain with a dump", async () => {
  const img = kernelImage((a) => {
    a.db(0x0f, 0x0b); // ud2 with no trap table
  });
  const m = new Machine({ image: img, memoryMiB: 8, maxInstructions: 1e6 });
  const r = await m.run();
  assert.equal(r.reason, "crash");
  assert.match(r.dump ?? "", /unhandled trap 6/);
});

Deno.test("a trap gate with TI_SET_IF masks events in the handler; iret unmasks", async () => {
  const img = kernelImage((a, hp) => {
    a.db(0x8b, 0x56, 0x24, 0x83, 0xca, 0x07); // edx = start_info.shared_info | 7
    a.movImm(EBX, SI_VA).db(0x89, 0xd1).movImm(EDX, 0).movImm(ESI, 2).hypercall(hp, 14);
    a.db(0xc6, 0x05).dd(SI_VA + 1).db(0); // unmask events
    a.movLabel(EBX, "traps").hypercall(hp, 0);
    a.db(0xcc); // int3 -> handler with events masked
    a.db(0xa0).dd(SI_VA + 1).db(0x04, 0x30, 0xa2).ddLabel("c"); // after iret: '0' + mask
    a.movImm(EBX, 0).movImm(ECX, 1).movLabel(EDX, "c").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.label("bp");
    a.db(0xa0).dd(SI_VA + 1).db(0x04, 0x30, 0xa2).ddLabel("a"); // in the handler: '0' + mask
    a.db(0x8b, 0x44, 0x24, 0x04, 0xc1, 0xe8, 0x10, 0x04, 0x30, 0xa2).ddLabel("b"); // saved mask
    a.movImm(EBX, 0).movImm(ECX, 2).movLabel(EDX, "a").hypercall(hp, 18);
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4));
    a.label("a").db(0).label("b").db(0).label("c").db(0);
    a.align(4).label("zero").dd(0);
    a.align(8).label("traps").db(3, 3 | 4).db(0x19, 0xe0).ddLabel("bp").dd(0).dd(0);
  }, { bss: 0x40000 });
  const sink = new ByteSink();
  const m = new Machine({ image: img, memoryMiB: 8, console: sink, maxInstructions: 1e6 });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  assert.equal(new TextDecoder().decode(sink.bytes()), "100");
});

Deno.test("#PF is bounced with its error code and the address in vcpu_info.arch.cr2", async () => {
  const img = kernelImage((a, hp) => {
    a.db(0x8b, 0x56, 0x24, 0x83, 0xca, 0x07); // edx = start_info.shared_info | 7
    a.movImm(EBX, SI_VA).db(0x89, 0xd1).movImm(EDX, 0).movImm(ESI, 2).hypercall(hp, 14);
    a.movLabel(EBX, "traps").hypercall(hp, 0);
    a.db(0xa1).dd(0x80000123); // mov eax,[0x80000123]: not mapped -> #PF (5 bytes)
    a.movImm(EBX, 0).movImm(ECX, 8).movLabel(EDX, "ec").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.label("pf"); // frame: error code, eip, cs, eflags
    a.db(0x8b, 0x04, 0x24, 0xa3).ddLabel("ec"); // [ec] = error code
    a.db(0xa1).dd(SI_VA + 8).db(0xa3).ddLabel("cr2"); // [cr2] = vcpu_info.arch.cr2
    a.db(0x83, 0x44, 0x24, 0x04, 0x05); // add dword [esp+4],5: skip the load
    a.db(0x83, 0xc4, 0x04); // drop the error code
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4)); // iret
    a.align(4).label("ec").dd(0).label("cr2").dd(0).label("zero").dd(0);
    a.align(8).label("traps").db(14, 0).db(0x19, 0xe0).ddLabel("pf").dd(0).dd(0);
  }, { bss: 0x40000 });
  const sink = new ByteSink();
  const m = new Machine({ image: img, memoryMiB: 8, console: sink, maxInstructions: 1e6 });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const dv = new DataView(sink.bytes().buffer);
  assert.equal(dv.getUint32(0, true), 0, "error code: supervisor read of a not-present page");
  assert.equal(dv.getUint32(4, true), 0x80000123, "cr2");
});
