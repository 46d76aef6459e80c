/**
 * x87/SSE in 64-bit mode beyond the host vectors: #NM/#UD from CR0.TS/EM/MP and
 * CR4.OSFXSR, #GP(0) for misaligned and non-canonical operands, #PF with both CR2 halves,
 * operands crossing 2^32 (the Bus64 carry), and the fxsave/fxrstor 64-bit layouts (FIP
 * and FDP high halves with REX.W, FCS/FDS without, xmm8-15 at 288..415 in both).
 * @module
 */

import assert from "node:assert/strict";
import { hex } from "../../../lib/cpu/testing.ts";
import type { LongWalker } from "../../../lib/cpu/long/long_state.ts";
import { machine64, setReg } from "./machine64.ts";

/** A 4-level walker stand-in: identity below 1 MiB (hi = 0) plus explicit page maps. */
class MapWalker implements LongWalker {
  pfErrorCode = 0;
  lastFault = 0;
  readonly pages = new Map<string, number>();
  map(hi: number, lo: number, machine: number): void {
    this.pages.set(`${hi}:${lo >>> 12}`, machine);
  }
  translate64(lo: number, hi: number, access: number): number {
    const top = hi >> 15;
    if (top !== 0 && top !== -1) {
      this.lastFault = 3;
      return -1;
    }
    if (hi === 0 && lo >>> 0 < 0x100000) return lo >>> 0;
    const m = this.pages.get(`${hi}:${lo >>> 12}`);
    if (m === undefined) {
      this.lastFault = 1;
      this.pfErrorCode = access;
      return -1;
    }
    return m + (lo & 0xfff);
  }
}

function run(bytes: string, setup?: (m: ReturnType<typeof machine64>) => void) {
  const m = machine64(hex(bytes + " f4"));
  m.cpu.cr4 |= 0x600;
  setup?.(m);
  for (let i = 0; i < 32 && !m.cpu.halted && m.platform.exceptions.length === 0; i++) {
    m.cpu.run(1);
  }
  return m;
}

const vec = (m: ReturnType<typeof machine64>) =>
  m.platform.exceptions.length ? m.platform.exceptions[0].vector : -1;

Deno.test("long mode SSE/x87: CR0.TS gives #NM, CR0.EM and CR4.OSFXSR=0 give #UD", () => {
  const ts = (m: ReturnType<typeof machine64>) => m.cpu.cr0 |= 8;
  assert.equal(vec(run("45 0f 58 c1", ts)), 7, "addps xmm8, xmm9 with TS");
  assert.equal(vec(run("d9 e8", ts)), 7, "fld1 with TS");
  assert.equal(vec(run("bb 00 80 00 00 48 0f ae 03", ts)), 7, "fxsave64 with TS");
  assert.equal(vec(run("9b", ts)), -1, "fwait with TS but not MP");
  assert.equal(vec(run("9b", (m) => m.cpu.cr0 |= 0xa)), 7, "fwait with MP and TS");
  const em = (m: ReturnType<typeof machine64>) => m.cpu.cr0 |= 4;
  assert.equal(vec(run("45 0f 58 c1", em)), 6, "addps with EM");
  assert.equal(vec(run("d9 e8", em)), 7, "fld1 with EM: #NM");
  assert.equal(vec(run("bb 00 80 00 00 0f ae 03", em)), 6, "fxsave with EM");
  const noFxsr = (m: ReturnType<typeof machine64>) => m.cpu.cr4 &= ~0x200;
  assert.equal(vec(run("66 44 0f d4 c1", noFxsr)), 6, "paddq without OSFXSR");
  assert.equal(vec(run("0f 77")), 6, "emms: MMX is not modelled");
  assert.equal(vec(run("f0 0f 58 c1")), 6, "lock addps");
});

