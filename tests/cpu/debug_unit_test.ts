/**
 * The debug unit: the guest's debug registers (instruction, data write and read/write
 * breakpoints, TF single step, RF, the mov-ss shadow, general detect, DR6 status bits)
 * and the debugger's breakpoints, watchpoints and single steps, invisible to the guest.
 * @module
 */

import assert from "node:assert/strict";
import { ATTR_DATA32 } from "../../lib/cpu/cpu.ts";
import {
  ARM_DATA,
  DR6_BD,
  DR6_BS,
  DR6_DEFAULT,
  ioBreakpointHits,
  mergeDr6,
} from "../../lib/cpu/debug_unit.ts";
import { EXC_FAULT, EXC_TRAP, VEC_DB, VEC_UD } from "../../lib/cpu/platform.ts";
import { ArrayDescriptorTables, descriptor, flatMachine, hex } from "../../lib/cpu/testing.ts";
import { K_READ } from "../../lib/cpu/tlb.ts";

const AT = 0x1000;
const DATA = 0x3000;

/** DR7 bits enabling breakpoint n (L) with R/W and LEN fields. */
function dr7(n: number, rw: number, lenField: number): number {
  return 0x400 | (1 << (n * 2)) | (rw << (16 + n * 4)) | (lenField << (18 + n * 4));
}

function machine(code: string) {
  const m = flatMachine(hex(code), AT);
  return m;
}

/** Sets a guest breakpoint register and refreshes the unit. */
function setDr(m: ReturnType<typeof flatMachine>, n: number, v: number): void {
  m.cpu.dr[n] = v;
  m.cpu.debug.refresh();
}

Deno.test("debug unit: reset values, nothing armed, DR6 merge keeps sticky bits", () => {
  const { cpu } = machine("90");
  assert.equal(cpu.dr[6] >>> 0, DR6_DEFAULT);
  assert.equal(cpu.dr[7], 0x400);
  assert.equal(cpu.dbgArmed, 0);
  // Status bits accumulate until software clears them (as Xen keeps a PV guest's DR6);
  // bit 12 reads zero.
  assert.equal(mergeDr6(DR6_DEFAULT | 1 | DR6_BS, 2), (DR6_DEFAULT | 3 | DR6_BS) >>> 0);
  assert.equal(mergeDr6(0x1000, 0) & 0x1000, 0);
});

Deno.test("debug unit: EFLAGS.TF traps after each instruction with DR6.BS", () => {
  // pushf; or dword [esp], 0x100; popf; nop; nop
  const m = machine("9c 81 0c 24 00 01 00 00 9d 90 90");
  m.cpu.run(10);
  // popf set TF: no trap after it (TF was clear when it began), one after the first nop.
  assert.equal(m.platform.exceptions.length, 1);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.kind, e.eip], [VEC_DB, EXC_TRAP, AT + 10]);
  assert.equal(m.cpu.dr[6] & DR6_BS, DR6_BS);
  assert.equal(m.cpu.retired, 4);
});

Deno.test("debug unit: an instruction breakpoint is a fault; RF lets it run once", () => {
  const m = machine("90 40 40 f4"); // nop; inc eax; inc eax; hlt
  setDr(m, 0, AT + 1);
  setDr(m, 7, dr7(0, 0, 0));
  m.cpu.run(10);
  assert.equal(m.platform.exceptions.length, 1);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.kind, e.eip], [VEC_DB, EXC_FAULT, AT + 1]);
  assert.equal(m.cpu.dr[6] & 0xf, 1);
  assert.equal(m.cpu.regs[0], 0);
  // The handler returns with RF set: the instruction runs, RF clears, no second #DB.
  m.cpu.setEflags(m.cpu.getEflags() | 0x10000);
  m.cpu.run(10);
  assert.equal(m.platform.exceptions.length, 1);
  assert.equal(m.cpu.regs[0], 2);
  assert.equal(m.cpu.getEflags() & 0x10000, 0);
});

