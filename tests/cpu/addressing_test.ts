/**
 * ModRM addressing: every 16-bit form (67 prefix), SIB scaling, segment defaults (SS for
 * EBP/ESP bases) and overrides, and 16-bit operand forms, through the interpreter.
 * @module
 */

import assert from "node:assert/strict";
import { SS } from "../../lib/cpu/cpu.ts";
import { flatMachine, hex } from "../../lib/cpu/testing.ts";

const AT = 0x1000;

/** Runs `code` with BX=0x100 BP=0x200 SI=0x30 DI=0x40 (EAX=0) and returns EAX. */
function load(code: string, setup?: (m: ReturnType<typeof flatMachine>) => void): number {
  const m = flatMachine(hex(code + " f4"), AT, 64);
  const r = m.cpu.regs;
  r[0] = 0;
  r[3] = 0x100;
  r[5] = 0x200;
  r[6] = 0x30;
  r[7] = 0x40;
  for (let a = 0x8000; a < 0x9000; a += 4) m.mem.dv.setUint32(a, a, true);
  for (let a = 0; a < 0x800; a += 4) m.mem.dv.setUint32(0x8000 + a, 0x8000 + a, true);
  setup?.(m);
  m.cpu.setSegmentRaw(3, 0x10, 0x8000, 0xffff, 0x4093); // DS base 0x8000
  m.cpu.run(5);
  assert.equal(m.platform.exceptions.length, 0, JSON.stringify(m.platform.exceptions));
  return m.cpu.regs[0] >>> 0;
}

Deno.test("16-bit ModRM forms compute bx/bp/si/di sums with 16-bit wrap", async (t) => {
  // 67 8b /r: mov eax, [ea16]; DS base 0x8000, SS base 0 (flat): bp forms read SS.
  const cases: [string, string, number][] = [
    ["[bx+si]", "67 8b 00", 0x8130],
    ["[bx+di]", "67 8b 01", 0x8140],
    ["[bp+si] (SS)", "67 8b 02", 0x230],
    ["[bp+di] (SS)", "67 8b 03", 0x240],
    ["[si]", "67 8b 04", 0x8030],
    ["[di]", "67 8b 05", 0x8040],
    ["[disp16]", "67 8b 06 10 01", 0x8110],
    ["[bx]", "67 8b 07", 0x8100],
    ["[bx+si+disp8]", "67 8b 40 fc", 0x812c],
    ["[bp+disp16] (SS)", "67 8b 86 00 01", 0x300],
    ["[bx+disp16] wraps at 64 KiB", "67 8b 87 00 ff", 0x8000],
    ["ds: override on [bp]", "3e 67 8b 46 00", 0x8200],
  ];
  for (const [name, code, want] of cases) {
    await t.step(name, () => {
      assert.equal(
        load(code, (m) => {
          for (let a = 0; a < 0x800; a += 4) m.mem.dv.setUint32(a, a, true);
          m.cpu.setSegmentRaw(SS, 0x18, 0, -1, 0xc093);
        }),
        want,
      );
    });
  }
});

Deno.test("32-bit SIB forms scale the index and default EBP/ESP bases to SS", async (t) => {
  const cases: [string, string, number][] = [
    ["[ebx+esi*4]", "8b 04 b3", 0x8000 + 0x100 + 0xc0],
    ["[esi*8+disp32]", "8b 04 f5 00 01 00 00", 0x8000 + 0x100 + 0x180],
    ["[ebp+edi*2+disp8] (SS)", "8b 44 7d 04", 0x200 + 0x80 + 4],
    ["[disp32] no base", "8b 05 20 00 00 00", 0x8020],
    ["es: override", "26 8b 03", 0x100],
  ];
  for (const [name, code, want] of cases) {
    await t.step(name, () => {
      assert.equal(
        load(code, (m) => {
          for (let a = 0; a < 0x800; a += 4) m.mem.dv.setUint32(a, a, true);
        }),
        want,
      );
    });
  }
});

Deno.test("16-bit operand forms write only the low word", () => {
  // mov eax, 0x11112222; 66 add ax, 0xffff; 66 push ax (sp-2); 66 pop bx
  const m = flatMachine(hex("b8 22 22 11 11 66 05 ff ff 66 50 66 5b f4"), AT, 64);
  m.cpu.regs[3] = 0x77770000;
  m.cpu.regs[4] = 0x8000;
  m.cpu.run(10);
  assert.equal(m.cpu.regs[0] >>> 0, 0x11112221);
  assert.equal(m.cpu.getEflags() & 1, 1);
  assert.equal(m.cpu.regs[3] >>> 0, 0x77772221);
  assert.equal(m.cpu.regs[4], 0x8000);
});
