/**
 * A Linux-like process lifecycle through the model: page-table pages are written through
 * ordinary writable mappings, made read-only, pinned and installed; the process runs
 * (walks, ptwr stores, update_va_mapping); then it exits and everything unwinds.
 */
import assert from "node:assert/strict";
import { ACC_READ, ACC_USER, ACC_WRITE } from "../../lib/cpu/platform.ts";
import {
  _PAGE_PRESENT,
  MACH2PHYS_VIRT_START,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_PIN_L3_TABLE,
  MMUEXT_UNPIN_TABLE,
  mmuextOp,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_writable_page,
  ptwrEmulate,
  updateVaMapping,
  UVMF_INVLPG,
} from "../../lib/paging/mod.ts";
import { EBUSY } from "../../lib/abi/mod.ts";
import { makeTestGuest, PTE_PR_U, PTE_PRW_U } from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

Deno.test("a process's page tables go from writable pages to a pinned base and back", () => {
  const g = makeTestGuest(64);
  const d = g.dom, f = g.frames, w = d.walkers[0];
  const mfn = (pfn: number) => d.p2m.get(asGfn(pfn));
  // pfns 40..43 become the new process's L3, L2 (slot 0), slot-3 L2 and L1; pfn 50 its
  // data page. The kernel writes them through its writable mappings (linear pfn * 4096).
  const [L3, L2, L2X, L1, DATA] = [40, 41, 42, 43, 50];
  const store = (pfn: number, slot: number, lo: number, hi = 0) => {
    const m = w.translate(pfn * 4096 + slot * 8, ACC_WRITE);
    assert.ok(m >= 0, `kernel store to pfn ${pfn}`);
    f.mem.dv.setUint32(m, lo, true);
    f.mem.dv.setUint32(m + 4, hi, true);
  };
  store(L3, 0, (mfn(L2) << 12) | _PAGE_PRESENT);
  store(L3, 3, (mfn(L2X) << 12) | _PAGE_PRESENT);
  store(L2, 0, (mfn(L1) << 12) | PTE_PRW_U);
  store(L1, 1, (mfn(DATA) << 12) | PTE_PRW_U);
  // Pinning while the kernel still maps them writable fails: they are writable pages.
  assert.equal(mmuextOp(d, 0, MMUEXT_PIN_L3_TABLE, mfn(L3)), -22);
  // make_lowmem_page_readonly for each table page.
  for (const p of [L3, L2, L2X, L1]) {
    assert.equal(updateVaMapping(d, 0, p * 4096, (mfn(p) << 12) | PTE_PR_U, 0, UVMF_INVLPG), 0);
  }
  assert.equal(mmuextOp(d, 0, MMUEXT_PIN_L3_TABLE, mfn(L3)), 0);
  assert.equal(f.type[mfn(L3)], PGT_l3_page_table);
  assert.equal(f.type[mfn(L2)], PGT_l2_page_table);
  assert.equal(f.type[mfn(L1)], PGT_l1_page_table);
  assert.equal(f.type[mfn(DATA)], PGT_writable_page);
  // Switch to it: the process sees its data page at 0x1000 and the M2P in the hole.
  assert.equal(mmuextOp(d, 0, MMUEXT_NEW_BASEPTR, mfn(L3)), 0);
  assert.equal(w.translate(0x1000, ACC_WRITE | ACC_USER), mfn(DATA) * 4096);
  const m2p = w.translate(MACH2PHYS_VIRT_START + mfn(DATA) * 4, ACC_READ);
  assert.equal(f.mem.dv.getUint32(m2p, true), DATA);
  // Back on the kernel's tables, a store through the read-only mapping of the process's
  // L1 is emulated (writable page tables).
  assert.equal(mmuextOp(d, 0, MMUEXT_NEW_BASEPTR, g.l3), 0);
  assert.equal(ptwrEmulate(d, 0, L1 * 4096 + 2 * 8, (mfn(DATA + 1) << 12) | PTE_PR_U, 0, 8), 0);
  // ... but a store making its own L2 writable-mapped is refused.
  assert.equal(ptwrEmulate(d, 0, L1 * 4096 + 3 * 8, (mfn(L2) << 12) | PTE_PRW_U, 0, 8), -EBUSY);
  // Exit: unpin, and the tables go back to being ordinary pages the kernel may write.
  assert.equal(mmuextOp(d, 0, MMUEXT_UNPIN_TABLE, mfn(L3)), 0);
  for (const p of [L3, L2, L2X, L1]) assert.equal(f.typeCount[mfn(p)], 0, `pfn ${p}`);
  assert.equal(f.typeCount[mfn(DATA)], 1, "only the kernel's own mapping left");
  for (const p of [L3, L2, L2X, L1]) {
    assert.equal(updateVaMapping(d, 0, p * 4096, (mfn(p) << 12) | PTE_PRW_U, 0, UVMF_INVLPG), 0);
  }
  assert.equal(f.needFlushAll, true, "old page-table pages turned writable: flush everyone");
  store(L1, 1, 0);
});

Deno.test("each vcpu keeps its own base pointer and reference", () => {
  const g = makeTestGuest(64, 2048, 2);
  const d = g.dom, f = g.frames;
  const l3b = d.p2m.get(asGfn(60)), l2xb = d.p2m.get(asGfn(61));
  for (const p of [60, 61]) {
    assert.equal(updateVaMapping(d, 0, p * 4096, (d.p2m.get(asGfn(p)) << 12) | PTE_PR_U, 0, 0), 0);
  }
  f.u32[l3b * 1024 + 6] = (l2xb << 12) | 1;
  assert.equal(mmuextOp(d, 1, MMUEXT_NEW_BASEPTR, l3b), 0);
  assert.equal(d.baseMfn[0], g.l3);
  assert.equal(d.baseMfn[1], l3b);
  assert.equal(d.walkers[1].translate(0x5000, ACC_READ), -1, "vcpu 1 maps nothing below 3 GiB");
  assert.ok(d.walkers[0].translate(0x5000, ACC_READ) >= 0);
  assert.equal(f.typeCount[l3b], 1);
  assert.equal(mmuextOp(d, 1, MMUEXT_NEW_BASEPTR, g.l3), 0);
  assert.equal(f.typeCount[l3b], 0, "vcpu 1's old base released");
});
