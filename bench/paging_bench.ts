/**
 * lib/paging benchmarks: a translated access on a TLB hit (lib/cpu/tlb.ts lookup plus the
 * typed-array access), on a miss (a full PAE walk by PaeWalker), and page-table
 * validation throughput (pin + unpin of a full L1: 512 entries validated and released).
 * Each iteration does 1024 accesses (or one 512-entry validation): divide accordingly.
 *
 *   deno bench -A bench/paging_bench.ts
 * @module
 */

import { ACC_READ } from "../lib/cpu/platform.ts";
import { K_READ, Tlb } from "../lib/cpu/tlb.ts";
import {
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_UNPIN_TABLE,
  mmuextOp,
  mmuUpdateNormalPt,
} from "../lib/paging/mod.ts";
import { makeTestGuest, pokeEntry, PTE_PR_U } from "../lib/paging/testing.ts";
import { asGfn } from "../lib/abi/mod.ts";

const g = makeTestGuest(512, 4096);
const walker = g.dom.walkers[0];
const u8 = g.frames.mem.u8;
const tlb = new Tlb();
const ACCESSES = 1024;
// Linear addresses spread over 256 data pages (pfns 8..263), varied offsets.
const linears = new Uint32Array(ACCESSES);
for (let i = 0; i < ACCESSES; i++) linears[i] = ((8 + (i * 37) % 256) << 12) | ((i * 97) & 0xfff);
for (let i = 0; i < ACCESSES; i++) {
  const lin = linears[i];
  const m = walker.translate(lin, ACC_READ);
  tlb.fill(K_READ, 0, lin >>> 12, m - (lin & 4095));
}
const reads = tlb.tables[K_READ * 2];
let sink = 0;

Deno.bench("translated read, TLB hit (x1024)", { group: "access", baseline: true }, () => {
  let s = 0;
  for (let i = 0; i < ACCESSES; i++) {
    const lin = linears[i];
    const t = reads[lin >>> 12];
    s += t !== 0 ? u8[t - 1 + (lin & 4095)] : 0;
  }
  sink += s;
});

Deno.bench("translated read, TLB miss: PAE walk (x1024)", { group: "access" }, () => {
  let s = 0;
  for (let i = 0; i < ACCESSES; i++) s += u8[walker.translate(linears[i], ACC_READ)];
  sink += s;
});

// A spare frame filled with 512 present read-only entries onto the guest's data frames.
g.dom.populatePhysmap(600, 1);
const l1 = g.dom.p2m.get(asGfn(600));
for (let s = 0; s < 512; s++) {
  pokeEntry(g.frames, l1, s, (g.dom.p2m.get(asGfn(8 + (s % 256))) << 12) | PTE_PR_U);
}

Deno.bench("validate + release a full L1 (512 entries)", { group: "validate" }, () => {
  if (mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, l1) !== 0) throw new Error("pin failed");
  if (mmuextOp(g.dom, 0, MMUEXT_UNPIN_TABLE, l1) !== 0) throw new Error("unpin failed");
  g.frames.tlbFlushedAll();
});

// mmu_update: 200 checked L1 writes mapping data pages writable, then 200 unmapping them.
const slots = new Uint32Array(256);
for (let i = 0; i < 256; i++) slots[i] = (g.dom.p2m.get(asGfn(8 + i)) << 12) | 7;
Deno.bench("mmu_update: 400 checked L1 entry writes", { group: "validate" }, () => {
  const base = g.l1 * 4096 + 300 * 8;
  for (let i = 0; i < 200; i++) mmuUpdateNormalPt(g.dom, base + i * 8, slots[i], 0);
  for (let i = 0; i < 200; i++) mmuUpdateNormalPt(g.dom, base + i * 8, 0, 0);
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
