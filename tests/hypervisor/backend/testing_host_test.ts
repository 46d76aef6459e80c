import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  FakeDeviceHost,
  GNTST_bad_copy_arg,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_permission_denied,
} from "../../../lib/hypervisor/backend/testing_host.ts";
import type { GrantMapping } from "../../../lib/hypervisor/backend/backend_api.ts";

Deno.test("FakeDeviceHost.mapGrant() maps a granted page and keeps the in-use bits", () => {
  const host = new FakeDeviceHost(64);
  const g = host.addGuest(1);
  const mfn = g.allocFrame();
  g.frame(mfn)[5] = 42;
  const ref = g.grant(mfn);
  const m = host.mapGrant(1, ref, false) as GrantMapping;
  strictEqual(m.page[5], 42);
  ok(g.grantFlags(ref) & (1 << 4), "GTF_writing set while mapped");
  strictEqual(g.endGrant(ref), false);
  strictEqual(host.unmapGrant(m), 0);
  strictEqual(host.unmapGrant(m), GNTST_bad_handle);
  strictEqual(g.grantFlags(ref) & 0x18, 0);
  ok(host.canariesIntact());
});

Deno.test("FakeDeviceHost refuses bad grants, write access to read-only grants, page overruns", () => {
  const host = new FakeDeviceHost(64);
  const g = host.addGuest(1);
  const ro = g.grant(g.allocFrame(), true);
  strictEqual(host.mapGrant(1, 9999, true), GNTST_bad_gntref);
  strictEqual(host.mapGrant(1, ro, false), GNTST_permission_denied);
  strictEqual(host.copyToGrant(1, ro, 0, new Uint8Array(4)), GNTST_permission_denied);
  strictEqual(host.copyFromGrant(1, ro, 4090, new Uint8Array(8)), GNTST_bad_copy_arg);
  strictEqual(host.copyFromGrant(1, ro, 0, new Uint8Array(8)), 0);
});

Deno.test("FakeDeviceHost event channels deliver in both directions at drain time", () => {
  const host = new FakeDeviceHost(16);
  const g = host.addGuest(2);
  const seen: string[] = [];
  const gport = g.allocUnbound(() => seen.push("guest"));
  const bport = host.bindInterdomain(2, gport, () => seen.push("backend"));
  ok(typeof bport !== "number");
  g.notify(gport);
  bport.notify();
  deepStrictEqual(seen, []);
  host.drain();
  deepStrictEqual(seen, ["backend", "guest"]);
  strictEqual(typeof host.bindInterdomain(2, gport, () => {}), "number"); // already bound
});