Deno.test("debug unit: data write breakpoints trap after the write; reads need R/W=3", () => {
  // mov eax, [DATA]; mov [DATA+2], ax; nop
  const code = "a1 00 30 00 00 66 a3 02 30 00 00 90";
  const w = machine(code);
  setDr(w, 1, DATA + 2);
  setDr(w, 7, dr7(1, 1, 1)); // write, 2 bytes
  assert.ok((w.cpu.dbgArmed & ARM_DATA) !== 0);
  w.cpu.run(10);
  assert.equal(w.platform.exceptions.length, 1);
  const e = w.platform.exceptions[0];
  assert.deepEqual([e.vector, e.kind, e.eip], [VEC_DB, EXC_TRAP, AT + 11]);
  assert.equal(w.cpu.dr[6] & 0xf, 2);
  // Read/write, 4 bytes at DATA+4 (aligned down from DATA+5): the 4-byte read at DATA
  // does not overlap; an 8-byte length does.
  const rw = machine(code);
  setDr(rw, 2, DATA + 5);
  setDr(rw, 7, dr7(2, 3, 3));
  rw.cpu.run(10);
  assert.equal(rw.platform.exceptions.length, 0);
  const rw8 = machine(code);
  setDr(rw8, 2, DATA + 5);
  setDr(rw8, 7, dr7(2, 3, 2));
  rw8.cpu.run(10);
  assert.equal(rw8.platform.exceptions[0].eip, AT + 5);
  assert.equal(rw8.cpu.dr[6] & 0xf, 4);
});

Deno.test("debug unit: a watched page keeps no TLB data entry", () => {
  const m = machine("a1 00 30 00 00 a1 00 40 00 00 f4");
  setDr(m, 0, DATA + 0x800);
  setDr(m, 7, dr7(0, 1, 3));
  m.cpu.run(10);
  assert.equal(m.cpu.tlb.tables[K_READ * 2][DATA >>> 12], 0);
  assert.notEqual(m.cpu.tlb.tables[K_READ * 2][0x4000 >>> 12], 0);
});

/** A machine whose GDT has a flat data segment at selector 0x10. */
function withGdt(code: string) {
  const m = machine(code);
  const t = new ArrayDescriptorTables();
  t.gdt.push([0, 0], descriptor(0, 0xffffffff, ATTR_DATA32));
  m.cpu.descriptorTables = t;
  m.mem.dv.setUint32(DATA, 0x10, true);
  return m;
}

Deno.test("debug unit: mov ss holds its data breakpoint's #DB until after the next instruction", () => {
  // mov ss, [DATA]; nop; nop
  const m = withGdt("8e 15 00 30 00 00 90 90");
  setDr(m, 0, DATA);
  setDr(m, 7, dr7(0, 3, 3));
  m.cpu.run(10);
  assert.equal(m.platform.exceptions.length, 1);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.kind, e.eip], [VEC_DB, EXC_TRAP, AT + 7]);
  assert.equal(m.cpu.dr[6] & 0xf, 1);
});

Deno.test("debug unit: pop ss under TF single-steps over the next instruction too", () => {
  // push 0x10; pushf; or dword [esp], 0x100; popf; pop ss; nop; nop
  const m = withGdt("6a 10 9c 81 0c 24 00 01 00 00 9d 17 90 90");
  m.cpu.run(20);
  assert.equal(m.platform.exceptions.length, 1);
  assert.equal(m.platform.exceptions[0].eip, AT + 13);
  assert.equal(m.cpu.dr[6] & DR6_BS, DR6_BS);
});

Deno.test("debug unit: int n under TF traps in the handler, not after the int", () => {
  // pushf; or dword [esp], 0x100; popf; int 0x80; nop  (the platform runs the "handler")
  const m = machine("9c 81 0c 24 00 01 00 00 9d cd 80 90 90");
  m.platform.onException = (v) => {
    if (v === 0x80) return; // returns to the next instruction, TF still set
    m.cpu.stop();
  };
  m.cpu.run(6);
  assert.deepEqual(m.platform.exceptions.map((e) => [e.vector, e.eip]), [
    [0x80, AT + 11],
    [VEC_DB, AT + 12],
  ]);
});

Deno.test("debug unit: a held #DB is lost when the next instruction faults", () => {
  const m = withGdt("8e 15 00 30 00 00 0f 0b");
  setDr(m, 0, DATA);
  setDr(m, 7, dr7(0, 3, 3));
  m.cpu.run(10);
  assert.deepEqual(m.platform.exceptions.map((e) => e.vector), [VEC_UD]);
  assert.equal(m.cpu.dbgArmed & ~ARM_DATA, 0);
});

