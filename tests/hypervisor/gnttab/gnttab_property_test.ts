import assert from "node:assert/strict";
import fc from "fast-check";
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTPIN_devr_inc,
  GNTPIN_devw_inc,
  GNTPIN_devw_mask,
  GNTPIN_hstr_inc,
  GNTPIN_hstw_inc,
  GNTPIN_hstw_mask,
  gnttabCopy,
  GnttabCopyOp,
  gnttabMapGrantRef,
  gnttabReleaseMappings,
  gnttabUnmapGrantRef,
  GTF_accept_transfer,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_transitive,
  GTF_writing,
  MapGrantResult,
} from "../../../lib/hypervisor/gnttab/mod.ts";
import { type TestDomain, TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const RUNS = FULL ? 3000 : 150;
const REFS = 6; // entries 0..5 of each guest table are in play
const STATUSES = new Set([0, -1, -2, -3, -4, -7, -9, -10, -12]);

type Op =
  | { k: "grant"; d: number; ref: number; type: number; ro: boolean; to: number; own: boolean }
  | { k: "end"; d: number; ref: number } // the guest revokes an unused entry
  | { k: "setro"; d: number; ref: number } // CMPXCHG GTF_readonly while !GTF_writing
  | { k: "map"; by: number; d: number; ref: number; flags: number }
  | { k: "unmap"; by: number; pick: number; host: boolean; dev: boolean }
  | { k: "copy"; by: number; d: number; ref: number; toGuest: boolean; off: number; len: number }
  | { k: "swap"; d: number; a: number; b: number }
  | { k: "release"; by: number };

const guest = fc.constantFrom(1, 2);
const mapper = fc.constantFrom(0, 2);
const ref = fc.oneof(
  { arbitrary: fc.nat(REFS - 1), weight: 9 },
  { arbitrary: fc.constantFrom(-1, REFS, 600), weight: 1 },
);
const often = <T>(arbitrary: fc.Arbitrary<T>, weight = 8) => ({ arbitrary, weight });
const op: fc.Arbitrary<Op> = fc.oneof(
  often(fc.record({
    k: fc.constant("grant" as const),
    d: guest,
    ref: fc.nat(REFS - 1),
    type: fc.constantFrom(
      GTF_permit_access,
      GTF_permit_access,
      GTF_permit_access,
      GTF_permit_access,
      GTF_permit_access,
      GTF_accept_transfer,
      GTF_transitive,
      0,
    ),
    ro: fc.constantFrom(false, false, false, true),
    to: fc.constantFrom(0, 0, 0, 2, 2, 1),
    own: fc.constantFrom(true, true, true, false),
  })),
  often(fc.record({ k: fc.constant("end" as const), d: guest, ref: fc.nat(REFS - 1) }), 2),
  often(fc.record({ k: fc.constant("setro" as const), d: guest, ref: fc.nat(REFS - 1) }), 2),
  often(
    fc.record({
      k: fc.constant("map" as const),
      by: mapper,
      d: fc.constantFrom(1, 2, 5),
      ref,
      flags: fc.constantFrom(
        GNTMAP_host_map,
        GNTMAP_host_map | GNTMAP_readonly,
        GNTMAP_device_map,
        GNTMAP_device_map | GNTMAP_readonly,
        GNTMAP_host_map | GNTMAP_device_map,
        GNTMAP_readonly,
      ),
    }),
    12,
  ),
  often(
    fc.record({
      k: fc.constant("unmap" as const),
      by: mapper,
      pick: fc.integer({ min: -1, max: 40 }),
      host: fc.constantFrom(true, true, true, false),
      dev: fc.boolean(),
    }),
    10,
  ),
  often(fc.record({
    k: fc.constant("copy" as const),
    by: mapper,
    d: guest,
    ref,
    toGuest: fc.boolean(),
    off: fc.constantFrom(0, 100, 4000, 4096),
    len: fc.constantFrom(0, 8, 96, 97, 4096),
  })),
  often(fc.record({ k: fc.constant("swap" as const), d: guest, a: ref, b: ref }), 2),
  often(fc.record({ k: fc.constant("release" as const), by: mapper }), 1),
);

/** Recomputes every guest entry's pin from all maptracks, and checks the in-use bits. */
function checkInvariants(w: TestWorld): void {
  const expected = new Map<string, number>();
  for (const m of w.domains.values()) {
    const mt = m.gnttab.maptrack;
    let live = 0;
    for (let h = 0; h < mt.highWater; h++) {
      const f = mt.flags(h);
      if (f === 0) continue;
      live++;
      const ro = (f & GNTMAP_readonly) !== 0;
      let inc = 0;
      if (f & GNTMAP_host_map) inc += ro ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
      if (f & GNTMAP_device_map) inc += ro ? GNTPIN_devr_inc : GNTPIN_devw_inc;
      const key = `${mt.domid(h)}:${mt.ref(h)}`;
      expected.set(key, (expected.get(key) ?? 0) + inc);
      const rgt = w.domains.get(mt.domid(h))!.gnttab;
      assert.equal(rgt.actDomid[mt.ref(h)], m.domid, "pinned for the mapping domain");
    }
    assert.equal(mt.inUse, live, `d${m.domid} maptrack count`);
  }
  for (const g of [1, 2]) {
    const t = w.domains.get(g)!.gnttab;
    for (let r = 0; r < REFS; r++) {
      const pin = t.pin[r];
      assert.equal(pin, expected.get(`${g}:${r}`) ?? 0, `pin of d${g} ref ${r}`);
      const flags = t.entryFlags(r);
      assert.equal((flags & GTF_reading) !== 0, pin !== 0, `GTF_reading of d${g}:${r}`);
      assert.equal(
        (flags & GTF_writing) !== 0,
        (pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) !== 0,
        `GTF_writing of d${g}:${r}`,
      );
      if (pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) {
        assert.equal(flags & GTF_readonly, 0, "no writable pin on a read-only grant");
      }
    }
  }
}

Deno.test("grant tables keep pins, in-use bits and maptracks consistent under random ops", () => {
  const ok = new Map<string, number>();
  fc.assert(
    fc.property(fc.array(op, { minLength: 30, maxLength: 80 }), (ops) => {
      const w = new TestWorld(128);
      const mapperOpts = { hostMapper: { create: () => 0, replace: () => 0 } };
      w.addDomain(0, { privileged: true, ...mapperOpts });
      const doms = new Map<number, TestDomain>();
      doms.set(1, w.addDomain(1));
      doms.set(2, w.addDomain(2, mapperOpts));
      const pages = new Map<number, number[]>([[1, [w.allocFrame(1), w.allocFrame(1)]], [
        2,
        [w.allocFrame(2)],
      ]]);
      // Start with every entry granted (to dom0 or d2; the last one read-only).
      for (const g of [1, 2]) {
        for (let r = 0; r < REFS; r++) {
          const flags = GTF_permit_access | (r === REFS - 1 ? GTF_readonly : 0);
          w.setEntry(g, r, flags, r % 3 === 2 ? 2 : 0, pages.get(g)![0]);
        }
      }
      const local = new Map<number, number>([[0, w.allocFrame(0)], [2, w.allocFrame(2)]]);
      const handles = new Map<number, number[]>([[0, []], [2, []]]);
      const out = new MapGrantResult();
      const cop = new GnttabCopyOp();
      for (const o of ops) {
        let st = 0;
        switch (o.k) {
          case "grant": {
            const t = doms.get(o.d)!.gnttab;
            if (t.entryFlags(o.ref) & (GTF_reading | GTF_writing)) break; // in use: a guest waits
            const frame = o.own ? pages.get(o.d)![0] : pages.get(3 - o.d)![0];
            w.setEntry(o.d, o.ref, o.type | (o.ro ? GTF_readonly : 0), o.to, frame);
            break;
          }
          case "end": {
            const t = doms.get(o.d)!.gnttab;
            if (!(t.entryFlags(o.ref) & (GTF_reading | GTF_writing))) {
              w.setEntry(o.d, o.ref, 0, 0, 0);
            }
            break;
          }
          case "setro": {
            const t = doms.get(o.d)!.gnttab;
            if (!(t.entryFlags(o.ref) & GTF_writing)) t.setStatusBits(o.ref, GTF_readonly); // v1: the flags word
            break;
          }
          case "map": {
            const t = w.domains.get(o.by)!.gnttab;
            const before = t.maptrack.inUse;
            st = gnttabMapGrantRef(t, o.d, o.ref, o.flags, 0x1000, out);
            if (st === 0) handles.get(o.by)!.push(out.handle);
            else assert.equal(t.maptrack.inUse, before, "a failed map holds no handle");
            break;
          }
          case "unmap": {
            const hs = handles.get(o.by)!;
            // Mostly a live handle; sometimes a stale or made-up one.
            const h = hs.length > 0 && o.pick >= 0 && o.pick % 5 !== 4
              ? hs[o.pick % hs.length]
              : o.pick;
            const t = w.domains.get(o.by)!.gnttab;
            const dev = o.dev && t.maptrack.live(h)
              ? w.domains.get(t.maptrack.domid(h))!.gnttab.actMfn[t.maptrack.ref(h)] * 4096
              : 0;
            st = gnttabUnmapGrantRef(t, h, o.host ? 0x1000 : 0, dev);
            if (!t.maptrack.live(h) && hs.includes(h)) hs.splice(hs.indexOf(h), 1);
            break;
          }
          case "copy": {
            const t = w.domains.get(o.by)!.gnttab;
            Object.assign(cop, {
              flags: o.toGuest ? GNTCOPY_dest_gref : GNTCOPY_source_gref,
              srcDom: o.toGuest ? 0x7ff0 : o.d,
              srcRef: o.toGuest ? local.get(o.by)! : o.ref,
              srcOffset: o.off,
              dstDom: o.toGuest ? o.d : 0x7ff0,
              dstRef: o.toGuest ? o.ref : local.get(o.by)!,
              dstOffset: 0,
              len: o.len,
            });
            st = gnttabCopy(t, cop);
            break;
          }
          case "swap":
            st = doms.get(o.d)!.gnttab.swapGrantRef(o.a, o.b);
            break;
          case "release":
            gnttabReleaseMappings(w.domains.get(o.by)!.gnttab);
            handles.set(o.by, []);
            break;
        }
        assert.ok(STATUSES.has(st), `unexpected status ${st} for ${JSON.stringify(o)}`);
        if (st === 0) ok.set(o.k, (ok.get(o.k) ?? 0) + 1);
        else ok.set(`${o.k}${st}`, (ok.get(`${o.k}${st}`) ?? 0) + 1);
        checkInvariants(w);
      }
      // Unmapping everything leaves no in-use bit anywhere.
      for (const by of [0, 2]) gnttabReleaseMappings(w.domains.get(by)!.gnttab);
      checkInvariants(w);
      for (const g of [1, 2]) {
        for (let r = 0; r < REFS; r++) {
          assert.equal(doms.get(g)!.gnttab.entryFlags(r) & (GTF_reading | GTF_writing), 0);
        }
      }
    }),
    { numRuns: RUNS },
  );
  if (Deno.env.get("PVX_DEBUG")) console.log(ok);
  for (const k of ["map", "unmap", "copy", "swap"]) {
    assert.ok((ok.get(k) ?? 0) > 20, `too few successful ${k}: ${ok.get(k)}`);
  }
});
