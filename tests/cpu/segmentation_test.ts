/**
 * Segmentation and privilege transfers: descriptor-load checks and error codes, limits,
 * expand-down, fs bases, far jmp/call/ret, iret across rings and enterHandler.
 * @module
 */

import assert from "node:assert/strict";
import { CS, DS, ES, FS, SS } from "../../lib/cpu/cpu.ts";
import { VEC_GP, VEC_NP, VEC_SS } from "../../lib/cpu/platform.ts";
import { ArrayDescriptorTables, descriptor, flatMachine, hex } from "../../lib/cpu/testing.ts";

const AT = 0x1000;

/** GDT: 08 code0, 10 data0, 1b code3, 23 data3, 28 data0 not present, 30 data0 base 0x3000
 * limit 0xfff, 38 expand-down limit 0x1fff, 41 code1, 49 data1, 50 read-only data0. */
function machine(code: string) {
  const m = flatMachine(hex(code), AT);
  const dt = new ArrayDescriptorTables();
  dt.gdt.push(
    descriptor(0, -1, 0xc09b),
    descriptor(0, -1, 0xc093),
    descriptor(0, -1, 0xc0fb),
    descriptor(0, -1, 0xc0f3),
    descriptor(0, -1, 0xc013),
    descriptor(0x3000, 0xfff, 0x4092),
    descriptor(0, 0x1fff, 0x4097),
    descriptor(0, -1, 0xc0bb),
    descriptor(0, -1, 0xc0b3),
    descriptor(0, -1, 0xc091),
  );
  m.cpu.descriptorTables = dt;
  return { ...m, dt };
}

function user(m: ReturnType<typeof machine>): void {
  assert.equal(m.cpu.enterHandler(0x1b, m.cpu.eip, 0x23, m.cpu.regs[4]), 0);
}

Deno.test("Cpu.loadSegment() applies the MOV Sreg checks and error codes", async (t) => {
  const cases: [string, number, number, number, number][] = [
    ["index beyond the GDT", DS, 0x80, VEC_GP, 0x80],
    ["not present", DS, 0x28, VEC_NP, 0x28],
    ["SS with RPL != CPL", SS, 0x23, VEC_GP, 0x20],
    ["SS read-only", SS, 0x50, VEC_GP, 0x50],
    ["SS not present", SS, 0x28, VEC_SS, 0x28],
    ["SS null", SS, 0, VEC_GP, 0],
    ["DS with a ring-3 readable code segment", DS, 0x1b, 0, -1],
    ["DS null", DS, 0, 0, -1],
    ["LDT selector without an LDT", DS, 0x0c, VEC_GP, 0x0c],
  ];
  for (const [name, sreg, sel, vec, code] of cases) {
    await t.step(name, () => {
      const m = machine("90");
      const before = m.cpu.sel(sreg);
      const v = m.cpu.loadSegment(sreg, sel);
      assert.equal(v, vec);
      if (vec !== 0) {
        assert.equal(m.cpu.excCode, code);
        assert.equal(m.cpu.sel(sreg), before);
      } else assert.equal(m.cpu.sel(sreg), sel);
    });
  }
  await t.step("DS with DPL 0 at CPL 3", () => {
    const m = machine("90");
    user(m);
    assert.equal(m.cpu.loadSegment(DS, 0x10), VEC_GP);
    assert.equal(m.cpu.excCode, 0x10);
  });
  await t.step("sets the accessed bit through DescriptorTables", () => {
    const m = machine("90");
    assert.equal(m.cpu.loadSegment(ES, 0x30), 0);
    assert.deepEqual(m.dt.accessed, ["0:6"]);
  });
});

Deno.test("mov ds, ax reports #GP(selector) at the mov", () => {
  const m = machine("66 b8 80 00 8e d8");
  m.cpu.run(5);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.errorCode, e.eip], [VEC_GP, 0x80, AT + 4]);
});

