/**
 * Invariants of the one opcode table (lib/cpu/decode/opcodes.ts) that its users rely on:
 * the SDM's list of one-byte opcodes invalid in 64-bit mode, REX and movsxd, every handler
 * and fast recipe reachable, handlers that set EIP end a block, and the LOCK rule.
 * @module
 */

import assert from "node:assert/strict";
import {
  END_REGS,
  FAST,
  FAST_RECIPE,
  HANDLER,
  HANDLERS,
  INFO,
  lockOk,
  MAP_0F,
  MAP_1,
  MNEMONIC,
  MODE_LEGACY,
  MODE_LONG,
  opIndex,
  T_PREFIX,
  T_REX,
  T_SETS_IP,
  T_VALID,
} from "../../../lib/cpu/decode/opcodes.ts";

/** SDM vol. 2 appendix A: one-byte opcodes marked i64 (invalid in 64-bit mode). */
const I64 = [
  0x06,
  0x07,
  0x0e,
  0x16,
  0x17,
  0x1e,
  0x1f,
  0x27,
  0x2f,
  0x37,
  0x3f,
  0x60,
  0x61,
  0x62,
  0x82,
  0x9a,
  0xc4,
  0xc5,
  0xce,
  0xd4,
  0xd5,
  0xd6,
  0xea,
];

Deno.test("opcode table: the i64 one-byte opcodes have no 64-bit row, and do in legacy mode", () => {
  for (const op of I64) {
    assert.equal(INFO[opIndex(MODE_LONG, MAP_1, op)] & T_VALID, 0, op.toString(16));
    assert.notEqual(INFO[opIndex(MODE_LEGACY, MAP_1, op)] & T_VALID, 0, op.toString(16));
  }
});

Deno.test("opcode table: 40-4F are REX prefixes in 64-bit mode, 63 is movsxd", () => {
  for (let op = 0x40; op <= 0x4f; op++) {
    assert.equal(INFO[opIndex(MODE_LONG, MAP_1, op)] & (T_PREFIX | T_REX), T_PREFIX | T_REX);
    assert.equal(INFO[opIndex(MODE_LEGACY, MAP_1, op)] & T_PREFIX, 0);
  }
  assert.equal(MNEMONIC[opIndex(MODE_LONG, MAP_1, 0x63)], "movsxd");
  assert.equal(MNEMONIC[opIndex(MODE_LEGACY, MAP_1, 0x63)], "arpl");
});

Deno.test("opcode table: every handler and fast recipe is used; 64-bit rows share legacy recipes", () => {
  const usedH = new Set<number>(), usedF = new Set<number>();
  for (let i = 0; i < INFO.length; i++) {
    if ((INFO[i] & T_VALID) === 0) continue;
    usedH.add(HANDLER[i]);
    if (FAST_RECIPE[i] !== 0) {
      usedF.add(FAST_RECIPE[i]);
      // The 32-bit fast decoder reads legacy rows: a 64-bit row's recipe is its legacy twin's.
      if (i >= 1024) assert.equal(FAST_RECIPE[i - 1024], FAST_RECIPE[i], `row ${i}`);
    }
  }
  HANDLERS.forEach((h, i) => assert.ok(usedH.has(i), `handler ${h} unused`));
  FAST.forEach((f, i) => assert.ok(i === 0 || usedF.has(i), `fast recipe ${f} unused`));
});

Deno.test("opcode table: forms whose handler sets EIP end a block (or say per ModRM.reg)", () => {
  // Strings and ins/outs set EIP only to repeat; the 0F escape and groups 4/5 say per row.
  const exempt = new Set(["string", "insOuts", "esc0F", "group45"]);
  for (let i = 0; i < INFO.length; i++) {
    if ((INFO[i] & (T_VALID | T_SETS_IP)) !== (T_VALID | T_SETS_IP)) continue;
    if (exempt.has(HANDLERS[HANDLER[i]])) continue;
    assert.equal(END_REGS[i], 0xff, `${MNEMONIC[i]} (${i.toString(16)})`);
  }
  // call/jmp through r/m (FF /2 /3 /4 /5) end a block, inc/dec/push (/0 /1 /6) do not.
  assert.equal(END_REGS[opIndex(MODE_LEGACY, MAP_1, 0xff)], 0x3c);
});

Deno.test("opcode table: LOCK only with a memory destination of a lockable form", () => {
  const add = opIndex(MODE_LEGACY, MAP_1, 0x01), cmp = opIndex(MODE_LEGACY, MAP_1, 0x39);
  assert.ok(lockOk(add, 0x00) && !lockOk(add, 0xc0) && !lockOk(cmp, 0x00));
  const grp1 = opIndex(MODE_LEGACY, MAP_1, 0x83);
  assert.ok(lockOk(grp1, 0x30) && !lockOk(grp1, 0x38), "83 /6 xor yes, 83 /7 cmp no");
  const grp9 = opIndex(MODE_LEGACY, MAP_0F, 0xc7);
  assert.ok(lockOk(grp9, 0x08) && !lockOk(grp9, 0x00), "cmpxchg8b is 0F C7 /1");
  const bt = opIndex(MODE_LEGACY, MAP_0F, 0xa3), bts = opIndex(MODE_LEGACY, MAP_0F, 0xab);
  assert.ok(!lockOk(bt, 0x00) && lockOk(bts, 0x00));
});
