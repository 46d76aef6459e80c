/**
 * The 64-bit TLB in front of the 4-level walker (lib/cpu/tlb64.ts, lib/cpu/long/mem64.ts):
 * entries outlive page-table changes until a flush (CR3 load, invlpg, invlpg64, the
 * hypervisor's 32-bit invlpg), separate read / write / fetch / user entries make the walker
 * check R/W, U/S and NX and set the dirty bit on the first write after a read, write
 * entries never cover code frames, and slot conflicts and table overflow stay correct.
 * @module
 */

import assert from "node:assert/strict";
import { FAULT } from "../../../lib/cpu/mod.ts";
import { A_FETCH, read64, V, write64, xlate64 } from "../../../lib/cpu/long/mem64.ts";
import { slotOf, Tlb64 } from "../../../lib/cpu/tlb64.ts";
import { machine64Paged, PTE_A, PTE_D, PTE_P, PTE_RW, PTE_US } from "./sandbox64.ts";
import type { Cpu } from "../../../lib/cpu/mod.ts";

const HI = 0xffff8000 | 0; // a kernel-half address: 0xffff8000_xxxxxxxx
const PAGE = 0x00200000;

function sandbox() {
  const m = machine64Paged(256, 0x80, 0x20);
  m.tables.map(PAGE, HI, 0x10, PTE_RW | PTE_US);
  m.tables.map(PAGE + 0x1000, HI, 0x11, PTE_US); // read-only
  m.tables.map(PAGE + 0x2000, HI, 0x12, PTE_RW); // supervisor only
  m.tables.map(PAGE + 0x3000, HI, 0x13, PTE_RW | PTE_US, true); // NX
  m.mem.dv.setUint32(0x10000, 0xaaaa, true);
  m.mem.dv.setUint32(0x20000, 0xbbbb, true);
  return m;
}

/** Runs `f` and returns [vector, error code, cr2 lo, cr2 hi] of its fault, or null. */
function faultOf(cpu: Cpu, f: () => void): number[] | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e !== FAULT) throw e;
    return [cpu.excVector, cpu.excCode, cpu.cr2, cpu.lm.cr2Hi];
  }
}

function rd(cpu: Cpu, lo: number, hi = HI): number {
  read64(cpu, lo, hi, 4);
  return V[0];
}

Deno.test("tlb64: a cached translation outlives a PTE change until invlpg64, flushTlb or invlpg", () => {
  const { cpu, tables } = sandbox();
  assert.equal(rd(cpu, PAGE), 0xaaaa);
  tables.map(PAGE, HI, 0x20, PTE_RW | PTE_US);
  assert.equal(rd(cpu, PAGE), 0xaaaa, "stale until flushed");
  cpu.invlpg64(PAGE + 0x123, HI + 1); // another page: no effect
  assert.equal(rd(cpu, PAGE), 0xaaaa);
  cpu.invlpg64(PAGE + 0x123, HI);
  assert.equal(rd(cpu, PAGE), 0xbbbb);
  tables.map(PAGE, HI, 0x10, PTE_RW | PTE_US);
  assert.equal(rd(cpu, PAGE), 0xbbbb);
  cpu.flushTlb();
  assert.equal(rd(cpu, PAGE), 0xaaaa);
  tables.map(PAGE, HI, 0x20, PTE_RW | PTE_US);
  cpu.invlpg(PAGE); // the hypervisor's 32-bit invlpg: the whole 64-bit TLB goes
  assert.equal(rd(cpu, PAGE), 0xbbbb);
  // Unmapped after caching: still readable until the flush, then #PF with CR2.
  tables.setPte(PAGE, HI, 0);
  assert.equal(rd(cpu, PAGE + 4), 0);
  cpu.flushTlb();
  assert.deepEqual(faultOf(cpu, () => rd(cpu, PAGE + 4)), [14, 0, PAGE + 4, HI]);
});

Deno.test("tlb64: the first write after a cached read walks (dirty bit, read-only #PF)", () => {
  const { cpu, tables } = sandbox();
  rd(cpu, PAGE);
  assert.equal(tables.pte(PAGE, HI) & (PTE_A | PTE_D), PTE_A);
  V[0] = 0x1234;
  write64(cpu, PAGE + 8, HI, 4);
  assert.equal(tables.pte(PAGE, HI) & (PTE_A | PTE_D), PTE_A | PTE_D);
  // The write entry is cached: a guest clearing D without a flush is not seen...
  tables.setPte(PAGE, HI, tables.pte(PAGE, HI) & ~PTE_D);
  write64(cpu, PAGE + 8, HI, 4);
  assert.equal(tables.pte(PAGE, HI) & PTE_D, 0);
  // ...until the flush.
  cpu.flushTlb();
  write64(cpu, PAGE + 8, HI, 4);
  assert.equal(tables.pte(PAGE, HI) & PTE_D, PTE_D);
  // Read-only: reads cached, the write faults with P|W and CR2 (both halves).
  assert.equal(rd(cpu, PAGE + 0x1000), 0);
  assert.deepEqual(faultOf(cpu, () => write64(cpu, PAGE + 0x1ffc, HI, 4)), [
    14,
    3,
    PAGE + 0x1ffc,
    HI,
  ]);
  // A write crossing into the read-only page changes neither page (CR2 in the second).
  V[0] = -1;
  V[1] = -1;
  const f = faultOf(cpu, () => write64(cpu, PAGE + 0xffc, HI, 8));
  assert.deepEqual([f?.[0], f?.[1], (f?.[2] ?? 0) >>> 12, f?.[3]], [14, 3, (PAGE >>> 12) + 1, HI]);
  assert.equal(cpu.mem.dv.getUint32(0x10ffc, true), 0);
});

