/**
 * Precise exceptions reported to the Platform: vectors, error codes, kinds, the EIP
 * they report and the register state they leave.
 * @module
 */

import assert from "node:assert/strict";
import { ATTR_CODE32, ATTR_DATA32 } from "../../lib/cpu/cpu.ts";
import {
  EXC_FAULT,
  EXC_INT3,
  EXC_INTO,
  EXC_SOFTINT,
  VEC_BP,
  VEC_DE,
  VEC_GP,
  VEC_NM,
  VEC_OF,
  VEC_PF,
  VEC_UD,
} from "../../lib/cpu/platform.ts";
import { flatMachine, hex, MapWalker } from "../../lib/cpu/testing.ts";

const AT = 0x1000;

/** Runs `code` at CPL 0 (or 3) until the first exception; returns the machine. */
function runUntilException(code: string, setup?: (m: ReturnType<typeof flatMachine>) => void) {
  const m = flatMachine(hex(code), AT);
  setup?.(m);
  m.cpu.run(100);
  return m;
}

/** Switches a flat machine to CPL 3 with flat ring-3 segments. */
function toUser(m: ReturnType<typeof flatMachine>): void {
  m.cpu.setSegmentRaw(1, 0x1b, 0, -1, ATTR_CODE32 | 0x60);
  for (const s of [0, 2, 3, 4, 5]) m.cpu.setSegmentRaw(s, 0x23, 0, -1, ATTR_DATA32 | 0x60);
}

Deno.test("Cpu.run() reports #DE as a fault at the div with registers unchanged", () => {
  // mov eax, 5; xor ecx, ecx; xor edx, edx; div ecx
  const m = runUntilException("b8 05 00 00 00 31 c9 31 d2 f7 f1");
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.errorCode, e.kind, e.eip], [VEC_DE, -1, EXC_FAULT, AT + 9]);
  assert.equal(m.cpu.regs[0], 5);
  assert.equal(m.cpu.retired, 3);
});

Deno.test("Cpu.run() reports #DE when an idiv quotient overflows", () => {
  // mov eax, 0x80000000; cdq; mov ecx, -1; idiv ecx
  const m = runUntilException("b8 00 00 00 80 99 b9 ff ff ff ff f7 f9");
  assert.equal(m.platform.exceptions[0].vector, VEC_DE);
  assert.equal(m.platform.exceptions[0].eip, AT + 11);
});

Deno.test("Cpu.run() reports ud2 and lock on a register form as #UD", async (t) => {
  for (const [name, code] of [["ud2", "0f 0b"], ["lock add eax, ecx", "f0 01 c8"]]) {
    await t.step(name, () => {
      const m = runUntilException(code);
      const e = m.platform.exceptions[0];
      assert.deepEqual([e.vector, e.errorCode, e.eip], [VEC_UD, -1, AT]);
    });
  }
});

Deno.test("Cpu.run() reports int n, int3 and into with eip after the instruction", async (t) => {
  await t.step("int 0x80", () => {
    const m = runUntilException("90 cd 80");
    const e = m.platform.exceptions[0];
    assert.deepEqual([e.vector, e.errorCode, e.kind, e.eip], [0x80, -1, EXC_SOFTINT, AT + 3]);
  });
  await t.step("int3", () => {
    const e = runUntilException("cc").platform.exceptions[0];
    assert.deepEqual([e.vector, e.kind, e.eip], [VEC_BP, EXC_INT3, AT + 1]);
  });
  await t.step("into with OF set", () => {
    // mov al, 0x7f; add al, 1 (OF); into
    const e = runUntilException("b0 7f 04 01 ce").platform.exceptions[0];
    assert.deepEqual([e.vector, e.kind, e.eip], [VEC_OF, EXC_INTO, AT + 5]);
  });
  await t.step("into with OF clear does nothing", () => {
    const m = runUntilException("ce f4");
    assert.equal(m.platform.exceptions.length, 0);
    assert.equal(m.cpu.halted, true);
  });
});

Deno.test("Cpu.run() raises #GP(0) for privileged instructions at CPL 3", async (t) => {
  const cases: [string, string][] = [
    ["cli (IOPL 0)", "fa"],
    ["sti (IOPL 0)", "fb"],
    ["hlt", "f4"],
    ["mov eax, cr0", "0f 20 c0"],
    ["mov cr3, eax", "0f 22 d8"],
    ["lgdt [eax]", "0f 01 10"],
    ["lidt [eax]", "0f 01 18"],
    ["invlpg [eax]", "0f 01 38"],
    ["wrmsr", "0f 30"],
    ["rdmsr", "0f 32"],
    ["clts", "0f 06"],
    ["wbinvd", "0f 09"],
    ["in al, 0x60", "e4 60"],
    ["out dx, al", "ee"],
    ["insb", "6c"],
    ["lldt ax", "0f 00 d0"],
    ["mov dr7, eax", "0f 23 f8"],
  ];
  for (const [name, code] of cases) {
    await t.step(name, () => {
      const m = runUntilException(code, (m) => {
        toUser(m);
        m.cpu.regs[0] = 0x2000;
      });
      const e = m.platform.exceptions[0];
      assert.deepEqual([e.vector, e.errorCode, e.kind, e.eip], [VEC_GP, 0, EXC_FAULT, AT]);
    });
  }
});

