/**
 * Data breakpoints in 64-bit mode (lib/cpu/long/watch64.ts): guest DR0-3 write and
 * read/write breakpoints at higher-half addresses as #DB traps after the instruction with
 * DR6's B bits, the `mov ss` shadow, and the debugger's watchpoints, breakpoints and steps
 * at 64-bit addresses. The programs run at CPL 0 with their code and data mapped at
 * 0xffff800000400000 by a 4-level walker (source in the comments, `as --64`).
 */
import assert from "node:assert/strict";
import { EXC_TRAP, hex, linearKey } from "../../../lib/cpu/mod.ts";
import { LongModeWalker } from "../../../lib/paging/mod.ts";
import { getRip } from "./machine64.ts";
import { sysMachine } from "./sys_machine.ts";

/** The data page's and the code page's 64-bit addresses (high half 0xffff8000). */
const DATA = 0x400000, CODE = 0x401000, HI = 0xffff8000 | 0;

/**
 * A machine whose `code` runs at 0xffff800000401000 (machine 0x1000) with the data page
 * 0xffff800000400000 at machine 0x50000; low memory stays identity-mapped.
 */
function machine(code: Uint8Array) {
  const m = sysMachine(code);
  const w = new LongModeWalker(m.mem);
  const e = (at: number, to: number) => m.mem.dv.setUint32(at, to | 7, true);
  e(0x40000, 0x43000); // PML4[0]: identity for the first 256 KiB
  e(0x43000, 0x44000);
  e(0x44000, 0x45000);
  for (let i = 0; i < 64; i++) e(0x45000 + i * 8, i * 4096);
  e(0x40000 + 256 * 8, 0x41000); // PML4[256] -> PDPT -> PD[2] -> PT
  e(0x41000, 0x42000);
  e(0x42000 + 2 * 8, 0x46000);
  e(0x46000, 0x50000);
  e(0x46000 + 8, 0x1000);
  w.cr3 = 0x40000;
  m.cpu.lm.walker = w;
  m.cpu.eip = CODE;
  m.cpu.lm.ripHi = HI;
  return m;
}

/** DR7 enabling breakpoint i (L bit) with R/W `rw` and LEN `len` (1, 2, 4, 8 bytes). */
function dr7(i: number, rw: number, len: number): number {
  const enc = len === 1 ? 0 : len === 2 ? 1 : len === 8 ? 2 : 3;
  return 0x400 | (1 << (i * 2)) | (rw << (16 + i * 4)) | (enc << (18 + i * 4));
}

Deno.test("watch64: a write breakpoint at a higher-half address traps after the write only", () => {
  // movabs rax, 0xffff800000400000; mov dword [rax+4], 0x11; nop; mov ebx, [rax+4];
  // mov [rax+16], rbx; hlt
  const m = machine(hex("48b8000040000080ffff c7400411000000 90 8b5804 48895810 f4"));
  m.cpu.dr[1] = DATA + 4;
  m.cpu.lm.drHi[1] = HI;
  m.cpu.dr[7] = dr7(1, 1, 4);
  m.cpu.debug.refresh();
  m.platform.onException = () => {};
  m.cpu.run(20);
  assert.deepEqual(
    m.platform.exceptions.map((x) => [x.vector, x.kind, x.eip >>> 0]),
    [[1, EXC_TRAP, CODE + 0x11]],
  );
  assert.equal(m.cpu.dr[6] & 0xf, 2);
  assert.equal(m.mem.dv.getUint32(0x50004, true), 0x11);
  assert.equal(m.mem.dv.getUint32(0x50010, true), 0x11);
  assert.ok(m.cpu.halted);
});

Deno.test("watch64: a read/write breakpoint matches any overlapping access, not the same low half", () => {
  // movabs rax, 0xffff800000400000; mov ebx, [rax+0xc]; mov bl, [rax+0x10];
  // mov [rax+7], bl; hlt
  const m = machine(hex("48b8000040000080ffff 8b580c 8a5810 885807 f4"));
  m.cpu.dr[0] = DATA + 8; // 8 bytes at ...400008
  m.cpu.lm.drHi[0] = HI;
  m.cpu.dr[2] = DATA + 0x10; // the same low half, high half 0: never matches
  m.cpu.dr[7] = dr7(0, 3, 8) | dr7(2, 3, 1);
  m.cpu.debug.refresh();
  m.platform.onException = () => {};
  m.cpu.run(20);
  assert.deepEqual(
    m.platform.exceptions.map((x) => [x.vector, x.kind, x.eip >>> 0]),
    [[1, EXC_TRAP, CODE + 0xd]],
  );
  assert.equal(m.cpu.dr[6] & 0xf, 1);
  assert.ok(m.cpu.halted);
});

Deno.test("watch64: a breakpoint hit by mov ss is held until after the next instruction", () => {
  // movabs rax, 0xffff800000400000; mov ss, [rax]; nop; hlt
  const m = machine(hex("48b8000040000080ffff 8e10 90 f4"));
  m.mem.dv.setUint16(0x50000, 0x18, true); // the kernel SS selector
  m.cpu.dr[3] = DATA;
  m.cpu.lm.drHi[3] = HI;
  m.cpu.dr[7] = dr7(3, 3, 2);
  m.cpu.debug.refresh();
  m.platform.onException = () => {};
  m.cpu.run(20);
  assert.deepEqual(
    m.platform.exceptions.map((x) => [x.vector, x.kind, x.eip >>> 0]),
    [[1, EXC_TRAP, CODE + 0xd]], // after the nop, not after mov ss
  );
  assert.equal(m.cpu.dr[6] & 0xf, 8);
  assert.ok(m.cpu.halted);
});

Deno.test("watch64: the debugger's watchpoint, breakpoint and step at 64-bit addresses", () => {
  // movabs rax, 0xffff800000400000; mov dword [rax+4], 0x11; nop; mov ebx, [rax+4];
  // mov [rax+16], rbx; hlt
  const m = machine(hex("48b8000040000080ffff c7400411000000 90 8b5804 48895810 f4"));
  const d = m.cpu.debug;
  const at = (off: number) => linearKey(CODE + off, HI);
  d.addWatchpoint(linearKey(DATA + 4, HI), 4, "r");
  d.addBreakpoint(at(0x15));
  m.cpu.run(20);
  // the read by `mov ebx, [rax+4]` (the write before it does not match "r")
  assert.deepEqual(d.debugStop, {
    kind: "watch",
    linear: at(0x15),
    dataAddress: linearKey(DATA + 4, HI),
  });
  assert.equal(getRip(m.cpu), 0xffff800000401015n);
  d.debugStop = null;
  m.cpu.run(20); // the breakpoint at the next instruction
  assert.deepEqual(d.debugStop, { kind: "break", linear: at(0x15) });
  d.debugStop = null;
  d.stepOnce(); // runs the instruction at the breakpoint
  m.cpu.run(20);
  assert.deepEqual(d.debugStop, { kind: "step", linear: at(0x19) });
  assert.equal(m.mem.dv.getUint32(0x50010, true), 0x11);
  assert.deepEqual(m.platform.exceptions, []); // the guest saw nothing
  assert.equal(m.cpu.dr[6] >>> 0, 0xffff0ff0);
});
