import assert from "node:assert/strict";
import { ACC_READ } from "../../lib/cpu/platform.ts";
import {
  _PAGE_PRESENT,
  mmuUpdateNormalPt,
  PGT_writable_page,
  ptwrCmpxchg,
  ptwrEmulate,
  ptwrTarget,
} from "../../lib/paging/mod.ts";
import { EINVAL } from "../../lib/abi/mod.ts";
import { makeTestGuest, PFN_L1, PFN_L2, PTE_PR_U, PTE_PRW_U } from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

/** Linear address of L1 slot `slot` through the guest's read-only mapping of its L1. */
const l1Slot = (slot: number) => PFN_L1 * 4096 + slot * 8;

Deno.test("ptwrTarget() recognises a read-only mapping of the domain's own L1 only", () => {
  const g = makeTestGuest();
  assert.equal(ptwrTarget(g.dom, 0, l1Slot(5)), g.l1);
  assert.equal(ptwrTarget(g.dom, 0, PFN_L2 * 4096), -1, "an L2 is not emulated");
  assert.equal(ptwrTarget(g.dom, 0, 20 * 4096), -1, "a writable data page");
  assert.equal(ptwrTarget(g.dom, 0, 300 * 4096), -1, "not mapped");
});

Deno.test("ptwrEmulate() validates and applies an 8-byte store into an L1", () => {
  const g = makeTestGuest();
  const data = g.dom.p2m.get(asGfn(40));
  const before = g.frames.refs[data];
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100), (data << 12) | PTE_PRW_U, 0, 8), 0);
  assert.equal(g.frames.refs[data], before + 1);
  assert.equal(g.dom.walkers[0].translate(100 * 4096, ACC_READ), data * 4096);
  // A writable mapping of a page table is refused: the #PF goes to the guest.
  assert.ok(ptwrEmulate(g.dom, 0, l1Slot(101), (g.l2 << 12) | PTE_PRW_U, 0, 8) < 0);
  assert.equal(g.frames.u32[g.l1 * 1024 + 202], 0);
  // Clearing drops the reference again.
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100), 0, 0, 8), 0);
  assert.equal(g.frames.refs[data], before);
});

Deno.test("ptwrEmulate() merges 4-byte halves and zaps P for a bad upper half first", () => {
  const g = makeTestGuest();
  const a = g.dom.p2m.get(asGfn(40));
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100), (a << 12) | PTE_PRW_U, 0, 8), 0);
  // Upper half first, making the (still present) entry name a frame beyond memory.
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100) + 4, 0x1, 0, 4), 0);
  const lo = g.frames.u32[g.l1 * 1024 + 200];
  assert.equal(lo & _PAGE_PRESENT, 0, "present bit zapped");
  assert.equal(g.frames.u32[g.l1 * 1024 + 201], 1);
  assert.equal(g.frames.typeCount[a], 1, "only slot 40's own mapping left");
  // The lower half completes a valid entry.
  const b = g.dom.p2m.get(asGfn(41));
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100) + 4, 0, 0, 4), 0);
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100), (b << 12) | PTE_PR_U, 0, 4), 0);
  assert.equal(g.dom.walkers[0].translate(100 * 4096, ACC_READ), b * 4096);
  // A lower-half store that does not validate fails outright.
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100), (g.l3 << 12) | PTE_PRW_U, 0, 4) < 0, true);
});

Deno.test("ptwrEmulate() refuses misaligned or odd-sized stores and non-L1 targets", () => {
  const g = makeTestGuest();
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(5) + 2, 0, 0, 4), -EINVAL);
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(5), 0, 0, 3), -EINVAL);
  assert.equal(ptwrEmulate(g.dom, 0, PFN_L2 * 4096 + 8, 0, 0, 8), -EINVAL);
  // Once the L1 is no longer a page table (demoted), stores are not emulated.
  const spareMfn = (() => {
    g.dom.populatePhysmap(300, 1);
    return g.dom.p2m.get(asGfn(300));
  })();
  assert.equal(mmuUpdateNormalPt(g.dom, g.l1 * 4096 + 120 * 8, (spareMfn << 12) | PTE_PR_U, 0), 0);
  assert.equal(ptwrTarget(g.dom, 0, 120 * 4096), -1, "a read-only data page is no L1");
  assert.equal(g.frames.type[spareMfn], 0);
  assert.notEqual(g.frames.type[g.dom.p2m.get(asGfn(20))], 0);
  assert.equal(g.frames.type[g.dom.p2m.get(asGfn(20))], PGT_writable_page);
});

Deno.test("ptwrEmulate() applies 1- and 2-byte stores to the right bytes", () => {
  const g = makeTestGuest();
  const a = g.dom.p2m.get(asGfn(40));
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100), (a << 12) | PTE_PR_U, 0, 8), 0);
  // Set the AVAIL bits 9..11 with a byte store to byte 1.
  const lo0 = g.frames.u32[g.l1 * 1024 + 200];
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100) + 1, ((lo0 >>> 8) & 0xff) | 0x0e, 0, 1), 0);
  assert.equal(g.frames.u32[g.l1 * 1024 + 200], lo0 | 0xe00);
  assert.equal(ptwrEmulate(g.dom, 0, l1Slot(100) + 6, 0x8000, 0, 2), 0); // NX
  assert.equal(g.frames.u32[g.l1 * 1024 + 201] >>> 0, 0x80000000);
});

Deno.test("ptwrCmpxchg() exchanges only when the entry holds the expected value", () => {
  const g = makeTestGuest();
  const a = g.dom.p2m.get(asGfn(40)), b = g.dom.p2m.get(asGfn(41));
  const cur = new Uint32Array(2);
  const refsA = g.frames.refs[a], refsB = g.frames.refs[b];
  // Empty slot, expected 0: exchange happens.
  assert.equal(ptwrCmpxchg(g.dom, 0, l1Slot(100), 0, 0, (a << 12) | PTE_PR_U, 0, 8, cur), 0);
  assert.equal(g.frames.refs[a], refsA + 1);
  // Wrong expectation: nothing written, the new entry's reference is not kept.
  assert.equal(ptwrCmpxchg(g.dom, 0, l1Slot(100), 0, 0, (b << 12) | PTE_PR_U, 0, 8, cur), 1);
  assert.equal(cur[0], (a << 12) | PTE_PR_U);
  assert.equal(g.frames.refs[b], refsB);
  // Right expectation: swapped, old reference dropped.
  assert.equal(
    ptwrCmpxchg(g.dom, 0, l1Slot(100), cur[0], cur[1], (b << 12) | PTE_PR_U, 0, 8, cur),
    0,
  );
  assert.equal(g.frames.refs[a], refsA);
  assert.equal(g.frames.refs[b], refsB + 1);
  // An invalid new value is refused before any comparison.
  assert.ok(ptwrCmpxchg(g.dom, 0, l1Slot(100), 0, 0, (g.l2 << 12) | PTE_PRW_U, 0, 8, cur) < 0);
  assert.equal(ptwrCmpxchg(g.dom, 0, l1Slot(100), 0, 0, 0, 0, 2, cur), -EINVAL);
});

Deno.test("ptwrEmulate() leaves the failure reason for the trace", () => {
  const g = makeTestGuest();
  assert.ok(ptwrEmulate(g.dom, 0, l1Slot(101), (g.l2 << 12) | PTE_PRW_U, 0, 8) < 0);
  assert.equal(g.frames.reason, "Could not get page type PGT_writable_page");
});
