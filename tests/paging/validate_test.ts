import assert from "node:assert/strict";
import {
  _PAGE_GLOBAL,
  _PAGE_PAT,
  _PAGE_PCD,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_PWT,
  _PAGE_RW,
  getPageType,
  L2_FIRST_XEN_SLOT,
  mmuUpdateNormalPt,
  PagingDomain,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_pae_xen_l2,
  PGT_seg_desc_page,
  PGT_validated,
  PGT_writable_page,
  PTE_HI_NX,
} from "../../lib/paging/mod.ts";
import { EBUSY, EINVAL, EPERM } from "../../lib/abi/mod.ts";
import {
  makeTestGuest,
  pokeEntry,
  PTE_PR_U,
  PTE_PRW_U,
  type TestGuest,
} from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

/** A populated frame no table maps yet. */
function spare(g: TestGuest, pfn: number): number {
  assert.equal(g.dom.populatePhysmap(pfn, 1), 0);
  return g.dom.p2m.get(asGfn(pfn));
}

/** mmu_update of slot `slot` of table `mfn`. */
function upd(g: TestGuest, mfn: number, slot: number, lo: number, hi = 0): number {
  return mmuUpdateNormalPt(g.dom, mfn * 4096 + slot * 8, lo, hi);
}

Deno.test("mod_l1_entry accepts a writable mapping of the domain's own data frame", () => {
  const g = makeTestGuest();
  const m = spare(g, 200);
  assert.equal(upd(g, g.l1, 100, (m << 12) | PTE_PRW_U), 0);
  assert.equal(g.frames.type[m], PGT_writable_page);
  assert.equal(g.frames.typeCount[m], 1);
  assert.equal(g.frames.refs[m], 2);
});

Deno.test("mod_l1_entry refuses a writable mapping of a page table with -EBUSY, allows read-only", () => {
  const g = makeTestGuest();
  assert.equal(upd(g, g.l1, 100, (g.l2 << 12) | PTE_PRW_U), -EBUSY);
  assert.equal(upd(g, g.l1, 100, (g.l1 << 12) | PTE_PRW_U), -EBUSY);
  assert.equal(upd(g, g.l1, 100, (g.l3 << 12) | PTE_PRW_U), -EBUSY);
  const refs = g.frames.refs[g.l2];
  assert.equal(upd(g, g.l1, 100, (g.l2 << 12) | PTE_PR_U), 0);
  assert.equal(g.frames.refs[g.l2], refs + 1);
  // Upgrading that mapping to writable goes through full validation again.
  assert.equal(upd(g, g.l1, 100, (g.l2 << 12) | PTE_PRW_U), -EBUSY);
});

Deno.test("mod_l1_entry refuses a foreign frame unless the grant hook allows it", () => {
  const g = makeTestGuest();
  const other = new PagingDomain(g.frames, 2);
  other.populatePhysmap(0, 1);
  const fm = other.p2m.get(asGfn(0));
  assert.equal(upd(g, g.l1, 100, (fm << 12) | PTE_PR_U), -EBUSY);
  assert.equal(g.frames.refs[fm], 1);
  g.frames.foreignMapCheck = (owner, mfn, writable) => owner === 1 && mfn === fm && !writable;
  assert.equal(upd(g, g.l1, 100, (fm << 12) | PTE_PRW_U), -EBUSY);
  assert.equal(upd(g, g.l1, 100, (fm << 12) | PTE_PR_U), 0);
  assert.equal(g.frames.refs[fm], 2);
  assert.equal(upd(g, g.l1, 100, 0), 0);
  assert.equal(g.frames.refs[fm], 1);
});

Deno.test("mod_l1_entry refuses free frames, Xen's frames and frames beyond memory", () => {
  const g = makeTestGuest();
  const free = g.frames.allocDomainFrame(9);
  g.frames.putPage(free); // back to the pool: free now
  assert.equal(upd(g, g.l1, 100, (free << 12) | PTE_PR_U), -EBUSY);
  assert.equal(upd(g, g.l1, 100, (g.frames.m2p.firstMfn << 12) | PTE_PR_U), -EBUSY);
  assert.equal(upd(g, g.l1, 100, (5000 << 12) | PTE_PR_U), -EPERM); // "MMIO space"
  assert.equal(upd(g, g.l1, 100, 0xfffff000 | PTE_PR_U, 0xfffff), -EINVAL); // the all-ones frame
});

