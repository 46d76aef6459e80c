/**
 * The translated-mode MMU and physmap requests (mmu_translated.ts, physmap_translated.ts)
 * on a bare domain.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Host } from "../../../lib/hypervisor/machine/host.ts";
import { Domain } from "../../../lib/hypervisor/domain/domain.ts";
import {
  translatedMmuUpdate,
  translatedNewBaseptr,
} from "../../../lib/hypervisor/pv/mmu_translated.ts";
import {
  translatedAddToPhysmap,
  XENMAPSPACE_shared_info,
} from "../../../lib/hypervisor/hypercalls/physmap_translated.ts";

const PAGES = 32;

function translatedDomain(): Domain {
  const host = new Host({ frames: 128 });
  const d = new Domain(host, 1, PAGES, 1, true);
  for (let pfn = 0; pfn < PAGES; pfn++) assert.ok(d.populate(pfn) >= 0);
  assert.ok(d.allocSharedInfo());
  return d;
}

Deno.test("translatedMmuUpdate() writes at the frame behind a guest-physical address, any pfn in range", () => {
  const d = translatedDomain();
  const u32 = d.host.frames.u32;
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: PAGES - 1 }),
      fc.integer({ min: 0, max: 511 }),
      fc.integer({ min: 0, max: PAGES - 1 }),
      (pfn, slot, target) => {
        const lo = (target * 4096 + 0x63) >>> 0;
        assert.equal(translatedMmuUpdate(d, pfn * 4096 + slot * 8, lo, 0), 0);
        const i = d.mfnOf(pfn) * 1024 + slot * 2;
        assert.equal(u32[i], lo);
        assert.equal(u32[i + 1], 0);
      },
    ),
    { numRuns: Deno.env.get("PVX_FUZZ") === "full" ? 5000 : 200 },
  );
});

Deno.test("translatedMmuUpdate() refuses an unpopulated table pfn, an unpopulated target and MACHPHYS_UPDATE", () => {
  const d = translatedDomain();
  assert.equal(translatedMmuUpdate(d, PAGES * 4096, 0x63, 0), -22);
  assert.equal(translatedMmuUpdate(d, 0, 0xfffff063, 0), -22);
  assert.equal(translatedMmuUpdate(d, 4096 | 1, 0, 0), -22);
  assert.equal(translatedMmuUpdate(d, 0, 0xfffff062, 0), 0, "a non-present entry is any value");
});

Deno.test("translatedNewBaseptr() sets the walker's cr3 to the L3's guest-physical address", () => {
  const d = translatedDomain();
  assert.equal(translatedNewBaseptr(d, 0, 5), 0);
  assert.equal(d.mm.walkers[0].cr3, 5 * 4096);
  assert.equal(translatedNewBaseptr(d, 0, PAGES + 3), -22);
  assert.equal(d.mm.walkers[0].cr3, 5 * 4096);
});

Deno.test("translatedAddToPhysmap() puts shared_info at a pfn and gives back the page there", () => {
  const d = translatedDomain();
  const before = d.totPages;
  const old = d.mfnOf(7);
  assert.equal(translatedAddToPhysmap(d, null, XENMAPSPACE_shared_info, 0, 7), 0);
  assert.equal(d.mfnOf(7), d.sharedInfoMfn);
  assert.equal(d.totPages, before - 1);
  assert.ok(!d.owns(old), "the replaced page went back");
  assert.equal(translatedAddToPhysmap(d, null, XENMAPSPACE_shared_info, 0, 9), 0);
  assert.equal(d.mfnOf(9), d.sharedInfoMfn);
  assert.equal(d.mfnOf(7), 0xffffffff, "it left its old pfn");
  assert.equal(translatedAddToPhysmap(d, null, XENMAPSPACE_shared_info, 1, 9), -22);
  assert.equal(translatedAddToPhysmap(d, null, 1, 0, 9), -22, "no grant table");
  assert.equal(translatedAddToPhysmap(d, null, 99, 0, 9), -38);
});
