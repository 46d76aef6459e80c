import assert from "node:assert/strict";
import {
  GNTMAP_host_map,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_eagain,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  gnttabCacheFlush,
  gnttabDumpTable,
  gnttabMapGrantRef,
  type GnttabSize,
  gnttabTransfer,
  GrantTable,
  GTF_permit_access,
  GTF_readonly,
  INVALID_GFN_32,
  MapGrantResult,
} from "../../../lib/hypervisor/gnttab/mod.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";

const SELF = 0x7ff0;
const EINVAL = -22, ENOSYS = -38, ESRCH = -3, EPERM = -1, EOPNOTSUPP = -95;

function world() {
  const w = new TestWorld();
  const d0 = w.addDomain(0, {
    privileged: true,
    hostMapper: { create: () => 0, replace: () => 0 },
  });
  const d1 = w.addDomain(1, { maxGrantFrames: 4 });
  return { w, d0, d1 };
}

Deno.test("GrantTable starts with one zeroed frame owned by the domain", () => {
  const { w, d1 } = world();
  assert.equal(d1.gnttab.nrFrames, 1);
  assert.equal(d1.gnttab.nrEntries, 512);
  const mfn = d1.gnttab.frameMfn(0);
  assert.equal(w.ownerOf(mfn), 1);
  assert.ok(w.frame(mfn).every((b) => b === 0));
  assert.equal(d1.gnttab.entryMaddr(3), mfn * 4096 + 24);
});

Deno.test("setupTable() grows the table and lists its frames; checks limits and domains", () => {
  const { d0, d1 } = world();
  const frames = d1.gnttab.setupTable(SELF, 3) as number[];
  assert.equal(frames.length, 3);
  assert.equal(d1.gnttab.nrFrames, 3);
  assert.deepEqual(frames, [...d1.gnttab.frameMfns()]);
  assert.equal(new Set(frames).size, 3);
  assert.deepEqual(d1.gnttab.setupTable(1, 1), [frames[0]], "only nr_frames are listed");
  assert.equal(d1.gnttab.nrFrames, 3, "never shrinks");
  assert.equal(d1.gnttab.setupTable(SELF, 5), GNTST_general_error);
  assert.equal(d1.gnttab.setupTable(0, 1), GNTST_permission_denied);
  assert.equal(d1.gnttab.setupTable(8, 1), GNTST_bad_domain);
  assert.deepEqual(d0.gnttab.setupTable(1, 4), [...d1.gnttab.frameMfns()]);
});

Deno.test("setupTable() of a translated guest lists the gfns placed by mapFrame()", () => {
  const w = new TestWorld();
  const t = new GrantTable({
    domid: 3,
    mem: w.mem,
    translated: true,
    maxFrames: 2,
    directory: { gnttab: () => undefined },
    hooks: { gfnToMfn: () => -1, allocFrame: () => w.allocFrame(3) },
  });
  assert.deepEqual(t.setupTable(SELF, 1), [INVALID_GFN_32]);
  const mfn1 = t.mapFrame(1, 0x9000);
  assert.equal(mfn1, t.frameMfn(1));
  assert.deepEqual(t.setupTable(SELF, 2), [INVALID_GFN_32, 0x9000]);
  assert.equal(t.mapFrame(2, 0x9001), EINVAL, "beyond the frame limit");
});

Deno.test("querySize() reports current and maximum frames", () => {
  const { d0, d1 } = world();
  assert.deepEqual(d1.gnttab.querySize(SELF) as GnttabSize, { nrFrames: 1, maxNrFrames: 4 });
  assert.equal(d1.gnttab.querySize(0), GNTST_permission_denied);
  assert.equal(d0.gnttab.querySize(42), GNTST_bad_domain);
  assert.deepEqual(d0.gnttab.querySize(1), { nrFrames: 1, maxNrFrames: 4 });
});

