import assert from "node:assert/strict";
import fc from "fast-check";
import { HypervisorDeviceHost } from "../../../lib/hypervisor/backend/device_host.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";
import { MemStore } from "../../../lib/hypervisor/backend/testing_host.ts";
import type { GrantMapping } from "../../../lib/hypervisor/backend/backend_api.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const RUNS = FULL ? 2000 : 100;
const CANARY = 0xa5;

/** A hostile guest writes anything into its grant entries; backends use any arguments. */
Deno.test("HypervisorDeviceHost never throws and writes only frames granted by the guest", () => {
  const num = fc.oneof(
    fc.integer({ min: -2, max: 600 }),
    fc.constantFrom(NaN, 1.5, 2 ** 32, -0x80000000, 0x7ff0, Infinity),
  );
  const entry = fc.record({
    ref: fc.nat(3),
    flags: fc.oneof(fc.constantFrom(1, 1, 5), fc.integer({ min: 0, max: 0xffff })),
    dom: fc.constantFrom(0, 0, 0, 1, 2, 0x7ff0),
    // 1000..1003 name the guest's own frames; anything else is taken as it is.
    frame: fc.oneof(fc.integer({ min: 1000, max: 1003 }), fc.integer({ min: 0, max: 300 })),
  });
  const op = fc.oneof(
    fc.record({ k: fc.constant("entry" as const), e: entry }),
    fc.record({
      k: fc.constant("map" as const),
      dom: fc.oneof(fc.constant(1), num),
      ref: fc.oneof(fc.nat(3), fc.nat(3), num),
      ro: fc.boolean(),
    }),
    fc.record({ k: fc.constant("unmap" as const), i: fc.nat(10) }),
    fc.record({
      k: fc.constant("copy" as const),
      dom: fc.oneof(fc.constant(1), num),
      ref: fc.oneof(fc.nat(3), fc.nat(3), num),
      off: fc.oneof(fc.nat(4096), num),
      len: fc.oneof(fc.nat(200), fc.nat(5000)),
      to: fc.boolean(),
    }),
    fc.record({ k: fc.constant("foreign" as const), dom: num, mfn: num }),
    fc.record({ k: fc.constant("bind" as const), dom: num, port: num }),
  );
  let mapped = 0, copied = 0;
  fc.assert(
    fc.property(fc.array(op, { minLength: 20, maxLength: 60 }), (ops) => {
      const w = new TestWorld(256);
      const host = new HypervisorDeviceHost({
        mem: w.mem,
        store: new MemStore(),
        directory: {
          evtchn: (id) => w.domains.get(id)?.evtchn,
          gnttab: (id) => w.domains.get(id)?.gnttab,
        },
        frameOwner: (mfn) => w.ownerOf(mfn),
      });
      w.domains.set(0, {
        domid: 0,
        evtchn: host.dom0Evtchn,
        gnttab: host.dom0Gnttab,
        sharedMfn: -1,
      });
      const g = w.addDomain(1);
      w.addDomain(2);
      const own: number[] = [];
      for (let i = 0; i < 4; i++) own.push(w.allocFrame(1));
      for (let i = 0; i < 4; i++) w.allocFrame(2);
      // Every frame guest 1 does not own gets a canary; its own frames may change.
      const guarded: number[] = [];
      for (let f = 0; f < w.mem.frames; f++) {
        if (w.ownerOf(f) !== 1) {
          guarded.push(f);
          w.frame(f).fill(CANARY);
        }
      }
      // Start with valid grants to dom0 (ref 3 read-only); the ops then corrupt them.
      for (let r = 0; r < 4; r++) w.grant(1, r, own[r], 0, r === 3);
      const maps: GrantMapping[] = [];
      for (const o of ops) {
        switch (o.k) {
          case "entry":
            // The guest's own grant-table frame is guest memory: any content is allowed.
            w.setEntry(
              1,
              o.e.ref,
              o.e.flags,
              o.e.dom,
              o.e.frame >= 1000 ? own[o.e.frame - 1000] : o.e.frame,
            );
            break;
          case "map": {
            const m = host.mapGrant(o.dom, o.ref, o.ro);
            if (typeof m !== "number") {
              assert.equal(w.ownerOf(m.page.byteOffset / 4096), 1, "mapped a guest-1 frame");
              if (!o.ro) m.page.fill(0x11);
              maps.push(m);
              mapped++;
            } else assert.ok(m < 0);
            break;
          }
          case "unmap":
            if (maps.length > 0) {
              const m = maps.splice(o.i % maps.length, 1)[0];
              assert.equal(host.unmapGrant(m), 0);
              assert.ok(host.unmapGrant(m) < 0);
            }
            break;
          case "copy": {
            const buf = new Uint8Array(o.len).fill(0x22);
            const st = o.to
              ? host.copyToGrant(o.dom, o.ref, o.off, buf)
              : host.copyFromGrant(o.dom, o.ref, o.off, buf);
            assert.ok(st <= 0 && st >= -13);
            if (st === 0) copied++;
            break;
          }
          case "foreign": {
            const v = host.mapForeignFrame(o.dom, o.mfn);
            if (typeof v !== "number") assert.equal(w.ownerOf(v.byteOffset / 4096), o.dom);
            break;
          }
          case "bind": {
            const p = host.bindInterdomain(o.dom, o.port, () => {});
            if (typeof p !== "number") p.notify();
            break;
          }
        }
        host.runDeferred();
      }
      for (const m of maps) assert.equal(host.unmapGrant(m), 0);
      // Nothing outside guest 1's frames changed.
      for (const f of guarded) {
        assert.ok(
          w.frame(f).every((b) => b === CANARY),
          `frame ${f} (owner ${w.ownerOf(f)}) changed`,
        );
      }
      // No in-use bits survive once every mapping is gone.
      for (let r = 0; r < 16; r++) assert.equal(g.gnttab.pin[r], 0);
    }),
    { numRuns: RUNS },
  );
  assert.ok(mapped > 20 && copied > 20, `too few successes: ${mapped} maps, ${copied} copies`);
});