Deno.test("tlb64: user and supervisor entries are separate, NX is checked on the first fetch", () => {
  const { cpu } = sandbox();
  assert.equal(rd(cpu, PAGE + 0x2000), 0, "CPL 0 reads the supervisor page");
  cpu.cpl = 3;
  assert.deepEqual(faultOf(cpu, () => rd(cpu, PAGE + 0x2000)), [14, 5, PAGE + 0x2000, HI]);
  assert.equal(rd(cpu, PAGE), 0xaaaa, "CPL 3 reads a user page");
  cpu.cpl = 0;
  assert.equal(rd(cpu, PAGE + 0x3000), 0);
  assert.deepEqual(faultOf(cpu, () => xlate64(cpu, PAGE + 0x3010, HI, A_FETCH)), [
    14,
    0x11,
    PAGE + 0x3010,
    HI,
  ]);
  assert.equal(xlate64(cpu, PAGE + 0x10, HI, A_FETCH), 0x10010, "fetch from an executable page");
});

Deno.test("tlb64: non-canonical addresses raise #GP(0) before and after cached entries", () => {
  const { cpu } = sandbox();
  rd(cpu, PAGE);
  assert.deepEqual(faultOf(cpu, () => rd(cpu, PAGE, 0x00008000))?.slice(0, 2), [13, 0]);
  assert.deepEqual(faultOf(cpu, () => rd(cpu, PAGE, HI & 0x7fffffff))?.slice(0, 2), [13, 0]);
});

Deno.test("tlb64: write entries never cover frames holding decoded code", () => {
  const { cpu, mem, tables } = sandbox();
  // Linear PAGE + 0x5000 -> frame 0x15; the CPU's 32-bit side (no walker) sees 0x15000.
  tables.map(PAGE + 0x5000, HI, 0x15, PTE_RW);
  V[0] = 1;
  write64(cpu, PAGE + 0x5000, HI, 4);
  assert.equal(mem.codeFrame[0x15], 0);
  // The frame becomes code (decoded by the 32-bit loop): the cached write entry goes, so
  // the next 64-bit write takes the slow path and drops the decoded records.
  cpu.codePage(0x15000);
  assert.equal(mem.codeFrame[0x15], 1);
  write64(cpu, PAGE + 0x5004, HI, 4);
  assert.equal(mem.codeFrame[0x15], 0);
});

Deno.test("tlb64: colliding slots and more fills than the flush list holds", () => {
  const t = new Tlb64();
  // Pages 2^14 apart share a slot with the same high half.
  t.fill(0, 0x1000, HI, 0x5000);
  t.fill(0, 0x1000 + (1 << 26), HI, 0x6000);
  assert.equal(t.lookup(0, 0x1000, HI), -1);
  assert.equal(t.lookup(0, 0x1000 + (1 << 26) + 8, HI), 0x6008);
  // 20,000 fills overflow the list of filled slots: flushAll must still clear them all.
  for (let p = 0; p < 20_000; p++) t.fill(p % 6, p << 12, p & 1 ? HI : 0, p << 12);
  assert.equal(t.lookup(19_999 % 6, 19_999 << 12, HI), 19_999 << 12);
  t.flushAll();
  for (let p = 0; p < 20_000; p++) {
    assert.equal(t.lookup(p % 6, p << 12, p & 1 ? HI : 0), -1);
  }
  // flushKind drops one kind only.
  t.fill(2, 0x7000, 0, 0x7000);
  t.fill(3, 0x7000, 0, 0x7000);
  t.fill(4, 0x7000, 0, 0x7000);
  t.flushKind(1);
  assert.deepEqual([t.lookup(2, 0x7000, 0), t.lookup(3, 0x7000, 0)], [-1, -1]);
  assert.equal(t.lookup(4, 0x7000, 0), 0x7000);
  assert.equal(slotOf(0x7000, 0), 7);
});

Deno.test("tlb64: entries follow the walker's result for every (kind, privilege) pair", () => {
  // Random PTE permissions: whatever the TLB answers (cached or not) equals a fresh walk.
  const { cpu, tables, walker } = sandbox();
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  for (let round = 0; round < 200; round++) {
    const page = rnd() & 7, lo = PAGE + 0x10000 + page * 0x1000;
    const flags = rnd() & (PTE_RW | PTE_US);
    tables.map(lo, HI, 0x30 + page, flags, (rnd() & 1) === 1);
    cpu.invlpg64(lo, HI);
    for (let k = 0; k < 6; k++) {
      const access = [0, 2, 16][k >> 1] | ((k & 1) !== 0 ? 4 : 0);
      cpu.cpl = (k & 1) !== 0 ? 3 : 0;
      for (let rep = 0; rep < 2; rep++) {
        const want = walker.translate64(lo + 8, HI, access);
        const got = faultOf(cpu, () => xlate64(cpu, lo + 8, HI, access & ~4));
        if (want < 0) {
          assert.deepEqual(got, [14, walker.pfErrorCode | 1, lo + 8, HI], `k${k}`);
        } else assert.equal(got, null);
      }
    }
    cpu.cpl = 0;
  }
  assert.equal(PTE_P, 1);
});
