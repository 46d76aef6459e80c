import assert from "node:assert/strict";
import { ACC_READ, ACC_WRITE } from "../../../lib/cpu/platform.ts";
import { _PAGE_RW, pteFrame } from "../../../lib/paging/constants.ts";
import { mmuUpdateNormalPt } from "../../../lib/paging/mmu_update.ts";
import { PagingDomain } from "../../../lib/paging/paging_domain.ts";
import { makeTestGuest, peekEntry, PTE_PRW_U } from "../../../lib/paging/testing.ts";
import {
  GNTMAP_contains_pte,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_general_error,
  GNTST_okay,
  gnttabMapGrantRef,
  gnttabUnmapGrantRef,
  GrantPteWindow,
  GrantTable,
  GTF_permit_access,
  GTF_reading,
  GTF_writing,
  MapGrantResult,
  PvGrantHostMapper,
} from "../../../lib/hypervisor/gnttab/mod.ts";

/** Guest d1 (built page tables) maps a frame granted by d2 into its own L1. */
function setup() {
  const g = makeTestGuest(64, 2048);
  const f = g.frames;
  const window = new GrantPteWindow();
  f.foreignMapCheck = window.check;
  const d2 = new PagingDomain(f, 2);
  assert.equal(d2.populatePhysmap(0, 2), 0);
  const granted = d2.p2m.get(0);
  f.mem.u8.fill(0x5a, granted * 4096, granted * 4096 + 4096);
  const tables = new Map<number, GrantTable>();
  const mk = (domid: number, mapper?: PvGrantHostMapper) =>
    new GrantTable({
      domid,
      mem: f.mem,
      directory: { gnttab: (id) => tables.get(id) },
      hooks: {
        gfnToMfn: (gfn) => (f.isOwnedBy(gfn, domid) ? gfn : -1),
        allocFrame: () => f.allocDomainFrames(domid, 1)[0],
        hostMapper: mapper,
      },
    });
  const mapper = new PvGrantHostMapper(g.dom, window, () => 0);
  const t1 = mk(1, mapper);
  const t2 = mk(2);
  tables.set(1, t1);
  tables.set(2, t2);
  const grant = (ref: number, readonly = false) => {
    const a = t2.entryMaddr(ref);
    f.mem.dv.setUint16(a + 2, 1, true);
    f.mem.dv.setUint32(a + 4, granted, true);
    f.mem.dv.setUint16(a, GTF_permit_access | (readonly ? 4 : 0), true);
  };
  return { g, f, t1, t2, granted, grant };
}

const VA = 10 * 4096; // mapped by the test guest's L1 slot 10

Deno.test("PvGrantHostMapper maps a granted frame at a linear address and unmaps it", () => {
  const { g, f, t1, t2, granted, grant } = setup();
  grant(8);
  const old = g.dom.p2m.get(10);
  const refsBefore = f.refs[granted];
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(t1, 2, 8, GNTMAP_host_map, VA, out), GNTST_okay);
  const lo = peekEntry(f, g.l1, 10);
  assert.equal(pteFrame(lo, 0), granted);
  assert.ok(lo & _PAGE_RW);
  assert.equal(g.dom.walkers[0].translate(VA + 5, ACC_WRITE), granted * 4096 + 5);
  assert.ok(f.refs[granted] > refsBefore, "the PTE holds a reference");
  assert.equal(t2.entryFlags(8), GTF_permit_access | GTF_reading | GTF_writing);
  assert.notEqual(old, granted);
  // Unmapping at the wrong address fails and keeps the mapping.
  assert.equal(gnttabUnmapGrantRef(t1, out.handle, VA + 4096, 0), GNTST_general_error);
  assert.equal(t1.maptrack.inUse, 1);
  assert.equal(gnttabUnmapGrantRef(t1, out.handle, VA, 0), GNTST_okay);
  assert.equal(peekEntry(f, g.l1, 10), 0);
  assert.equal(f.refs[granted], refsBefore);
  assert.equal(t2.entryFlags(8), GTF_permit_access);
  assert.equal(g.dom.walkers[0].translate(VA, ACC_READ), -1);
});

Deno.test("PvGrantHostMapper maps read-only grants without _PAGE_RW", () => {
  const { g, f, t1, grant, granted } = setup();
  grant(8, true);
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(t1, 2, 8, GNTMAP_host_map, VA, out), GNTST_general_error);
  assert.equal(
    gnttabMapGrantRef(t1, 2, 8, GNTMAP_host_map | GNTMAP_readonly, VA, out),
    GNTST_okay,
  );
  assert.equal(peekEntry(f, g.l1, 10) & _PAGE_RW, 0);
  assert.equal(g.dom.walkers[0].translate(VA, ACC_READ), granted * 4096);
});

Deno.test("PvGrantHostMapper: the guest cannot map the granted frame by mmu_update", () => {
  const { g, f, t1, grant, granted } = setup();
  grant(8);
  const out = new MapGrantResult();
  gnttabMapGrantRef(t1, 2, 8, GNTMAP_host_map, VA, out);
  const rc = mmuUpdateNormalPt(g.dom, g.l1 * 4096 + 11 * 8, granted * 4096 | PTE_PRW_U, 0);
  assert.equal(rc, -16, "foreign frame outside the grant path: -EBUSY");
  gnttabUnmapGrantRef(t1, out.handle, VA, 0);
  assert.equal(pteFrame(peekEntry(f, g.l1, 11), 0), g.dom.p2m.get(11));
});

Deno.test("PvGrantHostMapper supports GNTMAP_contains_pte and rejects bad PTE addresses", () => {
  const { g, f, t1, t2, grant, granted } = setup();
  grant(8);
  const out = new MapGrantResult();
  const pte = g.l1 * 4096 + 12 * 8;
  const flags = GNTMAP_host_map | GNTMAP_contains_pte;
  assert.equal(gnttabMapGrantRef(t1, 2, 8, flags, pte + 4, out), GNTST_general_error);
  assert.equal(gnttabMapGrantRef(t1, 2, 8, flags, g.l2 * 4096, out), GNTST_general_error);
  assert.equal(t2.entryFlags(8), GTF_permit_access, "failures leave no in-use bits");
  assert.equal(gnttabMapGrantRef(t1, 2, 8, flags, pte, out), GNTST_okay);
  assert.equal(pteFrame(peekEntry(f, g.l1, 12), 0), granted);
  assert.equal(gnttabUnmapGrantRef(t1, out.handle, pte, 0), GNTST_okay);
  assert.equal(peekEntry(f, g.l1, 12), 0);
});

Deno.test("PvGrantHostMapper refuses addresses with no L1 and moves entries for unmap_and_replace", () => {
  const { g, f, t1, t2, grant } = setup();
  grant(8);
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(t1, 2, 8, GNTMAP_host_map, 0x40000000, out), GNTST_general_error);
  assert.equal(t2.entryFlags(8), GTF_permit_access);
  assert.equal(gnttabMapGrantRef(t1, 2, 8, GNTMAP_host_map, VA, out), GNTST_okay);
  const moved = peekEntry(f, g.l1, 20);
  assert.equal(gnttabUnmapGrantRef(t1, out.handle, VA, 0, 20 * 4096), GNTST_okay);
  assert.equal(peekEntry(f, g.l1, 10), moved, "the entry from newAddr now maps VA");
  assert.equal(peekEntry(f, g.l1, 20), 0, "newAddr is cleared");
  assert.equal(t2.entryFlags(8), GTF_permit_access);
});
