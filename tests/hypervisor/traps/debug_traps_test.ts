/**
 * Debug traps a real PV guest sees through its trap table: EFLAGS.TF over an instruction
 * Xen emulates (DR6.BS), and an I/O breakpoint (CR4.DE set by `mov cr4`, DR7 R/W = 2) on
 * emulated port I/O (DR6.B0), each a #DB after the instruction.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { type Asm, EBX, ECX, EDX, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";

function emit(a: Asm, hp: number, label: string, n: number): void {
  a.db(0x50, 0x53, 0x51, 0x52); // push eax, ebx, ecx, edx
  a.movImm(EBX, 0).movImm(ECX, n).movLabel(EDX, label).hypercall(hp, 18);
  a.db(0x5a, 0x59, 0x5b, 0x58);
}

function debugKernel(): Uint8Array {
  return kernelImage((a, hp) => {
    a.movLabel(EBX, "traps").hypercall(hp, 0); // set_trap_table
    a.movImm(EBX, 6).movLabel(ECX, "iopl1").hypercall(hp, 33); // PHYSDEVOP_set_iopl(1)
    // 1. TF set by popf, then `in al, 0x60`, which Xen emulates: #DB (BS) after it.
    a.db(0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d); // pushf; or [esp],0x100; popf
    a.db(0xe4, 0x60).label("after1").db(0x90); // in al, 0x60; nop
    // 2. CR4.DE, DR0 = port 0x60, DR7 = L0 | I/O | len 1, then `in al, 0x60`: #DB (B0).
    a.db(0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x08, 0x0f, 0x22, 0xe0); // mov eax,cr4; or 8; mov cr4
    a.movImm(EBX, 0).movImm(ECX, 0x60).hypercall(hp, 8);
    a.movImm(EBX, 6).movImm(ECX, 0xffff0ff0).hypercall(hp, 8);
    a.movImm(EBX, 7).movImm(ECX, 0x20401).hypercall(hp, 8);
    a.db(0xe4, 0x60).label("after2").db(0x90);
    emit(a, hp, "out", 16);
    emit(a, hp, "exp", 8);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29); // SCHEDOP_shutdown(poweroff)
    a.label("spin").jmpLabel("spin");
    // #DB handler: record the frame's eip and DR6, clear TF in the frame, iret.
    a.label("db");
    a.db(0x50, 0x53, 0x51, 0x52);
    a.movImm(EBX, 6).hypercall(hp, 9); // eax = get_debugreg(6)
    a.db(0x8b, 0x15).ddLabel("slot"); // mov edx, [slot]
    a.db(0x8b, 0x4c, 0x24, 0x10); // mov ecx, [esp+16] (the frame's eip)
    a.db(0x89, 0x8a).ddLabel("out"); // mov [out+edx], ecx
    a.db(0x89, 0x82).ddLabel("out", 4); // mov [out+edx+4], eax
    a.db(0x83, 0x05).ddLabel("slot").db(0x08); // add dword [slot], 8
    a.db(0x81, 0x64, 0x24, 0x18, 0xff, 0xfe, 0xff, 0xff); // and dword [esp+24], ~TF
    a.db(0x5a, 0x59, 0x5b, 0x58);
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4)); // iret
    a.align(4).label("out").dd(0).dd(0).dd(0).dd(0).label("slot").dd(0).label("zero").dd(0);
    a.label("exp").ddLabel("after1").ddLabel("after2").label("iopl1").dd(1);
    a.align(8).label("traps").db(1, 1).db(0x19, 0xe0).ddLabel("db").dd(0).dd(0);
  }, { bss: 0x30000 });
}

Deno.test("#DB: TF over an emulated instruction, and an I/O breakpoint, via the trap table", async () => {
  const sink = new ByteSink();
  const m = new Machine({
    image: debugKernel(),
    memoryMiB: 8,
    console: sink,
    maxInstructions: 1e6,
  });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const out = sink.bytes();
  assert.equal(out.length, 24);
  const dv = new DataView(out.buffer, out.byteOffset);
  const [eip1, dr61, eip2, dr62, exp1, exp2] = [0, 4, 8, 12, 16, 20].map((o) =>
    dv.getUint32(o, true)
  );
  assert.equal(eip1, exp1, "the step trap follows the emulated in");
  assert.equal(dr61, 0xffff4ff0, "DR6.BS");
  assert.equal(eip2, exp2, "the I/O breakpoint traps after the in");
  assert.equal(dr62, 0xffff0ff1, "DR6.B0");
});
