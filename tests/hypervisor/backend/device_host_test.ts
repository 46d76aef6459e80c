import assert from "node:assert/strict";
import { HypervisorDeviceHost } from "../../../lib/hypervisor/backend/device_host.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";
import { MemStore } from "../../../lib/hypervisor/backend/testing_host.ts";
import {
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_general_error,
  GNTST_okay,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_writing,
} from "../../../lib/hypervisor/gnttab/mod.ts";
import { DOMID_SELF, ECS_INTERDOMAIN, ECS_UNBOUND } from "../../../lib/hypervisor/evtchn/mod.ts";
import type { EventPort, GrantMapping } from "../../../lib/hypervisor/backend/backend_api.ts";

function setup() {
  const w = new TestWorld();
  const host = new HypervisorDeviceHost({
    mem: w.mem,
    store: new MemStore(),
    directory: {
      evtchn: (id) => w.domains.get(id)?.evtchn,
      gnttab: (id) => w.domains.get(id)?.gnttab,
    },
    frameOwner: (mfn) => w.ownerOf(mfn),
  });
  w.domains.set(0, { domid: 0, evtchn: host.dom0Evtchn, gnttab: host.dom0Gnttab, sharedMfn: -1 });
  const guest = w.addDomain(1);
  return { w, host, guest };
}

Deno.test("HypervisorDeviceHost.mapGrant() maps a guest's granted page as a live view", () => {
  const { w, host, guest } = setup();
  const page = w.allocFrame(1);
  w.frame(page).set([1, 2, 3]);
  w.grant(1, 8, page, 0);
  const m = host.mapGrant(1, 8, false) as GrantMapping;
  assert.equal(typeof m, "object");
  assert.deepEqual([...m.page.subarray(0, 3)], [1, 2, 3]);
  m.page[100] = 0x77; // the backend writes; the guest sees it
  assert.equal(w.frame(page)[100], 0x77);
  assert.equal(guest.gnttab.entryFlags(8), GTF_permit_access | GTF_reading | GTF_writing);
  assert.equal(host.unmapGrant(m), GNTST_okay);
  assert.equal(guest.gnttab.entryFlags(8), GTF_permit_access);
  assert.equal(host.unmapGrant(m), GNTST_bad_handle, "unmap twice");
});

Deno.test("HypervisorDeviceHost.mapGrant() rejects bad domains, refs and write maps of r/o grants", () => {
  const { w, host, guest } = setup();
  const page = w.allocFrame(1);
  w.grant(1, 8, page, 0, true);
  assert.equal(host.mapGrant(5, 8, true), GNTST_bad_domain);
  assert.equal(host.mapGrant(1, 9999, true), GNTST_bad_gntref);
  assert.equal(host.mapGrant(1, 8, false), GNTST_general_error);
  assert.equal(guest.gnttab.entryFlags(8), GTF_permit_access | GTF_readonly);
  const ro = host.mapGrant(1, 8, true) as GrantMapping;
  assert.equal(guest.gnttab.entryFlags(8), GTF_permit_access | GTF_readonly | GTF_reading);
  assert.equal(host.unmapGrant(ro), GNTST_okay);
});

Deno.test("HypervisorDeviceHost.unmapGrant() refuses a stale mapping whose handle was reused", () => {
  const { w, host } = setup();
  const p1 = w.allocFrame(1), p2 = w.allocFrame(1);
  w.grant(1, 8, p1, 0);
  w.grant(1, 9, p2, 0);
  const a = host.mapGrant(1, 8, false) as GrantMapping;
  host.unmapGrant(a);
  const b = host.mapGrant(1, 9, false) as GrantMapping;
  assert.equal(b.handle, a.handle, "the handle is reused");
  assert.equal(host.unmapGrant(a), GNTST_bad_handle);
  assert.equal(host.unmapGrant(b), GNTST_okay);
});

Deno.test("HypervisorDeviceHost copies to and from grants with Xen's checks", () => {
  const { w, host, guest } = setup();
  const page = w.allocFrame(1);
  w.grant(1, 8, page, 0);
  w.grant(1, 9, page, 0, true);
  assert.equal(host.copyToGrant(1, 8, 4090, new Uint8Array([9, 8, 7, 6, 5, 4])), GNTST_okay);
  assert.deepEqual([...w.frame(page).subarray(4090)], [9, 8, 7, 6, 5, 4]);
  const dst = new Uint8Array(4);
  assert.equal(host.copyFromGrant(1, 9, 4092, dst), GNTST_okay);
  assert.deepEqual([...dst], [7, 6, 5, 4]);
  assert.equal(host.copyFromGrant(1, 9, 4093, dst), GNTST_bad_copy_arg);
  assert.equal(host.copyFromGrant(1, 9, -1, dst), GNTST_bad_copy_arg);
  assert.equal(host.copyToGrant(1, 9, 0, dst), GNTST_general_error, "read-only grant");
  assert.equal(host.copyToGrant(3, 8, 0, dst), GNTST_bad_domain);
  assert.equal(host.copyFromGrant(1, 600, 0, dst), GNTST_bad_gntref);
  assert.equal(guest.gnttab.entryFlags(8), GTF_permit_access, "no in-use bits left behind");
  assert.equal(guest.gnttab.entryFlags(9), GTF_permit_access | GTF_readonly);
  assert.equal(host.stats.copies, 2);
});

