/**
 * The 4-level walker (lib/paging/lm_walk.ts) on hand-built tables: addresses above
 * 4 GiB and in the upper canonical half, canonical faults, U/S and R/W across levels,
 * CR0.WP, NX with and without EFER.NXE, accessed/dirty bits, superpages only when
 * translated; and the 64-bit TLB (lib/cpu/tlb64.ts).
 * @module
 */

import assert from "node:assert/strict";
import { PhysMemory } from "../../lib/cpu/phys_memory.ts";
import { isCanonical, LongModeWalker, WALK_NONCANONICAL } from "../../lib/paging/lm_walk.ts";
import { WALK_FAULT, WALK_OK } from "../../lib/paging/pae_walk.ts";
import { ACC_FETCH, ACC_READ, ACC_USER, ACC_WRITE } from "../../lib/cpu/platform.ts";
import { slotOf, Tlb64 } from "../../lib/cpu/tlb64.ts";

const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80;
const NX = 0x80000000 | 0;
const PML4 = 1, PDPT = 2, PD = 3, PT = 4, DATA = 5;

function entry(mem: PhysMemory, table: number, slot: number, lo: number, hi = 0): void {
  const u32 = new Uint32Array(mem.buffer);
  u32[table * 1024 + slot * 2] = lo;
  u32[table * 1024 + slot * 2 + 1] = hi;
}

function entryLo(mem: PhysMemory, table: number, slot: number): number {
  return new Uint32Array(mem.buffer)[table * 1024 + slot * 2];
}

/**
 * Maps linear hi:lo's page to frame DATA through PML4/PDPT/PD/PT frames 1..4 with the
 * given flags at every level (`leaf` for the PT entry) and NX hi words.
 */
function build(lo: number, hi: number, upper: number, leaf: number, nxAt = -1): PhysMemory {
  const mem = new PhysMemory(64);
  const nx = (l: number) => (l === nxAt ? NX : 0);
  entry(mem, PML4, (hi >>> 7) & 511, (PDPT << 12) | upper, nx(0));
  entry(mem, PDPT, ((hi & 0x7f) << 2) | (lo >>> 30), (PD << 12) | upper, nx(1));
  entry(mem, PD, (lo >>> 21) & 511, (PT << 12) | upper, nx(2));
  entry(mem, PT, (lo >>> 12) & 511, (DATA << 12) | leaf, nx(3));
  return mem;
}

function walker(mem: PhysMemory): LongModeWalker {
  const w = new LongModeWalker(mem);
  w.cr3 = PML4 << 12;
  return w;
}

Deno.test("LongModeWalker translates addresses above 4 GiB and in the upper half", () => {
  for (const [lo, hi] of [[0x1234_5678, 0x0000_7f12], [0x8000_0abc, -0x0000_8000], [0x42, 1]]) {
    const mem = build(lo, hi, P | RW | US, P | RW | US);
    const w = walker(mem);
    assert.equal(w.translate64(lo, hi, ACC_READ), DATA * 4096 + (lo & 0xfff));
    assert.equal(w.lastFault, WALK_OK);
    // The neighbouring page (different PT slot) is not mapped: #PF, not present.
    assert.equal(w.translate64((lo ^ 0x1000) >>> 0, hi, ACC_WRITE | ACC_USER), -1);
    assert.equal(w.pfErrorCode, ACC_WRITE | ACC_USER);
    assert.equal(w.lastFault, WALK_FAULT);
  }
});

Deno.test("LongModeWalker refuses non-canonical addresses without walking", () => {
  assert.ok(isCanonical(0x7fff) && isCanonical(-0x8000) && isCanonical(0));
  assert.ok(!isCanonical(0x8000) && !isCanonical(-0x8001) && !isCanonical(0x10000));
  const mem = build(0x1000, 0, P | RW | US, P | RW | US);
  const w = walker(mem);
  assert.equal(w.translate64(0x1000, 0x8000, ACC_READ), -1);
  assert.equal(w.lastFault, WALK_NONCANONICAL);
  assert.equal(entryLo(mem, PML4, 0) & A, 0, "a refused address sets no accessed bit");
});

