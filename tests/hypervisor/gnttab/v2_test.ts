/**
 * Grant table v2: set_version's rules (reserved entries carried over, refused while
 * entries are pinned, -EBUSY while a status frame is mapped: XSA-255, -ERANGE for
 * entries v1 cannot hold), status frames, map/copy through v2 entries (status word,
 * sub-page windows, transitive grants) and hostile values.
 * @module
 */
import assert from "node:assert/strict";
import { EBUSY, EINVAL, ERANGE } from "../../../lib/abi/mod.ts";
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_gntref,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_okay,
  gnttabCopy,
  GnttabCopyOp,
  gnttabMapGrantRef,
  gnttabUnmapGrantRef,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_writing,
  MapGrantResult,
  statusFramesFor,
  XENMAPIDX_grant_table_status,
} from "../../../lib/hypervisor/gnttab/mod.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";

const SELF = 0x7ff0;
const HOST = GNTMAP_host_map;

function world() {
  const w = new TestWorld();
  const mapper = { create: () => GNTST_okay, replace: () => GNTST_okay };
  const d0 = w.addDomain(0, { privileged: true, hostMapper: mapper });
  const d1 = w.addDomain(1, { hostMapper: mapper });
  const d2 = w.addDomain(2, { hostMapper: mapper });
  const page = w.allocFrame(1);
  w.frame(page).forEach((_, i, a) => (a[i] = (i * 7) & 0xff));
  return { w, d0, d1, d2, page };
}

function copyOp(init: Partial<GnttabCopyOp>): GnttabCopyOp {
  return Object.assign(new GnttabCopyOp(), init);
}

Deno.test("set_version 2 allocates the status frames; get_status_frames lists them", () => {
  const { w, d0, d1 } = world();
  assert.equal(d1.gnttab.nrEntries, 512);
  assert.equal(d1.gnttab.setVersion(2), 0);
  assert.equal(d1.gnttab.version, 2);
  assert.equal(d1.gnttab.nrEntries, 256, "16-byte entries: 256 a frame");
  assert.equal(d1.gnttab.nrStatusFrames, statusFramesFor(1));
  const st = d1.gnttab.getStatusFrames(SELF, 1) as number[];
  assert.equal(st.length, 1);
  assert.equal(w.ownerOf(st[0]), 1, "the status frame is the domain's to map");
  assert.deepEqual(d0.gnttab.getStatusFrames(1, 1), st, "a control domain may ask");
  assert.equal(d1.gnttab.getStatusFrames(SELF, 2), GNTST_general_error, "more than it has");
  assert.equal(d1.gnttab.setVersion(2), 0, "already in force");
  // growing a v2 table grows its status frames (8 grant frames a status frame)
  assert.deepEqual((d1.gnttab.setupTable(SELF, 4) as number[]).length, 4);
  assert.equal(d1.gnttab.nrStatusFrames, 1);
  assert.equal(statusFramesFor(9), 2);
});

Deno.test("set_version keeps the reserved entries across 1 -> 2 -> 1 and clears the rest", () => {
  const { w, d0, d1, page } = world();
  w.grant(1, 1, page, 0);
  w.grant(1, 7, page, 0, true);
  w.grant(1, 8, page, 0);
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 1, HOST, 0x1000, out), GNTST_okay);
  const mapped = out.handle;
  assert.equal(d1.gnttab.setVersion(2), 0, "reserved entries may stay in use");
  const t = d1.gnttab;
  assert.equal(t.entryFlags(1), GTF_permit_access, "in-use bits moved to the status word");
  assert.equal(t.statusFlags(1), GTF_reading | GTF_writing);
  assert.equal(t.entryDomid(1), 0);
  assert.equal(t.entryFrame(1), page);
  assert.equal(t.entryFlags(7), GTF_permit_access | GTF_readonly);
  assert.equal(t.entryFlags(8), 0, "past the reserved entries nothing is kept");
  // unmapping under v2 clears the status word
  assert.equal(gnttabUnmapGrantRef(d0.gnttab, mapped, 0x1000, 0), GNTST_okay);
  assert.equal(t.statusFlags(1), 0);
  assert.equal(t.setVersion(1), 0);
  assert.equal(t.version, 1);
  assert.equal(t.entryFlags(1), GTF_permit_access);
  assert.equal(t.entryFrame(1), page);
  assert.equal(t.entryFlags(7), GTF_permit_access | GTF_readonly);
  assert.equal(t.nrStatusFrames, 0, "status frames freed");
});

