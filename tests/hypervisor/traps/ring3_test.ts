/**
 * Traps from user mode: the bounce frame switches to the stack_switch kernel stack and
 * carries the user's esp and ss; `int n` honours the gate's DPL (#GP(n*8+2) otherwise);
 * the iret hypercall returns to ring 3.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { type Asm, EBX, ECX, EDX, ESI, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";

const BASE = 0xc0000000;
const USER_PAGE = BASE + 0x2000; // the page after the kernel code (pfn 2): user code and stack
const KSTACK_TOP = BASE + 0x28000;

/** update_va_mapping(va, mfn_list[pfn(va)] << 12 | 7, INVLPG): make a page user-accessible. */
function userMap(a: Asm, hp: number, va: number): void {
  a.db(0x8b, 0x46, 0x44); // mov eax,[esi+68]: mfn_list
  a.db(0x8b, 0x80).dd(((va - BASE) >>> 12) * 4); // mov eax,[eax+pfn*4]
  a.db(0xc1, 0xe0, 0x0c, 0x83, 0xc8, 0x07); // shl eax,12; or eax,7
  a.db(0x56); // push esi
  a.movImm(EBX, va).db(0x89, 0xc1).movImm(EDX, 0).movImm(ESI, 2).hypercall(hp, 14);
  a.db(0x5e); // pop esi
}

function ring3Kernel(): Uint8Array {
  return kernelImage((a, hp) => {
    userMap(a, hp, USER_PAGE);
    a.movLabel(EBX, "traps").hypercall(hp, 0);
    a.movImm(EBX, 0xe021).movImm(ECX, KSTACK_TOP).hypercall(hp, 3); // stack_switch
    // User data segments first (as Linux does): the kernel keeps using them on entry.
    a.movImm(0, 0xe033).db(0x8e, 0xd8, 0x8e, 0xc0); // mov ds,ax; mov es,ax
    // Return to ring 3 with the iret hypercall: frame eax, eip, cs, eflags, esp, ss.
    a.db(0x68).dd(0xe033); // push ss
    a.db(0x68).dd(USER_PAGE + 0x1000); // push esp
    a.db(0x68).dd(0x202); // push eflags (IF)
    a.db(0x68).dd(0xe02b); // push cs
    a.db(0x68).dd(USER_PAGE); // push eip
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4)); // iret stub (pushes eax itself)
    a.label("int80"); // DPL-3 gate: frame [eip, cs|mask, eflags, esp, ss] on the kernel stack
    a.db(0x8b, 0x44, 0x24, 0x04, 0xa3).ddLabel("cs"); // [cs] = frame cs
    a.db(0x8b, 0x44, 0x24, 0x0c, 0xa3).ddLabel("usp"); // [usp] = user esp
    a.db(0x89, 0xe0, 0xa3).ddLabel("ksp"); // [ksp] = esp (on the kernel stack?)
    a.movImm(EBX, 0).movImm(ECX, 12).movLabel(EDX, "cs").hypercall(hp, 18);
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4)); // iret back to user
    a.label("gp"); // #GP: print its error code, then power off
    a.db(0x8b, 0x04, 0x24, 0xa3).ddLabel("ec"); // [ec] = error code
    a.movImm(EBX, 0).movImm(ECX, 4).movLabel(EDX, "ec").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.align(4).label("cs").dd(0).label("usp").dd(0).label("ksp").dd(0).label("ec").dd(0);
    a.label("zero").dd(0);
    a.align(8).label("traps");
    a.db(0x80, 3).db(0x19, 0xe0).ddLabel("int80"); // int 0x80, DPL 3
    a.db(0x81, 1).db(0x19, 0xe0).ddLabel("int80"); // int 0x81, DPL 1 (kernel only)
    a.db(13, 0).db(0x19, 0xe0).ddLabel("gp");
    a.dd(0).dd(0);
    // The user page: int 0x80 then int 0x81 (refused from ring 3).
    a.align(4096);
    if (a.here !== USER_PAGE) throw new Error(`user page at ${a.here.toString(16)}`);
    a.db(0xcd, 0x80, 0xcd, 0x81);
    a.label("uspin").jmpLabel("uspin");
    a.align(4096);
  }, { bss: 0x30000 });
}

Deno.test("a trap from ring 3 switches to the kernel stack; int n checks the gate DPL", async () => {
  const sink = new ByteSink();
  const m = new Machine({
    image: ring3Kernel(),
    memoryMiB: 8,
    console: sink,
    maxInstructions: 1e6,
  });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const out = sink.bytes();
  const dv = new DataView(out.buffer);
  assert.equal(out.length, 16);
  assert.equal(dv.getUint32(0, true) & 0xffff, 0xe02b, "user cs in the frame");
  assert.equal(dv.getUint32(0, true) >>> 16, 0, "saved upcall mask");
  assert.equal(dv.getUint32(4, true), USER_PAGE + 0x1000, "user esp in the frame");
  assert.equal(dv.getUint32(8, true), KSTACK_TOP - 20, "frame on the stack_switch stack");
  assert.equal(dv.getUint32(12, true), (0x81 << 3) | 2, "#GP(0x81*8+2) for a DPL-1 gate");
});