Deno.test("debug unit: DR7.GD turns a debug-register access into a #DB fault with BD", () => {
  const m = machine("0f 21 c0 f4"); // mov eax, dr0
  m.cpu.dr[7] = 0x400 | 0x2000;
  m.cpu.run(10);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.kind, e.eip], [VEC_DB, EXC_FAULT, AT]);
  assert.equal(m.cpu.dr[6] & DR6_BD, DR6_BD);
  assert.equal(m.cpu.dr[7] & 0x2000, 0);
});

Deno.test("debug unit: I/O breakpoints match port ranges of enabled R/W=2 entries", () => {
  const dr = [0x60, 0x3f8, 0x70, 0];
  const c = 0x400 | 1 | (2 << 16) | (0 << 18) | 0x10 | (2 << 24) | (3 << 26);
  assert.equal(ioBreakpointHits(dr, c, 0x60, 1), 1);
  assert.equal(ioBreakpointHits(dr, c, 0x5f, 2), 1);
  assert.equal(ioBreakpointHits(dr, c, 0x61, 1), 0);
  assert.equal(ioBreakpointHits(dr, c, 0x73, 1), 4); // 4 bytes at 0x70
  assert.equal(ioBreakpointHits(dr, c, 0x74, 1), 0);
  assert.equal(ioBreakpointHits(dr, c, 0x3f8, 1), 0); // DR1 not enabled
});

Deno.test("debugger: a breakpoint stops before the instruction; continuing runs it", () => {
  const m = machine("90 40 40 f4");
  const before = m.mem.u8.slice(AT, AT + 4);
  m.cpu.debug.addBreakpoint(AT + 1);
  m.cpu.run(10);
  assert.equal(m.cpu.eip, AT + 1);
  assert.deepEqual(m.cpu.debug.debugStop, { kind: "break", linear: AT + 1 });
  assert.deepEqual(m.mem.u8.slice(AT, AT + 4), before);
  assert.equal(m.cpu.dr[6] >>> 0, DR6_DEFAULT);
  m.cpu.run(10);
  assert.equal(m.cpu.regs[0], 2);
  assert.ok(m.cpu.halted);
  assert.equal(m.platform.exceptions.length, 0);
  m.cpu.debug.removeBreakpoint(AT + 1);
  assert.equal(m.cpu.dbgArmed, 0);
});

Deno.test("debugger: watchpoints stop after the access that hits them", () => {
  // mov eax, [DATA]; mov [DATA+1], al; nop; hlt
  const code = "a1 00 30 00 00 a2 01 30 00 00 90 f4";
  for (
    const [kind, eip] of [["r", AT + 5], ["w", AT + 10], ["a", AT + 5]] as const
  ) {
    const m = machine(code);
    m.cpu.debug.addWatchpoint(DATA + 1, 1, kind);
    m.cpu.run(10);
    assert.deepEqual(m.cpu.debug.debugStop, { kind: "watch", linear: eip, dataAddress: DATA + 1 });
    assert.equal(m.cpu.eip, eip);
    assert.equal(m.cpu.dr[6] >>> 0, DR6_DEFAULT);
  }
});

Deno.test("debugger: stepOnce runs one instruction, or stops at the handler of a fault", () => {
  const m = machine("40 40 f4");
  m.cpu.debug.stepOnce();
  assert.equal(m.cpu.run(10), 1);
  assert.deepEqual(m.cpu.debug.debugStop, { kind: "step", linear: AT + 1 });
  assert.equal(m.cpu.dbgArmed, 0);
  // ud2, bounced by the platform to a handler at 0x2000.
  const f = machine("0f 0b");
  f.platform.onException = () => {
    f.cpu.eip = 0x2000;
  };
  f.mem.write(0x2000, hex("90 f4"));
  f.cpu.debug.stepOnce();
  f.cpu.run(10);
  assert.deepEqual(f.cpu.debug.debugStop, { kind: "step", linear: 0x2000 });
  assert.equal(f.cpu.eip, 0x2000);
});