Deno.test("set_version is refused (-EBUSY) while an entry past the reserved ones is pinned", () => {
  const { w, d0, d1, page } = world();
  w.grant(1, 9, page, 0);
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 9, HOST, 0x1000, out), GNTST_okay);
  assert.equal(d1.gnttab.setVersion(2), -EBUSY);
  assert.equal(d1.gnttab.version, 1);
  assert.equal(d1.gnttab.entryFlags(9) & GTF_reading, GTF_reading, "the table is untouched");
  assert.equal(gnttabUnmapGrantRef(d0.gnttab, out.handle, 0x1000, 0), GNTST_okay);
  assert.equal(d1.gnttab.setVersion(2), 0);
});

Deno.test("set_version 1 is refused (-EBUSY) while a status frame is mapped (XSA-255)", () => {
  const { w, d1 } = world();
  assert.equal(d1.gnttab.setVersion(2), 0);
  const [st] = d1.gnttab.getStatusFrames(SELF, 1) as number[];
  w.busyFrames.add(st);
  assert.equal(d1.gnttab.setVersion(1), -EBUSY);
  assert.equal(d1.gnttab.version, 2);
  assert.equal(w.ownerOf(st), 1, "not freed while mapped");
  w.busyFrames.delete(st);
  assert.equal(d1.gnttab.setVersion(1), 0);
  assert.equal(w.ownerOf(st), -1, "freed once unmapped");
});

Deno.test("set_version 1 refuses reserved entries v1 cannot hold (-ERANGE)", () => {
  const { w, d1, page } = world();
  assert.equal(d1.gnttab.setVersion(2), 0);
  w.grantV2(1, 2, 2 ** 32 + page, 0);
  assert.equal(d1.gnttab.setVersion(1), -ERANGE, "a frame above 32 bits");
  w.grantV2(1, 2, page, 0);
  w.grantV2(1, 3, 0, 0, { trans: [2, 8] });
  assert.equal(d1.gnttab.setVersion(1), -ERANGE, "a transitive grant");
  w.grantV2(1, 3, page, 0);
  w.grantV2(1, 9, 2 ** 40, 0, { trans: [2, 8] }); // past the reserved ones: dropped
  assert.equal(d1.gnttab.setVersion(1), 0);
  assert.equal(d1.gnttab.entryFrame(2), page);
  assert.equal(d1.gnttab.entryFlags(9), 0);
});

Deno.test("hostile set_version / get_status_frames values give Xen's answers", () => {
  const { d1 } = world();
  for (const v of [0, 3, -1, 0xffffffff, 2 ** 31, 1.5, NaN]) {
    assert.equal(d1.gnttab.setVersion(v), -EINVAL, `version ${v}`);
  }
  assert.equal(d1.gnttab.setVersion(2), 0);
  for (const n of [2, 0xffffffff, 2 ** 31, -1, 1.5]) {
    assert.equal(d1.gnttab.getStatusFrames(SELF, n), GNTST_general_error, `nr_frames ${n}`);
  }
  assert.equal(d1.gnttab.setupTable(SELF, 0xffffffff), GNTST_general_error);
  assert.equal(d1.gnttab.mapFrame(XENMAPIDX_grant_table_status + 0x7fffffff, 5), -EINVAL);
  assert.equal(d1.gnttab.mapFrame(2 ** 32 + 1, 5), -EINVAL);
  assert.equal(d1.gnttab.swapGrantRef(3, 256), GNTST_bad_gntref, "256 entries in v2");
});

