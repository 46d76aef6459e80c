import assert from "node:assert/strict";
import {
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTPIN_hstr_inc,
  GNTPIN_hstw_inc,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_no_device_space,
  GNTST_okay,
  gnttabMapGrantRef,
  gnttabMapKind,
  gnttabReleaseMappings,
  gnttabUnmapGrantRef,
  GTF_accept_transfer,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_sub_page,
  GTF_transitive,
  GTF_writing,
  MapGrantResult,
  MAPKIND_READ,
  MAPKIND_WRITE,
  TRC_MEM_PAGE_GRANT_MAP,
  TRC_MEM_PAGE_GRANT_UNMAP,
} from "../../../lib/hypervisor/gnttab/mod.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";
import type { GrantHostMapper } from "../../../lib/hypervisor/gnttab/mod.ts";
import { asMfn } from "../../../lib/abi/mod.ts";

const HOST = GNTMAP_host_map;
const ADDR = 0x1000; // any non-zero host address (dom0's mapper accepts all)

function world(maxMaptrackFrames = 1) {
  const w = new TestWorld();
  const calls: string[] = [];
  const mapper: GrantHostMapper = {
    create: (a, mfn, f) => {
      calls.push(`create ${a} ${mfn} ${f}`);
      return GNTST_okay;
    },
    replace: (a, mfn, n, f) => {
      calls.push(`replace ${a} ${mfn} ${n} ${f}`);
      return GNTST_okay;
    },
  };
  const d0 = w.addDomain(0, { privileged: true, hostMapper: mapper, maxMaptrackFrames });
  const d1 = w.addDomain(1);
  const d2 = w.addDomain(2);
  const page = w.allocFrame(1);
  return { w, d0, d1, d2, page, calls };
}

Deno.test("gnttabMapGrantRef() maps a grant, sets GTF_reading|GTF_writing and pins it", () => {
  const { w, d0, d1, page, calls } = world();
  w.grant(1, 8, page, 0);
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out), GNTST_okay);
  assert.equal(out.status, GNTST_okay);
  assert.equal(out.mfn, page);
  assert.equal(out.devBusAddr, page * 4096);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_reading | GTF_writing);
  assert.equal(d1.gnttab.pin[8], GNTPIN_hstw_inc);
  assert.deepEqual(calls, [`create ${ADDR} ${page} ${HOST}`]);
  assert.equal(d0.gnttab.maptrack.inUse, 1);
  assert.equal(gnttabMapKind(d0.gnttab, asMfn(page)), MAPKIND_WRITE);
  assert.equal(gnttabMapKind(d0.gnttab, asMfn(page), 2), 0);
});

Deno.test("gnttabUnmapGrantRef() clears the in-use bits and frees the handle", () => {
  const { w, d0, d1, page } = world();
  w.grant(1, 8, page, 0);
  const out = new MapGrantResult();
  gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out);
  assert.equal(gnttabUnmapGrantRef(d0.gnttab, out.handle, ADDR, 0), GNTST_okay);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access);
  assert.equal(d1.gnttab.pin[8], 0);
  assert.equal(d0.gnttab.maptrack.inUse, 0);
  assert.equal(gnttabMapKind(d0.gnttab, asMfn(page)), 0);
  assert.equal(gnttabUnmapGrantRef(d0.gnttab, out.handle, ADDR, 0), GNTST_bad_handle, "twice");
  assert.equal(gnttabUnmapGrantRef(d0.gnttab, 12345, ADDR, 0), GNTST_bad_handle);
  assert.equal(gnttabUnmapGrantRef(d0.gnttab, -1, ADDR, 0), GNTST_bad_handle);
});

