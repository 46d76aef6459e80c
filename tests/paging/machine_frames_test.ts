import assert from "node:assert/strict";
import { PhysMemory } from "../../lib/cpu/phys_memory.ts";
import { InputError } from "../../lib/errors.ts";
import {
  DOMID_XEN,
  INVALID_M2P_ENTRY,
  M2p,
  MachineFrames,
  MMUEXT_PIN_L1_TABLE,
  mmuextOp,
  mmuUpdateNormalPt,
  OWNER_NONE,
  PagingDomain,
} from "../../lib/paging/mod.ts";
import { ENOMEM } from "../../lib/abi/mod.ts";
import { makeTestGuest } from "../../lib/paging/testing.ts";
import { asGfn, asMfn } from "../../lib/abi/mod.ts";

Deno.test("allocDomainFrames() hands out shuffled frames that are neither identity nor contiguous", () => {
  const f = new MachineFrames(new PhysMemory(1024));
  const mfns = f.allocDomainFrames(3, 100);
  let identity = 0, ascending = 0;
  for (let i = 0; i < mfns.length; i++) {
    if (mfns[i] === i) identity++;
    if (i > 0 && mfns[i] === mfns[i - 1] + 1) ascending++;
  }
  assert.ok(identity < 3, `identity hits: ${identity}`);
  assert.ok(ascending < 5, `contiguous runs: ${ascending}`);
  assert.equal(new Set(mfns).size, 100);
  for (const m of mfns) assert.equal(f.owner[m], 3);
  assert.equal(f.domainPages(3), 100);
});

Deno.test("allocDomainFrames() is deterministic for a seed", () => {
  const a = new MachineFrames(new PhysMemory(512)).allocDomainFrames(1, 50);
  const b = new MachineFrames(new PhysMemory(512)).allocDomainFrames(1, 50);
  assert.deepEqual(a, b);
  const c = new MachineFrames(new PhysMemory(512), 42).allocDomainFrames(1, 50);
  assert.notDeepEqual(a, c);
});

Deno.test("MachineFrames() reserves frame 0 and the M2P frames for Xen", () => {
  const f = new MachineFrames(new PhysMemory(4096));
  const xen = 1 + M2p.framesNeeded(4096);
  for (let m = 0; m < xen; m++) assert.equal(f.owner[m], DOMID_XEN);
  assert.equal(f.freeFrames, 4096 - xen);
  assert.equal(f.m2p.get(asMfn(2000)), INVALID_M2P_ENTRY);
});

Deno.test("allocDomainFrame() returns -ENOMEM and allocDomainFrames() throws when memory runs out", () => {
  const f = new MachineFrames(new PhysMemory(64));
  const n = f.freeFrames;
  assert.throws(() => f.allocDomainFrames(1, n + 1), InputError);
  assert.equal(f.freeFrames, n);
  f.allocDomainFrames(1, n);
  assert.equal(f.allocDomainFrame(1), -ENOMEM);
});

Deno.test("getPage() refuses free, foreign and out-of-range frames", () => {
  const f = new MachineFrames(new PhysMemory(256));
  const [m] = f.allocDomainFrames(1, 1);
  assert.equal(f.getPage(m, 1), true);
  assert.equal(f.refs[m], 2);
  assert.equal(f.getPage(m, 2), false);
  assert.equal(f.getPage(0, 1), false);
  assert.equal(f.getPage(256, 1), false);
  assert.equal(f.getPage(-1, 1), false);
  f.putPage(m);
  assert.equal(f.refs[m], 1);
});

Deno.test("populatePhysmap() fills P2M and M2P and refuses populated or out-of-range pfns", () => {
  const f = new MachineFrames(new PhysMemory(512));
  const d = new PagingDomain(f, 4, { maxPfns: 32 });
  assert.equal(d.populatePhysmap(0, 8), 0);
  for (let p = 0; p < 8; p++) assert.equal(f.m2p.get(d.p2m.get(asGfn(p))), p);
  assert.equal(d.populatePhysmap(7, 2), -22);
  assert.equal(d.populatePhysmap(31, 2), -22);
  const big = new PagingDomain(f, 5, { maxPfns: 4096 });
  assert.equal(big.populatePhysmap(0, 600), -ENOMEM);
  assert.equal(f.domainPages(5), 0);
});

Deno.test("removePhysmap() frees an unused frame at once", () => {
  const f = new MachineFrames(new PhysMemory(512));
  const d = new PagingDomain(f, 4);
  d.populatePhysmap(0, 2);
  const mfn = d.p2m.get(asGfn(1));
  const free = f.freeFrames;
  assert.equal(d.removePhysmap(1), 0);
  assert.equal(f.owner[mfn], OWNER_NONE);
  assert.equal(f.freeFrames, free + 1);
  assert.equal(f.m2p.get(mfn), INVALID_M2P_ENTRY);
  assert.equal(d.removePhysmap(1), -22);
});

