import assert from "node:assert/strict";
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  MachineFrames,
  MMU_MACHPHYS_UPDATE,
  MMU_PT_UPDATE_PRESERVE_AD,
  mmuUpdate,
  PagingDomain,
} from "../../lib/paging/mod.ts";
import { EINVAL, ENOSYS, EOPNOTSUPP } from "../../lib/abi/mod.ts";
import { PhysMemory } from "../../lib/cpu/phys_memory.ts";
import { makeTestGuest, peekEntry, PTE_PRW_U } from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

Deno.test("mmuUpdate() decodes the command from ptr bits 0..2", () => {
  const g = makeTestGuest();
  const m = g.dom.p2m.get(asGfn(30));
  assert.equal(mmuUpdate(g.dom, g.l1 * 4096 + 30 * 8 + 4, 0, 0), -ENOSYS);
  assert.equal(mmuUpdate(g.dom, g.l1 * 4096 + 30 * 8 + 7, 0, 0), -ENOSYS);
  assert.equal(mmuUpdate(g.dom, m * 4096 + MMU_MACHPHYS_UPDATE, 1234, 0), 0);
  assert.equal(g.frames.m2p.get(m), 1234);
  assert.equal(mmuUpdate(g.dom, 3 * 4096 + MMU_MACHPHYS_UPDATE, 1, 0), -EINVAL, "Xen's frame");
  assert.equal(g.frames.reason, "Could not get page for mach->phys update");
});

Deno.test("mmuUpdate() PRESERVE_AD keeps the accessed and dirty bits already set", () => {
  const g = makeTestGuest();
  const m = g.dom.p2m.get(asGfn(30));
  g.frames.u32[g.l1 * 1024 + 60] |= _PAGE_ACCESSED | _PAGE_DIRTY;
  const ptr = g.l1 * 4096 + 30 * 8;
  assert.equal(mmuUpdate(g.dom, ptr + MMU_PT_UPDATE_PRESERVE_AD, (m << 12) | PTE_PRW_U, 0), 0);
  assert.equal(peekEntry(g.frames, g.l1, 30) & 0x60, 0x60);
  assert.equal(mmuUpdate(g.dom, ptr, (m << 12) | PTE_PRW_U, 0), 0);
  assert.equal(peekEntry(g.frames, g.l1, 30) & 0x60, 0);
});

Deno.test("mmuUpdate() refuses page-table updates of a translated domain", () => {
  const f = new MachineFrames(new PhysMemory(256));
  const d = new PagingDomain(f, 3, { translated: true });
  d.populatePhysmap(0, 4);
  assert.equal(mmuUpdate(d, d.p2m.get(asGfn(0)) * 4096, 0, 0), -EOPNOTSUPP);
  assert.equal(mmuUpdate(d, d.p2m.get(asGfn(0)) * 4096 + MMU_MACHPHYS_UPDATE, 0, 0), -EINVAL);
});

Deno.test("mmuUpdate() on an L2 or L3 refuses a foreign page owner", () => {
  const g = makeTestGuest();
  assert.equal(mmuUpdate(g.dom, g.l2 * 4096 + 8, 0, 0, 2), -EINVAL);
  assert.equal(mmuUpdate(g.dom, g.l2 * 4096 + 8, 0, 0, 1), 0);
});
