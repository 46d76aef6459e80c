import assert from "node:assert/strict";
import {
  acquireGrantForCopy,
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_host_map,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  gnttabCopy,
  GnttabCopyOp,
  gnttabMapGrantRef,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_writing,
  MapGrantResult,
  releaseGrantForCopy,
} from "../../../lib/hypervisor/gnttab/mod.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";

function world() {
  const w = new TestWorld();
  const d0 = w.addDomain(0, {
    privileged: true,
    hostMapper: { create: () => 0, replace: () => 0 },
  });
  const d1 = w.addDomain(1);
  const d2 = w.addDomain(2);
  const guestPage = w.allocFrame(1);
  const localPage = w.allocFrame(0);
  w.frame(guestPage).forEach((_, i, a) => (a[i] = i & 0xff));
  return { w, d0, d1, d2, guestPage, localPage };
}

function op(init: Partial<GnttabCopyOp>): GnttabCopyOp {
  return Object.assign(new GnttabCopyOp(), init);
}

Deno.test("gnttabCopy() copies from a grant into the caller's frame", () => {
  const { w, d0, d1, guestPage, localPage } = world();
  w.grant(1, 8, guestPage, 0, true);
  const st = gnttabCopy(
    d0.gnttab,
    op({
      flags: GNTCOPY_source_gref,
      srcDom: 1,
      srcRef: 8,
      srcOffset: 100,
      dstRef: localPage,
      dstOffset: 7,
      len: 50,
    }),
  );
  assert.equal(st, GNTST_okay);
  assert.deepEqual([...w.frame(localPage).subarray(7, 57)], [
    ...w.frame(guestPage).subarray(100, 150),
  ]);
  assert.equal(w.frame(localPage)[6], 0);
  assert.equal(w.frame(localPage)[57], 0);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_readonly, "bits dropped after");
  assert.equal(d1.gnttab.pin[8], 0);
});

Deno.test("gnttabCopy() copies into a writable grant and refuses a read-only one", () => {
  const { w, d0, d1, guestPage, localPage } = world();
  w.frame(localPage).fill(0xee);
  w.grant(1, 8, guestPage, 0);
  const o = op({
    flags: GNTCOPY_dest_gref,
    dstDom: 1,
    dstRef: 8,
    dstOffset: 4000,
    srcRef: localPage,
    len: 96,
  });
  assert.equal(gnttabCopy(d0.gnttab, o), GNTST_okay);
  assert.equal(w.frame(guestPage)[4000], 0xee);
  assert.equal(w.frame(guestPage)[4095], 0xee);
  assert.equal(w.frame(guestPage)[3999], 3999 & 0xff);
  w.grant(1, 9, guestPage, 0, true);
  const before = w.frame(guestPage).slice();
  assert.equal(gnttabCopy(d0.gnttab, op({ ...o, dstRef: 9 })), GNTST_general_error);
  assert.deepEqual(w.frame(guestPage), before);
  assert.equal(d1.gnttab.entryFlags(9), GTF_permit_access | GTF_readonly);
});

Deno.test("gnttabCopy() returns GNTST_bad_copy_arg beyond the page and copies nothing", () => {
  const { w, d0, d1, guestPage, localPage } = world();
  w.grant(1, 8, guestPage, 0);
  const base = { flags: GNTCOPY_source_gref, srcDom: 1, srcRef: 8, dstRef: localPage };
  for (
    const bad of [
      { srcOffset: 4000, len: 97 },
      { dstOffset: 4095, len: 2 },
      { srcOffset: -1, len: 1 },
      { len: 4097 },
    ]
  ) {
    assert.equal(gnttabCopy(d0.gnttab, op({ ...base, ...bad })), GNTST_bad_copy_arg);
  }
  assert.ok(w.frame(localPage).every((b) => b === 0));
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access, "pins released on failure");
  assert.equal(gnttabCopy(d0.gnttab, op({ ...base, srcOffset: 4000, len: 96 })), GNTST_okay);
});

Deno.test("gnttabCopy() checks domains, refs, grantee and frames", () => {
  const { w, d0, d1, guestPage, localPage } = world();
  w.grant(1, 8, guestPage, 2); // granted to d2, not d0
  const base = { flags: GNTCOPY_source_gref, srcDom: 1, srcRef: 8, dstRef: localPage, len: 8 };
  assert.equal(gnttabCopy(d0.gnttab, op(base)), GNTST_general_error, "not granted to us");
  assert.equal(gnttabCopy(d0.gnttab, op({ ...base, srcDom: 9 })), GNTST_bad_domain);
  assert.equal(gnttabCopy(d0.gnttab, op({ ...base, srcRef: 4096 })), GNTST_bad_gntref);
  assert.equal(
    gnttabCopy(
      d0.gnttab,
      op({ flags: 0, srcDom: 1, srcRef: guestPage, dstRef: localPage, len: 8 }),
    ),
    GNTST_permission_denied,
    "frames of other domains are not reachable without a grant",
  );
  assert.equal(
    gnttabCopy(d0.gnttab, op({ flags: 0, srcRef: guestPage, dstRef: localPage, len: 8 })),
    GNTST_bad_page,
    "a frame the caller does not own",
  );
  w.grant(1, 10, w.allocFrame(2), 0);
  assert.equal(gnttabCopy(d0.gnttab, op({ ...base, srcRef: 10 })), GNTST_bad_page);
  assert.equal(d1.gnttab.entryFlags(10), GTF_permit_access);
});

Deno.test("gnttabCopy() copies grant to grant between two other domains", () => {
  const { w, d0, d1, d2, guestPage } = world();
  const other = w.allocFrame(2);
  w.grant(1, 8, guestPage, 0, true);
  w.grant(2, 8, other, 0);
  const o = op({
    flags: GNTCOPY_source_gref | GNTCOPY_dest_gref,
    srcDom: 1,
    srcRef: 8,
    dstDom: 2,
    dstRef: 8,
    len: 4096,
  });
  assert.equal(gnttabCopy(d0.gnttab, o), GNTST_okay);
  assert.deepEqual(w.frame(other), w.frame(guestPage));
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_readonly);
  assert.equal(d2.gnttab.entryFlags(8), GTF_permit_access);
});

Deno.test("gnttabCopy() keeps the in-use bits of a grant that stays mapped", () => {
  const { w, d0, d1, guestPage, localPage } = world();
  w.grant(1, 8, guestPage, 0);
  const m = new MapGrantResult();
  gnttabMapGrantRef(d0.gnttab, 1, 8, GNTMAP_host_map, 1, m);
  const o = op({ flags: GNTCOPY_source_gref, srcDom: 1, srcRef: 8, dstRef: localPage, len: 16 });
  assert.equal(gnttabCopy(d0.gnttab, o), GNTST_okay);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_reading | GTF_writing);
});

Deno.test("acquireGrantForCopy() pins for reading or writing and release undoes it", () => {
  const { w, d1, guestPage } = world();
  w.grant(1, 8, guestPage, 0);
  assert.equal(acquireGrantForCopy(d1.gnttab, 8, 0, false), guestPage);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_reading | GTF_writing);
  assert.equal(acquireGrantForCopy(d1.gnttab, 8, 5, true), GNTST_general_error, "other grantee");
  releaseGrantForCopy(d1.gnttab, 8, false);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access);
  assert.equal(d1.gnttab.pin[8], 0);
});