Deno.test("HypervisorDeviceHost interdomain channel delivers in both directions", () => {
  const { w, host, guest } = setup();
  const gport = guest.evtchn.allocUnbound(DOMID_SELF, 0);
  let events = 0;
  const p = host.bindInterdomain(1, gport, () => events++) as EventPort;
  assert.equal(typeof p, "object");
  assert.equal(guest.evtchn.state(gport), ECS_INTERDOMAIN);
  assert.equal(events, 0, "never called re-entrantly");
  host.runDeferred();
  assert.equal(events, 1, "the conservative event after binding");
  // guest -> backend
  assert.equal(guest.evtchn.send(gport), 0);
  guest.evtchn.send(gport);
  assert.equal(events, 1);
  assert.ok(host.hasPendingWork);
  host.runDeferred();
  assert.equal(events, 2, "two sends before the boundary coalesce, as a pending bit does");
  assert.equal(host.runDeferred(), 0);
  // backend -> guest
  w.kicks.length = 0;
  p.notify();
  assert.ok(guest.evtchn.shared.isPending(gport));
  assert.equal(guest.evtchn.shared.upcallPending(0), 1);
  assert.deepEqual(w.kicks, ["1:0"]);
  // close: the guest's end returns to unbound; later notifies do nothing
  host.close(p);
  assert.equal(guest.evtchn.state(gport), ECS_UNBOUND);
  guest.evtchn.shared.testAndClearPending(gport);
  p.notify();
  assert.ok(!guest.evtchn.shared.isPending(gport));
  guest.evtchn.send(gport);
  host.runDeferred();
  assert.equal(events, 2);
});

Deno.test("HypervisorDeviceHost.bindInterdomain() returns Xen's errors", () => {
  const { host, guest } = setup();
  const notOffered = guest.evtchn.allocUnbound(DOMID_SELF, 7);
  assert.equal(host.bindInterdomain(1, notOffered, () => {}), -22);
  assert.equal(host.bindInterdomain(4, 1, () => {}), -3);
  assert.equal(host.bindInterdomain(1, 999, () => {}), -22);
  assert.equal(host.bindInterdomain(0, 1, () => {}), -22);
});

Deno.test("HypervisorDeviceHost.mapForeignFrame() maps only frames the domain owns", () => {
  const { w, host } = setup();
  const mine = w.allocFrame(1), other = w.allocFrame(2);
  const v = host.mapForeignFrame(1, mine) as Uint8Array;
  assert.equal(v.length, 4096);
  v[0] = 42;
  assert.equal(w.frame(mine)[0], 42);
  assert.equal(host.mapForeignFrame(1, other), -22);
  assert.equal(host.mapForeignFrame(1, -1), -22);
  assert.equal(host.mapForeignFrame(1, 1e9), -22);
  assert.equal(host.mapForeignFrame(9, mine), -3);
});

Deno.test("HypervisorDeviceHost.runDeferred() runs deferred work in order, bounded", () => {
  const { host } = setup();
  const order: number[] = [];
  host.defer(() => order.push(1));
  host.defer(() => {
    order.push(2);
    host.defer(() => order.push(4));
  });
  host.defer(() => order.push(3));
  assert.deepEqual(order, []);
  assert.equal(host.runDeferred(2), 2);
  assert.deepEqual(order, [1, 2]);
  assert.equal(host.runDeferred(), 2);
  assert.deepEqual(order, [1, 2, 3, 4]);
  // A callback that always re-defers itself cannot hang the boundary.
  const again = () => host.defer(again);
  host.defer(again);
  assert.equal(host.runDeferred(1000), 1000);
  assert.ok(host.hasPendingWork);
});

Deno.test("HypervisorDeviceHost.runDeferred() keeps undelivered events when out of budget", () => {
  const { host, guest } = setup();
  const hits: number[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 40; i++) {
    const g = guest.evtchn.allocUnbound(DOMID_SELF, 0);
    host.bindInterdomain(1, g, () => hits.push(i));
    ports.push(g);
  }
  host.runDeferred(); // conservative events
  hits.length = 0;
  for (const g of ports) guest.evtchn.send(g);
  assert.equal(host.runDeferred(25), 25);
  assert.equal(host.runDeferred(), 15);
  assert.deepEqual([...hits].sort((a, b) => a - b), [...Array(40).keys()]);
});

Deno.test("HypervisorDeviceHost.forgetDomain() drops the domain's mappings and ports only", () => {
  const { w, host, guest } = setup();
  const other = w.addDomain(2);
  const p1 = w.allocFrame(1), p2 = w.allocFrame(2);
  w.grant(1, 8, p1, 0);
  w.grant(2, 8, p2, 0);
  const m1 = host.mapGrant(1, 8, false) as GrantMapping;
  const m2 = host.mapGrant(2, 8, true) as GrantMapping;
  let e1 = 0, e2 = 0;
  const g1 = guest.evtchn.allocUnbound(DOMID_SELF, 0);
  const g2 = other.evtchn.allocUnbound(DOMID_SELF, 0);
  const b1 = host.bindInterdomain(1, g1, () => e1++) as EventPort;
  host.bindInterdomain(2, g2, () => e2++);
  host.runDeferred();
  assert.equal(host.forgetDomain(1), 2);
  assert.equal(guest.gnttab.entryFlags(8), GTF_permit_access, "guest 1's grant released");
  assert.equal(other.gnttab.entryFlags(8) & GTF_reading, GTF_reading, "guest 2 untouched");
  assert.equal(guest.evtchn.state(g1), ECS_UNBOUND);
  assert.equal(host.unmapGrant(m1), GNTST_bad_handle);
  guest.evtchn.send(g1);
  other.evtchn.send(g2);
  host.runDeferred();
  assert.deepEqual([e1, e2], [1, 2]);
  b1.notify(); // a closed port object stays inert
  assert.equal(host.unmapGrant(m2), GNTST_okay);
});