Deno.test("removePhysmap() keeps a frame that is still mapped until its last mapping goes", () => {
  const g = makeTestGuest();
  const f = g.frames;
  const mfn = g.dom.p2m.get(asGfn(10));
  const free = f.freeFrames;
  assert.equal(g.dom.removePhysmap(10), 0);
  // Still mapped writable by the L1: owned, not free, not reusable by another domain.
  assert.equal(f.owner[mfn], 1);
  assert.equal(f.freeFrames, free);
  // Unmap it with a checked update: now it returns to the pool.
  assert.equal(mmuUpdateNormalPt(g.dom, g.l1 * 4096 + 10 * 8, 0, 0), 0);
  assert.equal(f.owner[mfn], OWNER_NONE);
  assert.equal(f.freeFrames, free + 1);
});

Deno.test("relinquish() unwinds pinned page tables and frees every frame", () => {
  const g = makeTestGuest();
  const free = g.frames.freeFrames;
  assert.equal(g.dom.relinquish(), 0);
  assert.equal(g.frames.freeFrames, free + g.pages);
  assert.equal(g.frames.domainPages(1), 0);
  assert.equal(g.dom.walkers[0].cr3, -1);
  for (let m = 0; m < g.frames.count; m++) {
    if (g.frames.owner[m] === OWNER_NONE) assert.equal(g.frames.refs[m], 0);
  }
});

Deno.test("relinquish() keeps a frame another domain still maps", () => {
  const g = makeTestGuest();
  const victim = new PagingDomain(g.frames, 2);
  victim.populatePhysmap(0, 1);
  const shared = victim.p2m.get(asGfn(0));
  g.frames.foreignMapCheck = () => true; // a grant
  assert.equal(mmuUpdateNormalPt(g.dom, g.l1 * 4096 + 100 * 8, (shared << 12) | 5, 0), 0);
  assert.equal(victim.relinquish(), 1);
  assert.equal(g.frames.owner[shared], 2);
  assert.equal(mmuUpdateNormalPt(g.dom, g.l1 * 4096 + 100 * 8, 0, 0), 0);
  assert.equal(g.frames.owner[shared], OWNER_NONE);
});

Deno.test("describe() summarises a frame's page_info", () => {
  const g = makeTestGuest();
  assert.match(
    g.frames.describe(g.l3),
    /^mfn 0x[0-9a-f]+ d1 refs 4 allocated type l3 x2 pinned validated$/,
  );
  assert.match(g.frames.describe(g.l2x), /type l2 x1 validated pae_xen_l2$/);
  assert.equal(g.frames.describe(-1), "mfn -1 invalid");
  assert.match(g.frames.describe(0), /xen/);
});

Deno.test("allocDomainFrame() hands a reused frame out zeroed", () => {
  const f = new MachineFrames(new PhysMemory(64));
  const m = f.allocDomainFrame(1);
  f.mem.u8.fill(0xaa, m * 4096, m * 4096 + 4096);
  f.putPage(m); // freed: back on top of the pool
  const again = f.allocDomainFrame(2);
  assert.equal(again, m);
  assert.ok(f.mem.u8.subarray(m * 4096, m * 4096 + 4096).every((b) => b === 0));
});

Deno.test("freeFrame() unpins a pinned table and defers the free until it is unused", () => {
  const g = makeTestGuest();
  const f = g.frames;
  g.dom.populatePhysmap(300, 1);
  const t = g.dom.p2m.get(asGfn(300));
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L1_TABLE, t), 0);
  assert.equal(f.freeFrame(t, 2), -22, "not the owner");
  assert.equal(f.freeFrame(t, 1), 0);
  assert.equal(f.owner[t], OWNER_NONE, "pin and allocation were the only references");
  assert.equal(f.freeFrame(t, 1), -22);
  assert.equal(f.freeFrame(g.l1, 1), 0, "the live L1 stays owned while referenced");
  assert.equal(f.owner[g.l1], 1);
});

Deno.test("allocDomainFramesContiguous() hands out an aligned free block or -ENOMEM", () => {
  const f = new MachineFrames(new PhysMemory(256));
  const scattered = f.allocDomainFrames(1, 10);
  const free = f.freeFrames;
  const first = f.allocDomainFramesContiguous(1, 4);
  assert.ok(first >= 0);
  assert.equal(first % 16, 0);
  for (let m = first; m < first + 16; m++) {
    assert.equal(f.owner[m], 1);
    assert.ok(!scattered.includes(m));
  }
  assert.equal(f.freeFrames, free - 16);
  assert.equal(f.allocDomainFramesContiguous(1, 9), -ENOMEM, "bigger than memory");
  // The rest of the pool still works and never hands out a block frame again.
  const rest = f.allocDomainFrames(2, f.freeFrames);
  for (const m of rest) assert.ok(m < first || m >= first + 16);
  assert.equal(f.allocDomainFramesContiguous(2, 0), -ENOMEM);
});