Deno.test("LongModeWalker: U/S and R/W are the AND of all four levels, CR0.WP applies", () => {
  for (let level = 0; level < 4; level++) {
    for (const bit of [US, RW]) {
      const mem = new PhysMemory(64);
      const flags = (l: number) => (P | RW | US) & ~(l === level ? bit : 0);
      entry(mem, PML4, 0, (PDPT << 12) | flags(0));
      entry(mem, PDPT, 0, (PD << 12) | flags(1));
      entry(mem, PD, 0, (PT << 12) | flags(2));
      entry(mem, PT, 3, (DATA << 12) | flags(3));
      const w = walker(mem);
      const acc = bit === US ? ACC_USER : ACC_WRITE | ACC_USER;
      assert.equal(w.translate64(0x3000, 0, acc), -1, `level ${level} bit ${bit}`);
      assert.equal(w.pfErrorCode, acc | 1);
      if (bit === RW) {
        // Supervisor writes to a read-only page: allowed only with CR0.WP clear.
        assert.equal(w.translate64(0x3000, 0, ACC_WRITE), -1);
        w.wp = false;
        assert.equal(w.translate64(0x3000, 0, ACC_WRITE), DATA * 4096);
      }
    }
  }
});

Deno.test("LongModeWalker: NX at any level faults fetches with NXE, is reserved without", () => {
  for (let level = 0; level < 4; level++) {
    const mem = build(0x5000, 0, P | RW, P | RW, level);
    const w = walker(mem);
    assert.equal(w.translate64(0x5000, 0, ACC_READ), DATA * 4096, "data reads are allowed");
    assert.equal(w.translate64(0x5000, 0, ACC_FETCH), -1);
    assert.equal(w.pfErrorCode, ACC_FETCH | 1);
    w.nxe = false;
    assert.equal(w.translate64(0x5000, 0, ACC_READ), -1);
    assert.equal(w.pfErrorCode, 1 | 8, "NX with EFER.NXE clear is a reserved bit");
  }
});

Deno.test("LongModeWalker sets accessed on every level and dirty on the leaf for writes", () => {
  const lo = 0x0060_1000, hi = 0x12;
  const mem = build(lo, hi, P | RW, P | RW);
  const w = walker(mem);
  w.translate64(lo, hi, ACC_READ);
  assert.equal(entryLo(mem, PML4, (hi >>> 7) & 511) & (A | D), A);
  assert.equal(entryLo(mem, PT, (lo >>> 12) & 511) & (A | D), A);
  assert.equal(w.lastWritable, false, "a clean page is not cached for writes");
  w.translate64(lo, hi, ACC_WRITE);
  assert.equal(entryLo(mem, PT, (lo >>> 12) & 511) & (A | D), A | D);
  assert.equal(entryLo(mem, PD, (lo >>> 21) & 511) & D, 0, "no dirty bit on a table entry");
  assert.equal(w.lastWritable, true);
});

Deno.test("LongModeWalker: superpages are reserved in direct mode; PS in a PML4E always", () => {
  const mem = build(0x1000, 0, P | RW, P | RW);
  entry(mem, PD, 0, (0x200 << 12) | P | RW | PS);
  const w = walker(mem);
  assert.equal(w.translate64(0x1000, 0, ACC_READ), -1);
  assert.equal(w.pfErrorCode, 1 | 8);
  entry(mem, PML4, 0, (PDPT << 12) | P | RW | PS);
  assert.equal(w.translate64(0x1000, 0, ACC_READ), -1);
  assert.equal(w.pfErrorCode, 1 | 8);
});

Deno.test("Tlb64 keys on the whole 64-bit page number and flushes by page", () => {
  const t = new Tlb64();
  t.fill(0, 0x1000, 0, 0x5000);
  assert.equal(t.lookup(0, 0x1234, 0), 0x5234);
  assert.equal(t.lookup(0, 0x1234, 1), -1, "same low half, other 4 GiB window");
  assert.equal(t.lookup(1, 0x1234, 0), -1, "other kind");
  // Two pages in the same slot: the second fill replaces the first.
  let hi2 = 1;
  while (slotOf(0x1000, hi2) !== slotOf(0x1000, 0)) hi2++;
  t.fill(0, 0x1000, hi2, 0x9000);
  assert.equal(t.lookup(0, 0x1000, hi2), 0x9000);
  assert.equal(t.lookup(0, 0x1000, 0), -1, "the colliding page was replaced");
  t.fill(0, 0xffff_f000 | 0, -1, 0x7000);
  assert.equal(t.lookup(0, 0xffff_fff8 | 0, -1), 0x7ff8);
  t.flushPage(0xffff_f000 | 0, -1);
  assert.equal(t.lookup(0, 0xffff_fff8 | 0, -1), -1);
  t.flushAll();
  assert.equal(t.lookup(0, 0x1000, hi2), -1);
});
