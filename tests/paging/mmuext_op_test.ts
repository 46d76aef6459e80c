import assert from "node:assert/strict";
import {
  _PAGE_PRESENT,
  FLUSH_ALL,
  FLUSH_PAGES,
  MMUEXT_CLEAR_PAGE,
  MMUEXT_COPY_PAGE,
  MMUEXT_FLUSH_CACHE,
  MMUEXT_INVLPG_LOCAL,
  MMUEXT_INVLPG_MULTI,
  MMUEXT_MARK_SUPER,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_PIN_L2_TABLE,
  MMUEXT_PIN_L3_TABLE,
  MMUEXT_PIN_L4_TABLE,
  MMUEXT_SET_LDT,
  MMUEXT_TLB_FLUSH_ALL,
  MMUEXT_TLB_FLUSH_MULTI,
  MMUEXT_UNPIN_TABLE,
  mmuextOp,
  mmuUpdateNormalPt,
  PagingDomain,
  PGT_l1_page_table,
  PGT_l3_page_table,
  PGT_pinned,
  PGT_validated,
} from "../../lib/paging/mod.ts";
import { EACCES, EBUSY, EINVAL, ENOSYS, EOPNOTSUPP } from "../../lib/abi/mod.ts";
import {
  makeTestGuest,
  pokeEntry,
  PTE_PR_U,
  PTE_PRW_U,
  type TestGuest,
} from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

function spare(g: TestGuest, pfn: number): number {
  assert.equal(g.dom.populatePhysmap(pfn, 1), 0);
  return g.dom.p2m.get(asGfn(pfn));
}

function upd(g: TestGuest, mfn: number, slot: number, lo: number, hi = 0): number {
  return mmuUpdateNormalPt(g.dom, mfn * 4096 + slot * 8, lo, hi);
}

/** A fresh L3 whose slot 3 holds a fresh (empty) L2. */
function freshL3(g: TestGuest, pfn: number): { l3: number; l2x: number } {
  const l3 = spare(g, pfn), l2x = spare(g, pfn + 1);
  pokeEntry(g.frames, l3, 3, (l2x << 12) | _PAGE_PRESENT);
  return { l3, l2x };
}

Deno.test("mmuextOp() PIN_L1_TABLE pins a table, which then refuses writable mappings", () => {
  const g = makeTestGuest();
  const t = spare(g, 200);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, t), 0);
  assert.ok(g.frames.tflags[t] & PGT_pinned);
  assert.equal(g.frames.type[t], PGT_l1_page_table);
  assert.equal(upd(g, g.l1, 100, (t << 12) | PTE_PRW_U), -EBUSY);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, t), -EINVAL, "already pinned");
  assert.equal(g.frames.typeCount[t], 1);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_UNPIN_TABLE, t), 0);
  assert.equal(g.frames.typeCount[t], 0);
  assert.equal(upd(g, g.l1, 100, (t << 12) | PTE_PRW_U), 0);
});

Deno.test("mmuextOp() UNPIN_TABLE of a table still in use keeps it validated", () => {
  const g = makeTestGuest();
  const t = spare(g, 200);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, t), 0);
  assert.equal(upd(g, g.l2, 1, (t << 12) | PTE_PRW_U), 0);
  assert.equal(g.frames.typeCount[t], 2);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_UNPIN_TABLE, t), 0);
  assert.equal(g.frames.typeCount[t], 1);
  assert.ok(g.frames.tflags[t] & PGT_validated);
  assert.equal(upd(g, g.l1, 100, (t << 12) | PTE_PRW_U), -EBUSY, "still a page table");
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_UNPIN_TABLE, t), -EINVAL, "not pinned");
});

Deno.test("mmuextOp() PIN refuses foreign frames, frames mapped writable and type conflicts", () => {
  const g = makeTestGuest();
  const other = new PagingDomain(g.frames, 2);
  other.populatePhysmap(0, 1);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, other.p2m.get(asGfn(0))), -EINVAL);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_UNPIN_TABLE, other.p2m.get(asGfn(0))), -EINVAL);
  const data = g.dom.p2m.get(asGfn(20)); // mapped writable by the L1
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, data), -EINVAL);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L2_TABLE, g.l1), -EINVAL); // in use as L1
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L2_TABLE, g.l2x), -EINVAL); // the slot-3 L2
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L4_TABLE, g.l1), 0); // no-op for 32-bit
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, 1 << 30), -EINVAL);
});

Deno.test("mmuextOp() PIN_L3_TABLE requires slot 3 present and not shared", () => {
  const g = makeTestGuest();
  const a = spare(g, 200);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L3_TABLE, a), -EINVAL, "slot 3 empty");
  assert.equal(g.frames.typeCount[a], 0);
  pokeEntry(g.frames, a, 3, (g.l2x << 12) | _PAGE_PRESENT);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L3_TABLE, a), -EINVAL, "slot-3 L2 shared");
  const { l3, l2x } = freshL3(g, 210);
  pokeEntry(g.frames, l3, 0, (g.l2 << 12) | _PAGE_PRESENT); // shares slot 0: allowed
  pokeEntry(g.frames, l3, 7, 0xdeadbeef); // beyond the 4 PAE entries: cleared
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L3_TABLE, l3), 0);
  assert.equal(g.frames.u32[l3 * 1024 + 14], 0);
  assert.equal(g.frames.typeCount[l2x], 1);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_UNPIN_TABLE, l3), 0);
  assert.equal(g.frames.typeCount[l2x], 0);
});