Deno.test("gnttabMapGrantRef() keeps GTF_writing until the last writable mapping goes", () => {
  const { w, d0, d1, page } = world();
  w.grant(1, 9, page, 0);
  const a = new MapGrantResult(), b = new MapGrantResult(), c = new MapGrantResult();
  gnttabMapGrantRef(d0.gnttab, 1, 9, HOST | GNTMAP_readonly, ADDR, a);
  assert.equal(d1.gnttab.entryFlags(9), GTF_permit_access | GTF_reading);
  gnttabMapGrantRef(d0.gnttab, 1, 9, HOST, ADDR, b);
  gnttabMapGrantRef(d0.gnttab, 1, 9, HOST, ADDR, c);
  assert.equal(d1.gnttab.pin[9], GNTPIN_hstr_inc + 2 * GNTPIN_hstw_inc);
  assert.equal(new Set([a.handle, b.handle, c.handle]).size, 3);
  gnttabUnmapGrantRef(d0.gnttab, b.handle, ADDR, 0);
  assert.equal(d1.gnttab.entryFlags(9), GTF_permit_access | GTF_reading | GTF_writing);
  gnttabUnmapGrantRef(d0.gnttab, c.handle, ADDR, 0);
  assert.equal(d1.gnttab.entryFlags(9), GTF_permit_access | GTF_reading);
  assert.equal(gnttabMapKind(d0.gnttab, asMfn(page)), MAPKIND_READ);
  gnttabUnmapGrantRef(d0.gnttab, a.handle, ADDR, 0);
  assert.equal(d1.gnttab.entryFlags(9), GTF_permit_access);
});

Deno.test("gnttabMapGrantRef() refuses a write map of a read-only grant (GNTST_general_error, as Xen)", () => {
  const { w, d0, d1, page } = world();
  w.grant(1, 8, page, 0, true);
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out), GNTST_general_error);
  assert.equal(out.status, GNTST_general_error);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_readonly, "no in-use bits");
  assert.equal(d0.gnttab.maptrack.inUse, 0);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 8, HOST | GNTMAP_readonly, ADDR, out), GNTST_okay);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_readonly | GTF_reading);
});

Deno.test("gnttabMapGrantRef() refuses an entry granted to another domain", () => {
  const { w, d0, d1, d2, page } = world();
  w.grant(1, 8, page, 2); // granted to d2
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out), GNTST_general_error);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access);
  // d2 may map it (no host mapper: device map only), after which d0 still may not.
  assert.equal(gnttabMapGrantRef(d2.gnttab, 1, 8, GNTMAP_device_map, 0, out), GNTST_okay);
  w.grant(1, 8, page, 0); // the guest rewrites the domid while pinned
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out), GNTST_general_error);
});

Deno.test("gnttabMapGrantRef() checks flags, domain, ref, entry type and frame", () => {
  const { w, d0, d1, page } = world();
  const out = new MapGrantResult();
  w.grant(1, 8, page, 0);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 8, GNTMAP_readonly, ADDR, out), GNTST_bad_gntref);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 9, 8, HOST, ADDR, out), GNTST_bad_domain);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 0x7ff0, 8, HOST, ADDR, out), GNTST_bad_domain);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 512, HOST, ADDR, out), GNTST_bad_gntref);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, -1, HOST, ADDR, out), GNTST_bad_gntref);
  for (const t of [0, GTF_accept_transfer, GTF_transitive, GTF_permit_access | GTF_sub_page]) {
    w.setEntry(1, 10, t, 0, page);
    assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 10, HOST, ADDR, out), GNTST_general_error);
  }
  const foreign = w.allocFrame(2);
  w.grant(1, 11, foreign, 0); // a frame d1 does not own
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 11, HOST, ADDR, out), GNTST_bad_page);
  assert.equal(d1.gnttab.entryFlags(11), GTF_permit_access, "bits set then cleared");
  assert.equal(d1.gnttab.pin[11], 0);
  assert.equal(d0.gnttab.maptrack.inUse, 0);
});

Deno.test("gnttabMapGrantRef() refuses a writable map of a frame that cannot be written", () => {
  const { w, d0, d1, page } = world();
  w.grant(1, 8, page, 0);
  w.readOnlyFrames.add(page); // say, a page table
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out), GNTST_general_error);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access);
  assert.equal(d1.gnttab.pin[8], 0);
  assert.equal(gnttabMapGrantRef(d0.gnttab, 1, 8, HOST | GNTMAP_readonly, ADDR, out), GNTST_okay);
});