Deno.test("XENMAPSPACE_grant_table's status index names a v2 status frame", () => {
  const { d1 } = world();
  assert.equal(d1.gnttab.mapFrame(XENMAPIDX_grant_table_status, 0x50), -EINVAL, "v1: none");
  assert.equal(d1.gnttab.setVersion(2), 0);
  const mfn = d1.gnttab.mapFrame(XENMAPIDX_grant_table_status, 0x50);
  assert.equal(mfn, d1.gnttab.statusMfns()[0]);
  assert.equal(d1.gnttab.statusGfn(0), 0x50);
  // a status frame past the current ones grows the table (8 grant frames each)
  const { w } = world();
  const big = w.addDomain(5, { maxGrantFrames: 16 });
  assert.equal(big.gnttab.setVersion(2), 0);
  assert.ok(big.gnttab.mapFrame(XENMAPIDX_grant_table_status + 1, 0x60) >= 0);
  assert.equal(big.gnttab.nrFrames, 16);
  assert.equal(big.gnttab.mapFrame(XENMAPIDX_grant_table_status + 2, 0x61), -EINVAL, "limit");
});

Deno.test("map through a v2 entry: status word set and cleared, header untouched", () => {
  const { w, d0, d1, page } = world();
  assert.equal(d1.gnttab.setVersion(2), 0);
  w.grantV2(1, 20, page, 0);
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 20, HOST | GNTMAP_readonly, 0x1000, out), 0);
  assert.equal(out.mfn, page);
  assert.equal(d1.gnttab.entryFlags(20), GTF_permit_access);
  assert.equal(d1.gnttab.statusFlags(20), GTF_reading);
  assert.equal(gnttabUnmapGrantRef(d0.gnttab, out.handle, 0x1000, 0), GNTST_okay);
  assert.equal(d1.gnttab.statusFlags(20), 0);
  // sub-page grants are for copies only; other domains and wild frames are refused
  w.grantV2(1, 21, page, 0, { sub: [0, 64] });
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 21, HOST, 0x1000, out), GNTST_general_error);
  w.grantV2(1, 22, page, 2);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 22, HOST, 0x1000, out), GNTST_general_error);
  w.grantV2(1, 23, 2 ** 32 + page, 0);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 23, HOST, 0x1000, out), GNTST_bad_page);
  assert.equal(d1.gnttab.statusFlags(23), 0, "in-use bits dropped on failure");
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 256, HOST, 0x1000, out), GNTST_bad_gntref);
  const other = w.allocFrame(2);
  w.grantV2(1, 24, other, 0);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 24, HOST, 0x1000, out), GNTST_bad_page, "not d1's");
});

Deno.test("copy through a v2 sub-page grant stays inside its window", () => {
  const { w, d0, d1, page } = world();
  const local = w.allocFrame(0);
  assert.equal(d1.gnttab.setVersion(2), 0);
  w.grantV2(1, 30, page, 0, { sub: [256, 128], readonly: true });
  const src = { flags: GNTCOPY_source_gref, srcDom: 1, srcRef: 30, dstRef: local };
  assert.equal(gnttabCopy(d0.gnttab, copyOp({ ...src, srcOffset: 256, len: 128 })), GNTST_okay);
  assert.deepEqual(
    [...w.frame(local).subarray(0, 128)],
    [...w.frame(page).subarray(256, 384)],
  );
  assert.equal(
    gnttabCopy(d0.gnttab, copyOp({ ...src, srcOffset: 255, len: 4 })),
    GNTST_general_error,
    "before the window",
  );
  assert.equal(
    gnttabCopy(d0.gnttab, copyOp({ ...src, srcOffset: 300, len: 100 })),
    GNTST_general_error,
    "past the window",
  );
  assert.equal(
    gnttabCopy(d0.gnttab, copyOp({ ...src, srcOffset: 4000, len: 200 })),
    GNTST_bad_copy_arg,
    "past the page comes first",
  );
  assert.equal(d1.gnttab.pin[30], 0);
  assert.equal(d1.gnttab.statusFlags(30), 0);
  // a write into a read-only sub-page grant is refused
  const dst = { flags: GNTCOPY_dest_gref, dstDom: 1, dstRef: 30, srcRef: local };
  assert.equal(
    gnttabCopy(d0.gnttab, copyOp({ ...dst, dstOffset: 256, len: 8 })),
    GNTST_general_error,
  );
});