Deno.test("mod_l1_entry refuses cache attributes with -EINVAL but allows G and NX", () => {
  const g = makeTestGuest();
  const m = g.dom.p2m.get(asGfn(10));
  for (const bad of [_PAGE_PWT, _PAGE_PCD, _PAGE_PAT]) {
    assert.equal(upd(g, g.l1, 100, (m << 12) | PTE_PR_U | bad), -EINVAL);
  }
  assert.equal(upd(g, g.l1, 100, (m << 12) | PTE_PR_U | _PAGE_GLOBAL, PTE_HI_NX), 0);
});

Deno.test("mod_l1_entry fails when a guest confuses PFNs with MFNs", () => {
  const g = makeTestGuest();
  let tried = 0;
  for (let pfn = 4; pfn < 64; pfn++) {
    if (g.frames.isOwnedBy(pfn, 1)) continue; // happens to be one of ours: legal
    tried++;
    assert.notEqual(upd(g, g.l1, 100, (pfn << 12) | PTE_PR_U), 0, `pfn ${pfn} as mfn`);
  }
  assert.ok(tried > 50);
});

Deno.test("mmu_update on a data frame just writes; on a descriptor page it fails", () => {
  const g = makeTestGuest();
  const m = spare(g, 200);
  assert.equal(upd(g, m, 7, 0x12345678, 0x9abc), 0);
  assert.equal(g.frames.u32[m * 1024 + 14], 0x12345678);
  g.frames.type[m] = 5; // PGT_seg_desc_page, in use
  g.frames.typeCount[m] = 1;
  g.frames.tflags[m] = PGT_validated;
  assert.equal(upd(g, m, 7, 0, 0), -EINVAL);
  const foreign = new PagingDomain(g.frames, 2);
  foreign.populatePhysmap(0, 1);
  assert.equal(upd(g, foreign.p2m.get(asGfn(0)), 0, 1), -EINVAL);
});

Deno.test("mod_l2_entry validates a new L1 and refuses PSE, writable frames and writable linear tables", () => {
  const g = makeTestGuest();
  const t = spare(g, 200);
  const data = g.dom.p2m.get(asGfn(20));
  pokeEntry(g.frames, t, 0, (data << 12) | PTE_PRW_U);
  assert.equal(upd(g, g.l2, 1, (t << 12) | PTE_PRW_U), 0);
  assert.equal(g.frames.type[t], PGT_l1_page_table);
  assert.ok(g.frames.tflags[t] & PGT_validated);
  assert.equal(upd(g, g.l2, 2, (t << 12) | PTE_PRW_U | _PAGE_PSE), -EINVAL);
  assert.equal(upd(g, g.l2, 2, (data << 12) | PTE_PRW_U), -EINVAL); // mapped writable
  assert.equal(upd(g, g.l2, 2, (g.l2 << 12) | PTE_PRW_U), -EINVAL); // linear page table
  // Dropping the L2 entry tears the L1 down.
  assert.equal(upd(g, g.l2, 1, 0), 0);
  assert.equal(g.frames.typeCount[t], 0);
  assert.equal(g.frames.tflags[t] & PGT_validated, 0);
});

Deno.test("mod_l2_entry propagates a bad entry of the L1 it validates", () => {
  const g = makeTestGuest();
  const t = spare(g, 200);
  pokeEntry(g.frames, t, 0, (g.dom.p2m.get(asGfn(20)) << 12) | PTE_PR_U);
  pokeEntry(g.frames, t, 1, (g.l3 << 12) | PTE_PRW_U); // writable page table
  const refs20 = g.frames.refs[g.dom.p2m.get(asGfn(20))];
  assert.equal(upd(g, g.l2, 1, (t << 12) | PTE_PRW_U), -EBUSY);
  assert.equal(g.frames.typeCount[t], 0);
  assert.equal(g.frames.type[t], 0);
  assert.equal(g.frames.refs[g.dom.p2m.get(asGfn(20))], refs20, "partial validation undone");
});

Deno.test("mod_l2_entry refuses Xen's slots of the slot-3 L2 with -EPERM", () => {
  const g = makeTestGuest();
  assert.ok(g.frames.tflags[g.l2x] & PGT_pae_xen_l2);
  const t = spare(g, 200);
  assert.equal(upd(g, g.l2x, L2_FIRST_XEN_SLOT, (t << 12) | PTE_PRW_U), -EPERM);
  assert.equal(upd(g, g.l2x, 511, 0), -EPERM);
  assert.equal(upd(g, g.l2x, L2_FIRST_XEN_SLOT - 1, (t << 12) | PTE_PRW_U), 0);
  // Xen's slots hold the M2P mappings.
  assert.equal(
    g.frames.u32[g.l2x * 1024 + L2_FIRST_XEN_SLOT * 2] >>> 12,
    g.frames.m2p.firstL1Mfn,
  );
});

