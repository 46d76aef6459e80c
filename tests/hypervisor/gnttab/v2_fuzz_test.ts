/**
 * Hostile guests against grant table v2: random version switches, entries of every kind
 * naming any frame (their own, another domain's, read-only ones, values past 2^32),
 * random maps, unmaps, copies and status-frame queries. Every call must return one of
 * Xen's codes, never throw; no frame a domain does not own (or may not write) changes;
 * once every mapping is gone nothing stays pinned.
 * 3,000 operations by default; 200,000 under PVX_FUZZ=full.
 * @module
 */
import assert from "node:assert/strict";
import { EBUSY, EINVAL, ERANGE } from "../../../lib/abi/mod.ts";
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  gnttabCopy,
  GnttabCopyOp,
  gnttabMapGrantRef,
  gnttabUnmapGrantRef,
  MapGrantResult,
} from "../../../lib/hypervisor/gnttab/mod.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";

const OPS = Deno.env.get("PVX_FUZZ") === "full" ? 200_000 : 3_000;
const GNTST = new Set([0, -1, -2, -3, -4, -7, -8, -9, -10, -12]);
const SET_VERSION = new Set([0, -EINVAL, -EBUSY, -ERANGE]);

/** A small seeded generator (xorshift32), so a failure replays. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

Deno.test(`grant table v2: ${OPS} hostile operations keep Xen's answers and memory safe`, () => {
  const w = new TestWorld(1024);
  const mapper = { create: () => 0, replace: () => 0 };
  const d0 = w.addDomain(0, { privileged: true, hostMapper: mapper });
  const guests = [w.addDomain(1, { hostMapper: mapper }), w.addDomain(2, { hostMapper: mapper })];
  w.addDomain(3);
  const sentinel = w.allocFrame(3); // d3 grants nothing: never read into, never written
  w.frame(sentinel).fill(0x5a);
  const roPage = w.allocFrame(1); // a "page table" of d1: never written through a grant
  w.frame(roPage).fill(0xa5);
  w.readOnlyFrames.add(roPage);
  const pages = [w.allocFrame(1), w.allocFrame(2), roPage, sentinel, w.allocFrame(0)];
  const local = w.allocFrame(0);
  const frames = [...pages, 0, 1023, 1024, 2 ** 32 - 1, 2 ** 32 + pages[0], 2 ** 52];
  const r = rng(0x2555);
  const handles: number[] = [];
  const done = { map: 0, copy: 0, v2: 0 };
  const out = new MapGrantResult();
  const op = new GnttabCopyOp();
  const pick = <T>(a: readonly T[]): T => a[r(a.length)];
  /** Unmaps both the host and the device part of a handle. */
  const unmapAll = (h: number): number => {
    const mt = d0.gnttab.maptrack;
    const rgt = guests.find((g) => g.domid === mt.domid(h))!.gnttab;
    return gnttabUnmapGrantRef(d0.gnttab, h, 0x1000, rgt.actMfn[mt.ref(h)] * 4096);
  };
  for (let i = 0; i < OPS; i++) {
    const g = pick(guests);
    const t = g.gnttab;
    // entry writes four times and copies three times as often as any other step, version
    // switches a third as often
    const k = r(14);
    switch (k >= 11 ? 4 : k >= 8 || (k === 1 && r(3) !== 0) ? 0 : k) {
      case 0: { // the guest writes an entry (in the layout in force)
        const ref = r(Math.min(t.nrEntries, 40));
        const to = pick([0, 0, 0, 0, 1, 2, 0x7ff0]);
        // its own page most of the time, else anything
        const frame = r(2) ? pages[g.domid - 1] : pick(frames);
        const flags = r(4) ? 1 | (r(2) << 2) : r(0x200); // GTF_permit_access [| readonly]
        if (t.version === 1) w.setEntry(g.domid, ref, flags, to, frame % 2 ** 32);
        else {
          const kind = r(5);
          w.grantV2(g.domid, ref, frame, to, {
            readonly: r(2) === 0,
            sub: kind === 1 ? [r(5000), r(5000)] : undefined,
            trans: kind === 2 ? [pick([1, 2, 3, 9]), r(50)] : undefined,
          });
        }
        break;
      }
      case 1: {
        const rc = t.setVersion(pick([1, 2, 1, 2, 0, 3, 0xffffffff]));
        assert.ok(SET_VERSION.has(rc), `set_version ${rc}`);
        if (rc === 0 && t.version === 2) done.v2++;
        break;
      }
      case 2: {
        const flags = pick([GNTMAP_host_map, GNTMAP_device_map, 0]) |
          (r(2) ? GNTMAP_readonly : 0) | (r(4) === 0 ? GNTMAP_host_map : 0);
        const ref = r(4) ? r(40) : r(300);
        const st = gnttabMapGrantRef(d0.gnttab, pick([1, 2, 1, 2, 3, 7]), ref, flags, 0x1000, out);
        assert.ok(GNTST.has(st), `map ${st}`);
        if (st === 0) {
          done.map++;
          assert.notEqual(out.mfn, sentinel);
          handles.push(out.handle);
        }
        break;
      }
      case 3: {
        if (handles.length === 0) break;
        const h = handles.splice(r(handles.length), 1)[0];
        assert.equal(unmapAll(h), 0);
        assert.ok(!d0.gnttab.maptrack.live(h));
        break;
      }
      case 4: {
        op.flags = r(4) & (GNTCOPY_source_gref | GNTCOPY_dest_gref);
        op.srcDom = op.flags & GNTCOPY_source_gref ? pick([1, 2, 3]) : 0x7ff0;
        op.dstDom = op.flags & GNTCOPY_dest_gref ? pick([1, 2, 3]) : 0x7ff0;
        op.srcRef = op.flags & GNTCOPY_source_gref ? r(r(4) ? 40 : 300) : local;
        op.dstRef = op.flags & GNTCOPY_dest_gref ? r(r(4) ? 40 : 300) : local;
        op.srcOffset = r(r(4) ? 2048 : 4200);
        op.dstOffset = r(r(4) ? 2048 : 4200);
        op.len = r(r(4) ? 2048 : 5000);
        const st = gnttabCopy(d0.gnttab, op);
        assert.ok(GNTST.has(st), `copy ${st}`);
        if (st === 0 && (op.flags & GNTCOPY_source_gref) !== 0) done.copy++;
        break;
      }
      case 5: {
        const st = t.getStatusFrames(pick([0x7ff0, 1, 2, 9]), pick([0, 1, 2, 0xffffffff]));
        assert.ok(Array.isArray(st) || GNTST.has(st), `get_status_frames ${st}`);
        break;
      }
      case 6: { // the guest maps or unmaps one of its status frames
        const s = t.statusMfns();
        if (s.length === 0) break;
        const mfn = pick(s);
        if (w.busyFrames.has(mfn)) w.busyFrames.delete(mfn);
        else w.busyFrames.add(mfn);
        break;
      }
      case 7: {
        const st = t.swapGrantRef(r(300), r(300));
        assert.ok(GNTST.has(st), `swap ${st}`);
        break;
      }
    }
    assert.ok(w.frame(sentinel).every((b) => b === 0x5a), `op ${i}: another domain's frame`);
    assert.ok(w.frame(roPage).every((b) => b === 0xa5), `op ${i}: a read-only frame`);
  }
  for (const h of handles) assert.equal(unmapAll(h), 0);
  // the run exercised the paths that succeed, not only the refusals
  assert.ok(done.map > 5 && done.copy > 5 && done.v2 > 5, JSON.stringify(done));
  w.busyFrames.clear();
  for (const g of guests) {
    assert.ok(g.gnttab.pin.every((p) => p === 0), `d${g.domid}: a pin left behind`);
    // (the guest first ends its reserved grants: v1 cannot hold every v2 entry)
    const size = g.gnttab.version === 2 ? 16 : 8;
    for (let ref = 0; ref < 8; ref++) {
      const a = g.gnttab.entryMaddr(ref);
      w.mem.u8.fill(0, a, a + size);
    }
    for (const v of [2, 1, 2]) assert.equal(g.gnttab.setVersion(v), 0, `d${g.domid} -> v${v}`);
  }
});