Deno.test("copy through a v2 transitive grant reaches the grant it names, one level deep", () => {
  const { w, d0, d1, d2, page } = world();
  const local = w.allocFrame(0);
  // d1 grants its page to d2 (v1); d2 passes it on to d0 with a transitive grant
  w.grant(1, 8, page, 2);
  assert.equal(d2.gnttab.setVersion(2), 0);
  w.grantV2(2, 10, 0, 0, { trans: [1, 8] });
  const op = { flags: GNTCOPY_source_gref, srcDom: 2, srcRef: 10, dstRef: local, len: 64 };
  assert.equal(gnttabCopy(d0.gnttab, copyOp({ ...op, srcOffset: 100 })), GNTST_okay);
  assert.deepEqual([...w.frame(local).subarray(0, 64)], [...w.frame(page).subarray(100, 164)]);
  assert.equal(d1.gnttab.pin[8], 0, "both pins dropped");
  assert.equal(d2.gnttab.pin[10], 0);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access);
  assert.equal(d2.gnttab.statusFlags(10), 0);
  // the named grant must be for d2; a transitive grant may not be self-referential,
  // name a missing domain, or lead to another transitive grant
  w.grant(1, 9, page, 0);
  w.grantV2(2, 11, 0, 0, { trans: [1, 9] });
  w.grantV2(2, 12, 0, 0, { trans: [2, 10] });
  w.grantV2(2, 13, 0, 0, { trans: [77, 1] });
  assert.equal(d1.gnttab.setVersion(2), 0);
  w.grantV2(1, 14, 0, 2, { trans: [2, 10] });
  w.grantV2(2, 15, 0, 0, { trans: [1, 14] });
  for (const ref of [11, 12, 13, 15]) {
    const st = gnttabCopy(d0.gnttab, copyOp({ ...op, srcRef: ref }));
    assert.equal(st, GNTST_general_error, `transitive ref ${ref}`);
    assert.equal(d2.gnttab.pin[ref], 0);
    assert.equal(d2.gnttab.statusFlags(ref), 0, `ref ${ref}: no bits left behind`);
  }
  assert.equal(d1.gnttab.pin[14], 0);
  // a transitive grant is never mapped
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d0.gnttab, 2, 10, HOST, 0x1000, out), GNTST_bad_page);
});

Deno.test("swap_grant_ref in v2 swaps the entries and their status words", () => {
  const { w, d1, page } = world();
  assert.equal(d1.gnttab.setVersion(2), 0);
  const other = w.allocFrame(1);
  w.grantV2(1, 40, page, 0);
  w.grantV2(1, 41, other, 2, { readonly: true });
  d1.gnttab.setStatusBits(41, GTF_reading);
  assert.equal(d1.gnttab.swapGrantRef(40, 41), GNTST_okay);
  assert.equal(d1.gnttab.entryFrame(40), other);
  assert.equal(d1.gnttab.entryDomid(40), 2);
  assert.equal(d1.gnttab.statusFlags(40), GTF_reading);
  assert.equal(d1.gnttab.entryFrame(41), page);
  assert.equal(d1.gnttab.statusFlags(41), 0);
  assert.equal(GTF_writing & d1.gnttab.statusFlags(40), 0);
});
