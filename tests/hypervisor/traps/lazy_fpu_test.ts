/**
 * Lazy FPU switching: with the guest's CR0.TS set (fpu_taskswitch), an FPU instruction
 * raises #NM, bounced to the guest, which clears TS with clts (emulated) and retries;
 * hlt blocks until the timer event arrives.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { EBX, ECX, EDX, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";

function fpuKernel(): Uint8Array {
  return kernelImage((a, hp) => {
    a.movLabel(EBX, "traps").hypercall(hp, 0);
    a.movImm(EBX, 1).hypercall(hp, 5); // fpu_taskswitch(1): CR0.TS
    a.db(0xdb, 0xe3); // fninit -> #NM -> handler -> retried
    a.db(0xd9, 0xe8); // fld1
    a.db(0xdf, 0x1d).ddLabel("one"); // fistp word [one]
    a.movImm(EBX, 1).movLabel(ECX, "bindvirq").hypercall(hp, 32); // bind VIRQ_TIMER
    a.movImm(EBX, 1).movImm(ECX, 0).hypercall(hp, 15); // set_timer_op(1 ns): due at once
    a.db(0xf4); // hlt: returns once the timer event is pending
    a.movImm(EBX, 0).movImm(ECX, 3).movLabel(EDX, "nm").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.label("nmh");
    a.db(0xfe, 0x05).ddLabel("nm"); // inc byte [nm]
    a.db(0x0f, 0x06); // clts (emulated: fpu_taskswitch(0))
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4)); // iret: retry the FPU instruction
    a.align(4).label("nm").db(0x30).label("one").db(0, 0).label("zero").dd(0);
    a.label("bindvirq").dd(0).dd(0).dd(0);
    a.align(8).label("traps").db(7, 0).db(0x19, 0xe0).ddLabel("nmh").dd(0).dd(0);
  });
}

Deno.test("#NM with the guest's TS set is bounced; clts clears it; hlt waits for an event", async () => {
  const sink = new ByteSink();
  const m = new Machine({ image: fpuKernel(), memoryMiB: 8, console: sink, maxInstructions: 1e6 });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const out = sink.bytes();
  assert.equal(out[0], 0x31, "one #NM"); // '0' + 1
  assert.equal(out[1] | (out[2] << 8), 1, "fld1 / fistp ran after the retry");
});
