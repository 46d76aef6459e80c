/**
 * A translated domain's v2 status frames: placed in its p2m with XENMAPSPACE_grant_table
 * and XENMAPIDX_grant_table_status, reported by get_status_frames as those gfns, and taken
 * out of the p2m (then freed) when the table goes back to v1.
 * @module
 */
import assert from "node:assert/strict";
import { Host } from "../../../lib/hypervisor/machine/host.ts";
import { Domain } from "../../../lib/hypervisor/domain/domain.ts";
import {
  translatedAddToPhysmap,
  unplaceXenFrame,
  XENMAPSPACE_grant_table,
} from "../../../lib/hypervisor/hypercalls/physmap_translated.ts";
import { GrantTable, XENMAPIDX_grant_table_status } from "../../../lib/hypervisor/gnttab/mod.ts";

const PAGES = 32;

/** A translated domain and its grant table, wired as the machine wires them. */
function translated(): { d: Domain; gt: GrantTable } {
  const host = new Host({ frames: 128 });
  const d = new Domain(host, 1, PAGES, 1, true);
  for (let pfn = 0; pfn < PAGES; pfn++) assert.ok(d.populate(pfn) >= 0);
  const f = host.frames;
  const gt = new GrantTable({
    domid: 1,
    mem: host.mem,
    translated: true,
    directory: { gnttab: () => undefined },
    hooks: {
      gfnToMfn: (gfn) => d.mm.gfnToMfn(gfn),
      allocFrame: () => {
        const mfn = f.allocDomainFrame(1);
        if (mfn >= 0) d.xenShared.add(mfn);
        return mfn < 0 ? -1 : mfn;
      },
      frameBusy: (mfn) => f.refs[mfn] > 1 || f.typeCount[mfn] !== 0,
      freeFrame: (mfn) => {
        if (d.xenShared.delete(mfn)) f.releaseAllocation(mfn, 1, () => {});
      },
      unplaceFrame: (gfn, mfn) => unplaceXenFrame(d, gfn, mfn),
    },
  });
  return { d, gt };
}

Deno.test("a translated domain places a v2 status frame, sees its gfn, and loses it on set_version 1", () => {
  const { d, gt } = translated();
  const STATUS = XENMAPIDX_grant_table_status;
  assert.equal(translatedAddToPhysmap(d, gt, XENMAPSPACE_grant_table, STATUS, 20), -22, "v1");
  assert.equal(gt.setVersion(2), 0);
  assert.equal(translatedAddToPhysmap(d, gt, XENMAPSPACE_grant_table, 0, 21), 0);
  assert.equal(translatedAddToPhysmap(d, gt, XENMAPSPACE_grant_table, STATUS, 20), 0);
  const smfn = gt.statusMfns()[0];
  assert.equal(d.mfnOf(20), smfn);
  assert.deepEqual(gt.getStatusFrames(0x7ff0, 1), [20], "the gfn, not the mfn");
  assert.deepEqual(gt.setupTable(0x7ff0, 1), [21]);
  assert.equal(translatedAddToPhysmap(d, gt, XENMAPSPACE_grant_table, STATUS + 9, 22), -22);
  assert.equal(gt.setVersion(1), 0);
  assert.equal(d.mfnOf(20), 0xffffffff, "out of the p2m");
  assert.ok(!d.host.frames.isOwnedBy(smfn, 1), "freed");
  assert.ok(!d.xenShared.has(smfn));
  assert.equal(d.mfnOf(21), gt.frameMfn(0), "the shared frame stays");
});