Deno.test("setVersion()/getVersion(): versions 1 and 2, others -EINVAL", () => {
  const { d0, d1 } = world();
  assert.equal(d1.gnttab.setVersion(1), 0);
  assert.equal(d1.gnttab.setVersion(3), EINVAL);
  assert.equal(d1.gnttab.setVersion(0), EINVAL);
  assert.equal(d1.gnttab.getVersion(SELF), 1);
  assert.equal(d1.gnttab.getVersion(0), EPERM);
  assert.equal(d1.gnttab.getVersion(5), ESRCH);
  assert.equal(d0.gnttab.getVersion(1), 1);
  assert.deepEqual(d1.gnttab.getStatusFrames(SELF, 0), []);
  assert.equal(d1.gnttab.getStatusFrames(SELF, 1), GNTST_general_error, "v1 has none");
  assert.equal(d1.gnttab.getStatusFrames(0, 0), GNTST_permission_denied);
  assert.equal(d1.gnttab.setVersion(2), 0);
  assert.equal(d1.gnttab.getVersion(SELF), 2);
  assert.equal(d0.gnttab.getVersion(1), 2);
});

Deno.test("swapGrantRef() swaps idle entries and refuses pinned ones", () => {
  const { w, d0, d1 } = world();
  const p = w.allocFrame(1), q = w.allocFrame(1);
  w.grant(1, 8, p, 0);
  w.grant(1, 9, q, 0, true);
  assert.equal(d1.gnttab.swapGrantRef(8, 9), GNTST_okay);
  assert.equal(d1.gnttab.entryFrame(8), q);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_readonly);
  assert.equal(d1.gnttab.entryFrame(9), p);
  assert.equal(d1.gnttab.swapGrantRef(8, 8), GNTST_okay);
  assert.equal(d1.gnttab.swapGrantRef(8, 512), GNTST_bad_gntref);
  const m = new MapGrantResult();
  gnttabMapGrantRef(d0.gnttab, 1, 9, GNTMAP_host_map, 1, m);
  assert.equal(d1.gnttab.swapGrantRef(8, 9), GNTST_eagain);
});

Deno.test("transfer, dump_table and cache_flush answer as Xen does for pvx", () => {
  const { w, d0, d1 } = world();
  assert.equal(gnttabTransfer(d1.gnttab, 5), GNTST_general_error);
  assert.equal(gnttabDumpTable(), ENOSYS);
  const own = w.allocFrame(1);
  const owner = (m: number) => w.ownerOf(m);
  assert.equal(gnttabCacheFlush(d1.gnttab, own * 4096, 0, 64, 1, owner), 0);
  assert.equal(gnttabCacheFlush(d1.gnttab, own * 4096, 0, 64, 2, owner), EOPNOTSUPP);
  assert.equal(gnttabCacheFlush(d1.gnttab, own * 4096, 4000, 200, 1, owner), EINVAL);
  assert.equal(gnttabCacheFlush(d1.gnttab, own * 4096, 0, 64, 0x80000001, owner), EINVAL);
  assert.equal(gnttabCacheFlush(d1.gnttab, own * 4096, 0, 0, 1, owner), 0);
  const free = 500;
  assert.equal(gnttabCacheFlush(d1.gnttab, free * 4096, 0, 64, 1, owner), EPERM);
  assert.equal(gnttabCacheFlush(d0.gnttab, own * 4096, 0, 64, 1, owner), EINVAL, "not mapped");
  w.grant(1, 8, own, 0);
  gnttabMapGrantRef(d0.gnttab, 1, 8, GNTMAP_host_map, 1, new MapGrantResult());
  assert.equal(gnttabCacheFlush(d0.gnttab, own * 4096, 0, 64, 1, owner), 0);
});

Deno.test("GrantTable writes a debug line naming each rejected operation", () => {
  const { d1 } = world();
  const lines: string[] = [];
  d1.gnttab.debug = (m) => lines.push(m);
  d1.gnttab.swapGrantRef(1, 600);
  d1.gnttab.swapGrantRef(1, 2);
  assert.deepEqual(lines, ["d1 GNTTABOP_swap_grant_ref(600): status -3"]);
});