Deno.test("gnttabMapGrantRef() without a host mapper fails host maps but allows device maps", () => {
  const { w, d1, d2, page } = world();
  w.grant(1, 8, page, 2);
  const out = new MapGrantResult();
  assert.equal(gnttabMapGrantRef(d2.gnttab, 1, 8, HOST, ADDR, out), GNTST_general_error);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access);
  assert.equal(gnttabMapGrantRef(d2.gnttab, 1, 8, GNTMAP_device_map, 0, out), GNTST_okay);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access | GTF_reading | GTF_writing);
  // Unmap with no address does nothing (Xen's semantics); with dev_bus_addr it unmaps.
  assert.equal(gnttabUnmapGrantRef(d2.gnttab, out.handle, 0, 0), GNTST_okay);
  assert.equal(d2.gnttab.maptrack.inUse, 1);
  assert.equal(gnttabUnmapGrantRef(d2.gnttab, out.handle, 0, 4096), GNTST_general_error);
  assert.equal(gnttabUnmapGrantRef(d2.gnttab, out.handle, 0, out.devBusAddr), GNTST_okay);
  assert.equal(d2.gnttab.maptrack.inUse, 0);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access);
});

Deno.test("gnttabMapGrantRef() returns GNTST_no_device_space when handles run out", () => {
  const { w, d0, page } = world(1);
  w.grant(1, 8, page, 0);
  const out = new MapGrantResult();
  w.grant(1, 9, page, 0);
  w.grant(1, 10, page, 0);
  for (let i = 0; i < 256; i++) {
    const ref = 8 + (i % 3); // pins stay below the 0x80 overflow guard
    assert.equal(gnttabMapGrantRef(d0.gnttab, 1, ref, HOST | GNTMAP_readonly, ADDR, out), 0);
  }
  assert.equal(d0.gnttab.maptrack.inUse, 256);
  assert.equal(
    gnttabMapGrantRef(d0.gnttab, 1, 9, HOST | GNTMAP_readonly, ADDR, out),
    GNTST_no_device_space,
  );
});

Deno.test("gnttabMapGrantRef() refuses a pin that would overflow its counter", () => {
  const { w, d0, d1, page } = world(2);
  w.grant(1, 8, page, 0);
  const out = new MapGrantResult();
  let ok = 0;
  for (let i = 0; i < 200; i++) {
    if (gnttabMapGrantRef(d0.gnttab, 1, 8, HOST | GNTMAP_readonly, ADDR, out) === 0) ok++;
  }
  assert.equal(ok, 128, "the counter stops at 0x80");
  assert.equal(d1.gnttab.pin[8], 128 * GNTPIN_hstr_inc);
});

Deno.test("gnttabReleaseMappings() drops every mapping and clears the in-use bits", () => {
  const { w, d0, d1, page } = world();
  w.grant(1, 8, page, 0);
  w.grant(1, 9, page, 0, true);
  const out = new MapGrantResult();
  gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out);
  gnttabMapGrantRef(d0.gnttab, 1, 9, HOST | GNTMAP_readonly, ADDR, out);
  assert.equal(gnttabReleaseMappings(d0.gnttab), 2);
  assert.equal(d1.gnttab.entryFlags(8), GTF_permit_access);
  assert.equal(d1.gnttab.entryFlags(9), GTF_permit_access | GTF_readonly);
  assert.equal(d0.gnttab.maptrack.inUse, 0);
});

Deno.test("gnttabUnmapGrantRef() with newAddr asks the mapper to replace the mapping", () => {
  const { w, d0, page, calls } = world();
  w.grant(1, 8, page, 0);
  const out = new MapGrantResult();
  gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out);
  assert.equal(gnttabUnmapGrantRef(d0.gnttab, out.handle, ADDR, 0, 0x5000), GNTST_okay);
  assert.equal(calls[1], `replace ${ADDR} ${page} ${0x5000} ${HOST}`);
});

Deno.test("gnttabMapGrantRef() traces TRC_MEM_PAGE_GRANT_MAP/UNMAP with the granting domain", () => {
  const { w, d0, page } = world();
  const recs: number[][] = [];
  d0.gnttab.tracer = { on: true, rec: (e, n, a) => recs.push([e, n, a]), switchTo() {} };
  w.grant(1, 8, page, 0);
  const out = new MapGrantResult();
  gnttabMapGrantRef(d0.gnttab, 1, 8, HOST, ADDR, out);
  gnttabUnmapGrantRef(d0.gnttab, out.handle, ADDR, 0);
  assert.deepEqual(recs, [[TRC_MEM_PAGE_GRANT_MAP, 1, 1], [TRC_MEM_PAGE_GRANT_UNMAP, 1, 1]]);
});