Deno.test("Cpu.run() lets cli/in run at CPL 3 when IOPL is 3, and popf keeps IF otherwise", () => {
  const m = flatMachine(hex("fa e4 60 f4"), AT);
  toUser(m);
  m.cpu.setEflags(0x3202);
  m.cpu.run(2);
  assert.equal(m.platform.exceptions.length, 0);
  assert.equal(m.cpu.getEflags() & 0x200, 0);
  assert.equal(m.cpu.regs[0] & 0xff, 0xff);
  // popf at CPL 3 with IOPL 0 cannot change IF or IOPL (no fault)
  const p = flatMachine(hex("68 00 30 00 00 9d"), AT);
  toUser(p);
  p.cpu.setEflags(0x202);
  p.cpu.run(2);
  assert.equal(p.platform.exceptions.length, 0);
  assert.equal(p.cpu.getEflags() & 0x3200, 0x200);
});

Deno.test("Cpu.run() reports #PF with cr2, the walker's error code and ESP unchanged", () => {
  const w = new MapWalker();
  for (let p = 0; p < 16; p++) w.map.set(p, { mfn: p, writable: true, user: true });
  w.map.set(8, { mfn: 8, writable: false, user: true }); // read-only stack page
  const m = flatMachine(hex("50"), AT, 64, w); // push eax
  m.cpu.regs[4] = 0x9000;
  m.cpu.run(1);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.errorCode, e.eip, e.cr2 >>> 0], [VEC_PF, 3, AT, 0x8ffc]);
  assert.equal(m.cpu.regs[4], 0x9000);
  assert.equal(m.cpu.retired, 0);
});

Deno.test("Cpu.run() reports a fetch #PF on a non-executable page", () => {
  const w = new MapWalker();
  w.map.set(1, { mfn: 1, writable: true, user: true, nx: true });
  const m = flatMachine(hex("90"), AT, 64, w);
  m.cpu.run(1);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.errorCode & 0x10, e.cr2], [VEC_PF, 0x10, AT]);
});

Deno.test("Cpu.run() raises #NM for x87 and SSE instructions while CR0.TS is set", async (t) => {
  for (
    const [name, code] of [["fld1", "d9 e8"], ["addps xmm0, xmm1", "0f 58 c1"], [
      "fxsave",
      "0f ae 00",
    ]]
  ) {
    await t.step(name, () => {
      const m = runUntilException(code, (m) => {
        m.cpu.cr0 |= 8;
        m.cpu.regs[0] = 0x4000;
      });
      const e = m.platform.exceptions[0];
      assert.deepEqual([e.vector, e.eip], [VEC_NM, AT]);
    });
    await t.step(`${name} runs once TS is clear`, () => {
      const m = flatMachine(hex(code + " f4"), AT);
      m.cpu.regs[0] = 0x4000;
      m.cpu.run(5);
      assert.equal(m.platform.exceptions.length, 0);
      assert.equal(m.cpu.halted, true);
    });
  }
});

Deno.test("Cpu.run() raises #GP(0) for an instruction longer than 15 bytes", () => {
  const m = runUntilException("66 66 66 66 66 66 66 66 66 66 66 66 66 66 05 01 00");
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.errorCode, e.eip], [VEC_GP, 0, AT]);
});

Deno.test("Cpu.run() continues where the platform leaves EIP after an exception", () => {
  // ud2; inc eax; hlt: the platform skips the ud2 (emulation) and execution goes on
  const m = flatMachine(hex("0f 0b 40 f4"), AT);
  m.platform.onException = () => {
    m.cpu.eip += 2;
  };
  m.cpu.run(10);
  assert.equal(m.cpu.regs[0], 1);
  assert.equal(m.cpu.halted, true);
  assert.equal(m.platform.exceptions.length, 1);
});

Deno.test("Cpu.run() returns the retired count and stops when the platform calls stop()", () => {
  const m = flatMachine(hex("40 40 cd 81 40 40"), AT);
  m.platform.onException = () => m.cpu.stop();
  assert.equal(m.cpu.run(100), 3);
  assert.equal(m.cpu.regs[0], 2);
  assert.equal(m.cpu.eip, AT + 4);
  assert.equal(m.cpu.run(2), 2);
  assert.equal(m.cpu.regs[0], 4);
  assert.equal(m.cpu.retired, 5);
});

Deno.test("Cpu.run() reports a #DB trap after each instruction while EFLAGS.TF is set", () => {
  // inc eax; inc eax; hlt
  const m = flatMachine(hex("40 40 f4"), AT);
  m.cpu.setEflags(0x102);
  m.platform.onException = () => {};
  m.cpu.run(2);
  assert.deepEqual(
    m.platform.exceptions.map((e) => [e.vector, e.kind, e.eip]),
    [[1, 1, AT + 1], [1, 1, AT + 2]],
  );
  assert.equal(m.cpu.regs[0], 2);
});

Deno.test("Cpu.run() returns when the platform leaves a faulting instruction in place", () => {
  const m = flatMachine(hex("0f 0b"), AT);
  m.platform.onException = () => {};
  assert.equal(m.cpu.run(1_000_000), 0);
  assert.equal(m.platform.exceptions.length, 10_001);
  assert.equal(m.cpu.eip, AT);
});