Deno.test("long mode SSE: #GP(0) for misaligned movaps/fxsave and non-canonical operands", () => {
  const rbx = (v: bigint) => (m: ReturnType<typeof machine64>) => setReg(m.cpu, 3, v);
  let m = run("44 0f 28 03", rbx(0x8004n)); // movaps xmm8, [rbx]
  assert.deepEqual([vec(m), m.platform.exceptions[0].errorCode], [13, 0]);
  assert.equal(vec(run("44 0f 10 03", rbx(0x8004n))), -1, "movups: no alignment");
  assert.equal(vec(run("48 0f ae 03", rbx(0x8008n))), 13, "fxsave64 misaligned");
  m = run("44 0f 10 03", rbx(0x0000800000000000n)); // movups: non-canonical
  assert.deepEqual([vec(m), m.platform.exceptions[0].errorCode], [13, 0]);
  assert.equal(vec(run("dd 03", rbx(0xffff7fffffff0000n))), 13, "fld m64 non-canonical");
  assert.equal(m.cpu.eip, 0x1000, "RIP at the faulting instruction");
});

Deno.test("long mode SSE: #PF sets both CR2 halves; operands crossing 2^32 carry", () => {
  const w = new MapWalker();
  w.map(0, 0xfffff000, 0x10000);
  w.map(1, 0, 0x20000);
  const setup = (m: ReturnType<typeof machine64>) => {
    m.cpu.lm.walker = w;
    setReg(m.cpu, 3, 0xfffffff8n);
    for (let i = 0; i < 16; i++) m.mem.u8[0x10ff8 + (i & 7) + (i < 8 ? 0 : 0xf008)] = 0x10 + i;
  };
  // movups xmm9, [rbx]: 8 bytes below 2^32, 8 above
  let m = run("44 0f 10 0b", setup);
  assert.equal(vec(m), -1);
  assert.deepEqual(
    [...m.cpu.sse.u8.subarray(144, 160)],
    [...Array(16).keys()].map((i) => 0x10 + i),
  );
  // movups [rbx], xmm9 at 2^32 + 0xff8: the page at 2^32 + 0x1000 is not mapped
  m = run("44 0f 11 0b", (m) => {
    setup(m);
    setReg(m.cpu, 3, 0x100000ff8n);
    m.cpu.sse.u8.fill(0xee);
  });
  assert.equal(vec(m), 14);
  assert.deepEqual([m.cpu.cr2 >>> 0, m.cpu.lm.cr2Hi], [0x1000, 1]);
  assert.equal(m.mem.u8[0x20ff8], 0, "nothing written before the fault");
  // movups [rbx], xmm9 at 2^32 - 8: the page at 2^32 is mapped, 2^32 + 0x1000 is not
  m = run("44 0f 11 0b", (m) => {
    w.pages.delete("1:0");
    setup(m);
    m.cpu.sse.u8.fill(0xee);
  });
  w.map(1, 0, 0x20000);
  assert.equal(vec(m), 14, "the page above 2^32 unmapped");
  assert.deepEqual([m.cpu.cr2 >>> 0, m.cpu.lm.cr2Hi], [0, 1], "CR2 = 2^32");
  assert.equal(m.mem.u8[0x10ff8], 0x10, "nothing written below 2^32 before the fault");
  // fstp qword [rbx] at 2^32 - 4: the same check for x87 stores
  m = run("d9 e8 dd 1b", (m) => {
    w.pages.delete("1:0");
    setup(m);
    setReg(m.cpu, 3, 0xfffffffcn);
  });
  w.map(1, 0, 0x20000);
  assert.equal(vec(m), 14, "fstp m64 across into an unmapped page");
  assert.deepEqual([m.cpu.cr2 >>> 0, m.cpu.lm.cr2Hi], [0, 1]);
  assert.equal(m.mem.u8[0x10ffc], 0x14, "nothing written below 2^32 before the fault");
  // fxsave64 at 2^32 - 256: crosses into the page above 2^32
  m = run("48 0f ae 83 08 ff ff ff", (m) => {
    setup(m);
    m.cpu.sse.i32[4 * 15 + 3] = 0x12345678;
  });
  assert.equal(vec(m), -1);
  const dv = new DataView(m.mem.u8.buffer);
  assert.equal(dv.getUint32(0x10f00 + 24, true), 0x1f80, "MXCSR below 2^32");
  assert.equal(dv.getUint32(0x20000 + 0x19c - 0x100, true), 0x12345678, "xmm15 above 2^32");
});

