/**
 * Privileged instructions a PV kernel leaves in place, run by a real guest at ring 1:
 * refused (#GP bounced) without IOPL, emulated as Xen does with it.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { type Asm, EBX, ECX, EDX, ESI, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";

const SI_VA = 0xc0020000;

function emit(a: Asm, hp: number, label: string, n: number): void {
  a.db(0x50, 0x53, 0x51, 0x52); // push eax, ebx, ecx, edx
  a.movImm(EBX, 0).movImm(ECX, n).movLabel(EDX, label).hypercall(hp, 18);
  a.db(0x5a, 0x59, 0x5b, 0x58);
}

function setSkip(a: Asm, n: number): void {
  a.db(0xc7, 0x05).ddLabel("skip").dd(n); // mov dword [skip], n
}

function emulationKernel(): Uint8Array {
  return kernelImage((a, hp) => {
    a.db(0x8b, 0x56, 0x24, 0x83, 0xca, 0x07); // edx = start_info.shared_info | 7
    a.movImm(EBX, SI_VA).db(0x89, 0xd1).movImm(EDX, 0).movImm(ESI, 2).hypercall(hp, 14);
    a.movLabel(EBX, "traps").hypercall(hp, 0);
    setSkip(a, 1);
    a.db(0xfa); // cli without IOPL -> #GP -> "G"
    a.movImm(EBX, 6).movLabel(ECX, "iopl1").hypercall(hp, 33); // PHYSDEVOP_set_iopl(1)
    a.db(0xfa); // cli: upcall mask = 1
    a.db(0xa0).dd(SI_VA + 1).db(0x04, 0x30, 0xa2).ddLabel("out"); // al=[mask]+'0'; [out]=al
    emit(a, hp, "out", 1);
    a.db(0xfb); // sti: mask = 0
    a.db(0xa0).dd(SI_VA + 1).db(0x04, 0x30, 0xa2).ddLabel("out");
    emit(a, hp, "out", 1);
    a.db(0x0f, 0x20, 0xc0).db(0xa3).ddLabel("out"); // mov eax,cr0; [out]=eax
    emit(a, hp, "out", 4);
    a.db(0xe4, 0x60).db(0xa2).ddLabel("out"); // in al,0x60 -> 0xff
    emit(a, hp, "out", 1);
    // Xen 4.17 gives a PV domU no virtual i8254 (libxl passes emulation_flags 0, so
    // pv_pit_handler answers ~0): after programming channel 2 and gating it on through
    // port 0x61, ports 0x42 and 0x61 still read all ones.
    a.db(0xb0, 0xb0, 0xe6, 0x43, 0xb0, 0xff, 0xe6, 0x42, 0xe6, 0x42); // mode 0, count 0xffff
    a.db(0xb0, 0x01, 0xe6, 0x61); // gate on
    a.db(0xe4, 0x42).db(0xa2).ddLabel("out");
    emit(a, hp, "out", 1);
    a.db(0xe4, 0x61).db(0xa2).ddLabel("out");
    emit(a, hp, "out", 1);
    a.movImm(ECX, 0xc0000080).db(0x0f, 0x32).db(0xa3).ddLabel("out"); // rdmsr EFER
    emit(a, hp, "out", 4);
    setSkip(a, 2);
    a.movImm(ECX, 0x1234).db(0x0f, 0x32); // rdmsr of an MSR outside the PV subset -> "G"
    a.db(0x0f, 0x06, 0x0f, 0x09); // clts; wbinvd
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.label("gp");
    emit(a, hp, "chG", 1);
    a.db(0x50).db(0xa1).ddLabel("skip").db(0x01, 0x44, 0x24, 0x08).db(0x58); // [esp+4]+=skip
    a.db(0x83, 0xc4, 0x04); // drop the error code
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4)); // iret
    a.align(4).label("out").dd(0).label("skip").dd(0).label("zero").dd(0);
    a.label("iopl1").dd(1).label("chG").ascii("G");
    a.align(8).label("traps").db(13, 1).db(0x19, 0xe0).ddLabel("gp").dd(0).dd(0);
  }, { bss: 0x30000 });
}

Deno.test("privileged instructions: #GP without IOPL, Xen's emulation with it", async () => {
  const sink = new ByteSink();
  const m = new Machine({
    image: emulationKernel(),
    memoryMiB: 8,
    console: sink,
    maxInstructions: 1e6,
  });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const out = sink.bytes();
  const dv = new DataView(out.buffer);
  assert.equal(String.fromCharCode(out[0], out[1], out[2]), "G10");
  assert.equal(dv.getUint32(3, true), 0x80050033, "cr0 as a PV guest reads it (TS clear)");
  assert.equal(out[7], 0xff, "in from a port a domU does not own");
  assert.deepEqual([out[8], out[9]], [0xff, 0xff], "no PIT channel 2 nor port 0x61 (has_vpit)");
  assert.equal(dv.getUint32(10, true), 0x800, "EFER.NXE");
  assert.equal(String.fromCharCode(out[14]), "G", "rdmsr outside the PV subset");
  assert.equal(out.length, 15);
});