Deno.test("mod_l3_entry refuses slot 3, reserved bits and the slot-3 L2 elsewhere", () => {
  const g = makeTestGuest();
  const t = spare(g, 200);
  assert.equal(upd(g, g.l3, 3, (t << 12) | _PAGE_PRESENT), -EINVAL);
  assert.equal(upd(g, g.l3, 1, (t << 12) | _PAGE_PRESENT | _PAGE_PWT), -EINVAL);
  assert.equal(upd(g, g.l3, 1, (t << 12) | _PAGE_PRESENT, PTE_HI_NX), -EINVAL);
  assert.equal(upd(g, g.l3, 1, (g.l2x << 12) | _PAGE_PRESENT), -EINVAL);
  assert.equal(upd(g, g.l3, 1, (t << 12) | _PAGE_PRESENT), 0);
  assert.equal(g.frames.type[t], PGT_l2_page_table);
  // adjust_guest_l3e added USER|RW.
  assert.equal(g.frames.u32[g.l3 * 1024 + 2] & 7, 7);
  assert.equal(upd(g, g.l3, 1, 0), 0);
  assert.equal(g.frames.typeCount[t], 0);
});

Deno.test("mod_l3_entry refuses an L2 that is mapped writable", () => {
  const g = makeTestGuest();
  const data = g.dom.p2m.get(asGfn(30));
  assert.equal(upd(g, g.l3, 1, (data << 12) | _PAGE_PRESENT | _PAGE_RW), -EINVAL);
});

Deno.test("mod_l2_entry accepts read-only linear page tables as Xen's pv-linear-pt does", () => {
  const g = makeTestGuest();
  const f = g.frames;
  // Onto itself: holds nothing.
  const refs = f.refs[g.l2], tc = f.typeCount[g.l2];
  assert.equal(upd(g, g.l2, 5, (g.l2 << 12) | PTE_PR_U), 0);
  assert.equal(f.refs[g.l2], refs);
  assert.equal(f.typeCount[g.l2], tc);
  // The linear window shows the L2's own entries' targets read-only: slot 0 -> the L1.
  const w = g.dom.walkers[0];
  assert.equal(w.translate(5 << 21, 0), g.l1 * 4096);
  assert.equal(w.translate(5 << 21, 2), -1);
  // Onto another validated L2: a type reference, and the one-way rule.
  assert.equal(upd(g, g.l2, 6, (g.l2x << 12) | PTE_PR_U), 0);
  assert.equal(f.typeCount[g.l2x], 2);
  assert.equal(f.linear[g.l2], 1);
  assert.equal(f.linear[g.l2x], -1);
  assert.equal(upd(g, g.l2x, 0, (g.l2 << 12) | PTE_PR_U), -EINVAL, "a linear target holds none");
  assert.equal(upd(g, g.l2, 7, (g.l2x << 12) | PTE_PRW_U), -EINVAL, "never writable");
  assert.equal(upd(g, g.l2, 6, 0), 0);
  assert.equal(f.typeCount[g.l2x], 1);
  assert.equal(f.linear[g.l2], 0);
  assert.equal(f.linear[g.l2x], 0);
  // Onto an L2 that is not validated (a data page) it is no linear table.
  const t = spare(g, 200);
  assert.equal(upd(g, g.l2, 6, (t << 12) | PTE_PR_U), 0, "an empty page validates as an L1");
  assert.equal(f.type[t], PGT_l1_page_table);
});

Deno.test("getPageType(seg_desc) runs the descriptor check on all 512 descriptors", () => {
  const g = makeTestGuest();
  const f = g.frames;
  const t = spare(g, 200);
  f.u32[t * 1024 + 2 * 7] = 0xbad;
  const seen: number[] = [];
  f.descriptorCheck = (owner, lo, _hi, maddr) => {
    assert.equal(owner, 1);
    seen.push(maddr);
    return lo !== 0xbad;
  };
  assert.ok(f.getPage(t, 1));
  assert.equal(getPageType(f, t, PGT_seg_desc_page), -EINVAL);
  assert.equal(seen.at(-1), t * 4096 + 7 * 8);
  assert.equal(f.typeCount[t], 0);
  f.u32[t * 1024 + 2 * 7] = 0;
  assert.equal(getPageType(f, t, PGT_seg_desc_page), 0);
  assert.equal(seen.length, 8 + 512);
  // A descriptor page cannot be mapped writable while typed.
  assert.equal(upd(g, g.l1, 100, (t << 12) | PTE_PRW_U), -EBUSY);
});