Deno.test("long mode fxsave/fxrstor: 64-bit FIP/FDP with REX.W, FCS/FDS without, xmm8-15", () => {
  const w = new MapWalker();
  w.map(1, 0x1000, 0x1000); // code at 2^32 + 0x1000 (the same machine page)
  w.map(1, 0x8000, 0x8000); // data at 2^32 + 0x8000
  const setup = (m: ReturnType<typeof machine64>) => {
    m.cpu.lm.walker = w;
    m.cpu.lm.ripHi = 1;
    setReg(m.cpu, 3, 0x100008000n);
    m.mem.u8.set([0, 0, 0x80, 0x3f], 0x8040); // 1.0f at rbx+0x40
    for (let i = 0; i < 64; i++) m.cpu.sse.i32[i] = 0x01010101 * (i >> 2) + (i & 3);
  };
  // fld dword [rbx+0x40]; fxsave64 [rbx+0x100]; fxsave [rbx+0x300]
  const m = run("d9 43 40 48 0f ae 83 00 01 00 00 0f ae 83 00 03 00 00", setup);
  assert.equal(vec(m), -1);
  const dv = new DataView(m.mem.u8.buffer);
  const q = (o: number) =>
    (BigInt(dv.getUint32(o + 4, true)) << 32n) | BigInt(dv.getUint32(o, true));
  assert.equal(q(0x8100 + 8), 0x100001000n, "FIP (64-bit)");
  assert.equal(q(0x8100 + 16), 0x100008040n, "FDP (64-bit)");
  assert.equal(dv.getUint32(0x8300 + 8, true), 0x1000, "FIP low half");
  assert.equal(dv.getUint16(0x8300 + 12, true), m.cpu.segSel[1] & 0xffff, "FCS");
  assert.equal(dv.getUint32(0x8300 + 16, true), 0x8040, "FDP low half");
  for (const base of [0x8100, 0x8300]) {
    for (let r = 8; r < 16; r++) {
      assert.equal(dv.getUint32(base + 160 + 16 * r, true), 0x01010101 * r, `xmm${r}`);
    }
  }
  // fxrstor64 brings xmm8-15 and the FIP high half back; fxrstor (no REX.W) too
  const m2 = run("48 0f ae 8b 00 01 00 00 48 0f ae 83 00 05 00 00", (n) => {
    setup(n);
    n.mem.u8.set(m.mem.u8.subarray(0x8100, 0x8300), 0x8100);
    n.cpu.sse.u8.fill(0);
  });
  assert.equal(vec(m2), -1);
  assert.equal(m2.cpu.sse.i32[4 * 15], 0x0f0f0f0f);
  const dv2 = new DataView(m2.mem.u8.buffer);
  assert.equal(dv2.getUint32(0x8500 + 8, true), 0x1000, "FIP survives fxrstor64/fxsave64");
  assert.equal(dv2.getUint32(0x8500 + 12, true), 1, "FIP high half");
  const m3 = run("0f ae 8b 00 03 00 00", (n) => {
    setup(n);
    n.mem.u8.set(m.mem.u8.subarray(0x8300, 0x8500), 0x8300);
    n.cpu.sse.u8.fill(0);
  });
  assert.equal(vec(m3), -1);
  assert.equal(m3.cpu.sse.i32[4 * 9 + 1], 0x01010101 * 9 + 1, "xmm9 restored without REX.W");
});
