/**
 * Native long-mode delivery (`Cpu.deliver64`) driven by a flat long-mode platform: ltr of
 * a 16-byte TSS, lidt, iretq to ring 3, int3 from ring 3 through a DPL-3 trap gate onto
 * TSS.RSP0 and back by iretq, a #PF from ring 3 through an interrupt gate on IST1 (the
 * 16-byte-aligned frame SS, RSP, RFLAGS, CS, RIP, error code; IF cleared; SS null), and
 * the gate checks (#GP(vector*8+2) for a DPL-0 gate from int n at ring 3, #NP).
 * @module
 */

import assert from "node:assert/strict";
import { EXC_SOFTINT, hex } from "../../../lib/cpu/mod.ts";
import { getReg } from "./machine64.ts";
import { getQ, putQ, SEL, sysMachine, TSS_AT } from "./sys_machine.ts";

const IDT = 0x8000;

/** Writes a 16-byte IDT gate. */
function gate(dv: DataView, v: number, off: number, dpl: number, type: number, ist = 0) {
  const at = IDT + v * 16;
  dv.setUint32(at, (SEL.kcs << 16) | (off & 0xffff), true);
  dv.setUint32(at + 4, ((off & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8) | ist) >>> 0, true);
  dv.setUint32(at + 8, 0, true);
  dv.setUint32(at + 12, 0, true);
}

function machine() {
  // mov eax, 0x48; ltr ax; lidt [rip+idtr]; push 0x2b; push 0x40000; push 0x202; push 0x33;
  // push 0x1100; iretq; idtr: .word 0xfff; .quad 0x8000
  const m = sysMachine(hex(
    "b8480000000f00d80f011d150000006a2b680000040068020200006a33680011000048cf" +
      "ff0f008000000000000000",
  ));
  const { cpu, mem, platform } = m;
  mem.write(0x1100, hex("cc488b042500002000")); // int3; mov rax, [0x200000]
  mem.write(0x3000, hex("4989e748cf")); // mov r15, rsp; iretq
  mem.write(0x3100, hex("0f20d05bf4")); // mov rax, cr2; pop rbx; hlt
  gate(mem.dv, 3, 0x3000, 3, 0xf);
  gate(mem.dv, 14, 0x3100, 0, 0xe, 1);
  gate(mem.dv, 0x80, 0x3000, 0, 0xe);
  putQ(m, TSS_AT + 4, 0xa000n); // RSP0
  putQ(m, TSS_AT + 0x24, 0xb008n); // IST1 (aligned down to 0xb000)
  platform.onException = (v, e, k) => {
    if (cpu.deliver64(v, e, k) !== 0) cpu.stop();
  };
  return m;
}

Deno.test("deliver64: int3 at ring 3 onto TSS.RSP0 and iretq back; #PF on IST1 with its error code", () => {
  const m = machine();
  const { cpu, platform } = m;
  cpu.run(100);
  assert.deepEqual(platform.exceptions.map((e) => [e.vector, e.errorCode]), [[3, -1], [14, 4]]);
  assert.equal(cpu.trSel, SEL.tss);
  assert.equal(cpu.trBase, TSS_AT);
  assert.equal(getReg(cpu, 15), 0xa000n - 40n, "int3 frame on RSP0, no error code");
  assert.ok(cpu.halted);
  assert.equal(getReg(cpu, 0), 0x200000n, "CR2");
  assert.equal(getReg(cpu, 3), 4n, "the #PF error code (user read, not present)");
  // The #PF frame below the aligned IST1: SS, RSP, RFLAGS, CS, RIP (the faulting mov).
  // (The host's ucontext shows RF in a fault's saved RFLAGS too: far64_host.txt.)
  const f = [8, 16, 24, 32, 40].map((o) => getQ(m, 0xb000 - o));
  assert.deepEqual(f, [0x2bn, 0x40000n, 0x10202n, 0x33n, 0x1101n], "RF set for a fault");
  assert.equal(getReg(cpu, 4), 0xb000n - 40n, "after pop rbx");
  assert.equal(cpu.sel(1), SEL.kcs);
  assert.equal(cpu.sel(2), 0, "SS null at the new level");
  assert.equal(cpu.getEflags() & 0x200, 0, "IF cleared by the interrupt gate");
});

Deno.test("deliver64: gate checks: DPL below CPL for int n #GP(v*8+2), not present #NP(v*8+2+EXT)", () => {
  const m = machine();
  const { cpu, mem } = m;
  m.platform.onException = () => cpu.stop();
  cpu.run(1000); // up to the int3
  assert.equal(cpu.cpl, 3);
  const rip = cpu.eip;
  assert.equal(cpu.deliver64(0x80, -1, EXC_SOFTINT), 13);
  assert.equal(cpu.excCode, 0x80 * 8 + 2);
  assert.equal(cpu.cpl, 3, "nothing changed");
  assert.equal(cpu.eip, rip);
  mem.dv.setUint32(IDT + 14 * 16 + 4, mem.dv.getUint32(IDT + 14 * 16 + 4, true) & ~0x8000, true);
  assert.equal(cpu.deliver64(14, 0, 0), 11);
  assert.equal(cpu.excCode, 14 * 8 + 3);
});