Deno.test("mmuextOp() PIN_L3_TABLE refuses reserved bits in the PAE entries", () => {
  const g = makeTestGuest();
  const { l3 } = freshL3(g, 200);
  const l2 = spare(g, 202);
  pokeEntry(g.frames, l3, 1, (l2 << 12) | _PAGE_PRESENT | 0x80); // PSE
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L3_TABLE, l3), -EINVAL);
  pokeEntry(g.frames, l3, 1, (l2 << 12) | _PAGE_PRESENT, 0x80000000); // NX
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L3_TABLE, l3), -EINVAL);
  pokeEntry(g.frames, l3, 1, (l2 << 12) | _PAGE_PRESENT);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L3_TABLE, l3), 0);
});

Deno.test("mmuextOp() NEW_BASEPTR switches to a valid L3 and releases the old one", () => {
  const g = makeTestGuest();
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_NEW_BASEPTR, g.dom.p2m.get(asGfn(20))), -EINVAL);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_NEW_BASEPTR, 0), -EINVAL); // pfn 0 is not an mfn
  const { l3 } = freshL3(g, 200);
  pokeEntry(g.frames, l3, 0, (g.l2 << 12) | _PAGE_PRESENT);
  const oldCount = g.frames.typeCount[g.l3];
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_NEW_BASEPTR, l3), 0);
  assert.equal(g.frames.type[l3], PGT_l3_page_table);
  assert.equal(g.frames.typeCount[l3], 1);
  assert.equal(g.frames.typeCount[g.l3], oldCount - 1);
  assert.equal(g.dom.baseMfn[0], l3);
  assert.equal(g.dom.walkers[0].cr3, l3 * 4096);
  assert.equal(g.dom.flush.kind[0], FLUSH_ALL);
});

Deno.test("mmuextOp() flush ops record per-vcpu flushes", () => {
  const g = makeTestGuest(64, 2048, 3);
  assert.equal(mmuextOp(g.dom, 1, MMUEXT_INVLPG_LOCAL, 0x5000), 0);
  assert.deepEqual([...g.dom.flush.kind], [0, FLUSH_PAGES, 0]);
  assert.equal(g.dom.flush.pages[1 * 8], 0x5000);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_INVLPG_MULTI, 0x6000, 0b101), 0);
  assert.deepEqual([...g.dom.flush.kind], [FLUSH_PAGES, FLUSH_PAGES, FLUSH_PAGES]);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_TLB_FLUSH_MULTI, 0, 0b10), 0);
  assert.deepEqual([...g.dom.flush.kind], [FLUSH_PAGES, FLUSH_ALL, FLUSH_PAGES]);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_TLB_FLUSH_ALL, 0), 0);
  assert.deepEqual([...g.dom.flush.kind], [FLUSH_ALL, FLUSH_ALL, FLUSH_ALL]);
  for (let i = 0; i < 20; i++) mmuextOp(g.dom, 2, MMUEXT_INVLPG_LOCAL, i << 12);
  g.dom.flush.clear(2);
  for (let i = 0; i < 9; i++) mmuextOp(g.dom, 2, MMUEXT_INVLPG_LOCAL, i << 12);
  assert.equal(g.dom.flush.kind[2], FLUSH_ALL, "escalates past 8 pages");
});

Deno.test("mmuextOp() SET_LDT checks alignment and size", () => {
  const g = makeTestGuest();
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_SET_LDT, 0x10001, 4), -EINVAL);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_SET_LDT, 0x10000, 8193), -EINVAL);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_SET_LDT, 0x10000, 8192), 0);
  assert.equal(g.dom.ldtBase[0], 0x10000);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_SET_LDT, 0x10001, 0), 0, "ptr ignored for 0 entries");
  assert.equal(g.dom.ldtBase[0], 0);
});

Deno.test("mmuextOp() CLEAR_PAGE and COPY_PAGE refuse page tables and foreign frames", () => {
  const g = makeTestGuest();
  const a = spare(g, 200), b = spare(g, 201);
  g.frames.mem.u8.fill(7, a * 4096, a * 4096 + 4096);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_COPY_PAGE, b, a), 0);
  assert.equal(g.frames.mem.u8[b * 4096 + 4095], 7);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_CLEAR_PAGE, b), 0);
  assert.equal(g.frames.mem.u8[b * 4096 + 4095], 0);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_CLEAR_PAGE, g.l1), -EINVAL);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_COPY_PAGE, g.l2, a), -EINVAL);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_COPY_PAGE, a, g.l1), 0, "reading a table is fine");
  const other = new PagingDomain(g.frames, 2);
  other.populatePhysmap(0, 1);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_COPY_PAGE, a, other.p2m.get(asGfn(0))), -EINVAL);
});

Deno.test("mmuextOp() answers unsupported and unknown commands as Xen does", () => {
  const g = makeTestGuest();
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_FLUSH_CACHE, 0), -EACCES);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_MARK_SUPER, 0), -EOPNOTSUPP);
  assert.equal(mmuextOp(g.dom, 0, 14, 0), -ENOSYS);
  assert.equal(mmuextOp(g.dom, 0, 99, 0), -ENOSYS);
});

Deno.test("pinning a frame with a stale writable mapping asks for a full TLB flush", () => {
  const g = makeTestGuest();
  const data = g.dom.p2m.get(asGfn(40));
  assert.equal(upd(g, g.l1, 40, (data << 12) | PTE_PR_U), 0); // drop the writable mapping
  assert.equal(upd(g, g.l1, 40, 0), 0);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, data), 0);
  assert.equal(g.frames.needFlushAll, true, "a vcpu may still cache the writable mapping");
  g.frames.tlbFlushedAll();
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_UNPIN_TABLE, data), 0);
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, data), 0);
  assert.equal(g.frames.needFlushAll, false, "same type again: no flush needed");
});