Deno.test("data accesses check null selectors, limits and expand-down segments", async (t) => {
  const run = (code: string, setup: (m: ReturnType<typeof machine>) => void) => {
    const m = machine(code + " f4");
    setup(m);
    m.cpu.run(10);
    return m;
  };
  await t.step("null DS gives #GP(0)", () => {
    const m = run("a1 00 00 00 00", (m) => m.cpu.loadSegment(DS, 0));
    assert.deepEqual([m.platform.exceptions[0].vector, m.platform.exceptions[0].errorCode], [
      VEC_GP,
      0,
    ]);
  });
  await t.step("a read within the limit uses the base", () => {
    const m = run("a1 fc 0f 00 00", (m) => {
      m.cpu.loadSegment(DS, 0x30);
      m.mem.dv.setUint32(0x3ffc, 0xdeadbeef, true);
    });
    assert.equal(m.platform.exceptions.length, 0);
    assert.equal(m.cpu.regs[0] >>> 0, 0xdeadbeef);
  });
  await t.step("a read straddling the limit gives #GP(0)", () => {
    const m = run("a1 fe 0f 00 00", (m) => m.cpu.loadSegment(DS, 0x30));
    assert.deepEqual([m.platform.exceptions[0].vector, m.platform.exceptions[0].errorCode], [
      VEC_GP,
      0,
    ]);
  });
  await t.step("a push beyond the SS limit gives #SS(0)", () => {
    const m = run("50", (m) => {
      m.cpu.loadSegment(SS, 0x30);
      m.cpu.regs[4] = 0x2000;
    });
    assert.deepEqual([m.platform.exceptions[0].vector, m.platform.exceptions[0].errorCode], [
      VEC_SS,
      0,
    ]);
    assert.equal(m.cpu.regs[4], 0x2000);
  });
  await t.step("expand-down: offsets at or below the limit fault, above it work", () => {
    const bad = run("a1 00 10 00 00", (m) => m.cpu.loadSegment(DS, 0x38));
    assert.equal(bad.platform.exceptions[0].vector, VEC_GP);
    const good = run("a1 00 30 00 00", (m) => {
      m.cpu.loadSegment(DS, 0x38);
      m.mem.dv.setUint32(0x3000, 42, true);
    });
    assert.equal(good.platform.exceptions.length, 0);
    assert.equal(good.cpu.regs[0], 42);
  });
  await t.step("fs with a non-zero base (TLS)", () => {
    const m = run("64 a1 10 00 00 00", (m) => {
      m.cpu.setSegmentRaw(FS, 0x33, 0x5000, 0xfff, 0x40f3);
      m.mem.dv.setUint32(0x5010, 7, true);
    });
    assert.equal(m.cpu.regs[0], 7);
  });
  await t.step("a write through a read-only segment gives #GP(0)", () => {
    const m = run("a3 00 20 00 00", (m) => m.cpu.loadSegment(DS, 0x50));
    assert.equal(m.platform.exceptions[0].vector, VEC_GP);
  });
});

/** Writes dwords at `at` (stack frame builder). */
function frame(m: ReturnType<typeof machine>, at: number, words: number[]): void {
  words.forEach((w, i) => m.mem.dv.setUint32(at + i * 4, w >>> 0, true));
  m.cpu.regs[4] = at;
}

Deno.test("iret returns outward to CPL 3, pops SS:ESP and nulls DPL-0 data segments", () => {
  const m = machine("cf");
  m.cpu.loadSegment(ES, 0x23);
  frame(m, 0x8000, [0x2000, 0x1b, 0x3202, 0x7000, 0x23]);
  m.cpu.run(1);
  assert.equal(m.platform.exceptions.length, 0);
  assert.deepEqual(
    [
      m.cpu.cpl,
      m.cpu.eip,
      m.cpu.regs[4],
      m.cpu.sel(CS),
      m.cpu.sel(SS),
      m.cpu.sel(DS),
      m.cpu.sel(ES),
    ],
    [3, 0x2000, 0x7000, 0x1b, 0x23, 0, 0x23],
  );
  assert.equal(m.cpu.getEflags() & 0x3200, 0x3200, "CPL 0 may set IOPL and IF");
});

Deno.test("iret at the same level pops EIP, CS and EFLAGS only", () => {
  const m = machine("cf");
  frame(m, 0x8000, [0x2000, 0x08, 0x2c3]);
  m.cpu.run(1);
  assert.deepEqual([m.cpu.cpl, m.cpu.eip, m.cpu.regs[4]], [0, 0x2000, 0x800c]);
  assert.equal(m.cpu.getEflags() & 0xfff, 0x2c3);
});

Deno.test("iret from CPL 3 keeps IOPL and IF, and iret to an inner level is #GP(cs)", () => {
  const m = machine("cf");
  user(m);
  frame(m, 0x8000, [0x3000, 0x1b, 0x3202]);
  m.cpu.setEflags(0x2);
  m.cpu.run(1);
  assert.equal(m.cpu.eip, 0x3000);
  assert.equal(m.cpu.getEflags() & 0x3200, 0);
  const n = machine("cf");
  user(n);
  frame(n, 0x8000, [0x3000, 0x08, 0x202]);
  n.cpu.run(1);
  const e = n.platform.exceptions[0];
  assert.deepEqual([e.vector, e.errorCode, e.eip, n.cpu.cpl, n.cpu.regs[4]], [
    VEC_GP,
    0x08,
    AT,
    3,
    0x8000,
  ]);
});

Deno.test("far jmp, far call and far ret go through the descriptor checks", async (t) => {
  await t.step("jmp 0x08:0x2000 at CPL 0", () => {
    const m = machine("ea 00 20 00 00 08 00");
    m.cpu.run(1);
    assert.deepEqual([m.cpu.eip, m.cpu.sel(CS)], [0x2000, 0x08]);
  });
  await t.step("jmp to a ring-3 non-conforming segment is #GP(sel)", () => {
    const m = machine("ea 00 20 00 00 1b 00");
    m.cpu.run(1);
    const e = m.platform.exceptions[0];
    assert.deepEqual([e.vector, e.errorCode], [VEC_GP, 0x18]);
  });
  await t.step("call far then retf", () => {
    // call 0x08:0x1010 ; hlt ... at 0x1010: inc eax; retf
    const m = machine("9a 10 10 00 00 08 00 f4");
    m.mem.write(0x1010, hex("40 cb"));
    m.cpu.regs[4] = 0x8000;
    m.cpu.run(10);
    assert.deepEqual([m.cpu.regs[0], m.cpu.eip, m.cpu.regs[4], m.cpu.halted], [
      1,
      AT + 8,
      0x8000,
      true,
    ]);
  });
  await t.step("retf from CPL 1 to CPL 3 pops SS:ESP", () => {
    const m = machine("cb");
    assert.equal(m.cpu.enterHandler(0x41, AT, 0x49, 0x8000), 0);
    frame(m, 0x8000, [0x2000, 0x1b, 0x7000, 0x23]);
    m.cpu.run(1);
    assert.deepEqual([m.cpu.cpl, m.cpu.eip, m.cpu.regs[4], m.cpu.sel(SS)], [
      3,
      0x2000,
      0x7000,
      0x23,
    ]);
  });
});

Deno.test("Cpu.enterHandler() switches CS:EIP, SS:ESP and CPL, or changes nothing", () => {
  const m = machine("90");
  user(m);
  assert.equal(m.cpu.enterHandler(0x41, 0x3000, 0x49, 0x6000), 0);
  assert.deepEqual([m.cpu.cpl, m.cpu.eip, m.cpu.regs[4], m.cpu.sel(CS), m.cpu.sel(SS)], [
    1,
    0x3000,
    0x6000,
    0x41,
    0x49,
  ]);
  assert.equal(m.cpu.enterHandler(0x23, 0x4000, 0x49, 0x5000), VEC_GP);
  assert.equal(m.cpu.excCode, 0x20);
  assert.equal(m.cpu.enterHandler(0x41, 0x4000, 0x23, 0x5000), VEC_GP);
  assert.deepEqual([m.cpu.cpl, m.cpu.eip, m.cpu.regs[4]], [1, 0x3000, 0x6000]);
});

Deno.test("lgdt'd tables in memory serve descriptor loads when no DescriptorTables is set", () => {
  // lgdt [0x500]; mov ax, 0x10; mov ds, ax; hlt
  const m = flatMachine(hex("0f 01 15 00 05 00 00 66 b8 10 00 8e d8 f4"), AT);
  const d = descriptor(0x100, 0xfff, 0x4093);
  m.mem.dv.setUint16(0x500, 0x17, true);
  m.mem.dv.setUint32(0x502, 0x600, true);
  m.mem.dv.setInt32(0x610, d[0], true);
  m.mem.dv.setInt32(0x614, d[1], true);
  m.cpu.run(10);
  assert.equal(m.platform.exceptions.length, 0);
  assert.deepEqual([m.cpu.sel(DS), m.cpu.segBase[DS], m.cpu.segLimit[DS]], [0x10, 0x100, 0xfff]);
  assert.equal(m.mem.u8[0x615] & 1, 1, "accessed bit written back");
});
