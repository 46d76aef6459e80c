/**
 * Event-channel and grant-table model costs, without a CPU: guest->backend event round
 * trips through the real device host (send, slice-boundary delivery, notify back),
 * backend grant map+unmap pairs, and 512-byte grant copies.
 *
 *   deno bench -A bench/evtchn_bench.ts   per-iteration times
 *   deno run -A bench/evtchn_bench.ts     operations per second
 * @module
 */
import { HypervisorDeviceHost } from "../lib/hypervisor/backend/device_host.ts";
import { TestWorld } from "../lib/hypervisor/gnttab/testing.ts";
import { MemStore } from "../lib/hypervisor/backend/testing_host.ts";
import type { EventPort, GrantMapping } from "../lib/hypervisor/backend/backend_api.ts";

/** A guest (d1) with an event channel and a granted page bound to the device host. */
function rig() {
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
  w.domains.set(0, { domid: 0, evtchn: host.dom0Evtchn, gnttab: host.dom0Gnttab, sharedMfn: -1 });
  const g = w.addDomain(1);
  const gport = g.evtchn.allocUnbound(0x7ff0, 0);
  let backendEvents = 0;
  let port: EventPort | null = null;
  port = host.bindInterdomain(1, gport, () => {
    backendEvents++;
    port!.notify();
  }) as EventPort;
  host.runDeferred();
  const page = w.allocFrame(1);
  w.grant(1, 8, page, 0);
  const si = g.evtchn.shared;
  /** One round trip: guest send -> backend handler -> notify -> guest handler clears. */
  const roundTrip = () => {
    g.evtchn.send(gport);
    host.runDeferred();
    si.setUpcallPending(0, 0);
    si.takePendingSel(0);
    si.testAndClearPending(gport);
  };
  const buf = new Uint8Array(512);
  return { host, roundTrip, buf, events: () => backendEvents };
}

const r = rig();

Deno.bench("event round trip guest->backend->guest", () => r.roundTrip());
Deno.bench("grant map+unmap by the backend", () => {
  r.host.unmapGrant(r.host.mapGrant(1, 8, false) as GrantMapping);
});
Deno.bench("grant copy 512 B from the guest", () => {
  r.host.copyFromGrant(1, 8, 512, r.buf);
});

if (import.meta.main) {
  const rate = (name: string, n: number, fn: () => void) => {
    for (let i = 0; i < 1000; i++) fn();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    const s = (performance.now() - t0) / 1000;
    console.log(`${name.padEnd(42)} ${(n / s / 1e6).toFixed(2)} M/s`);
  };
  const before = r.events();
  rate("event round trips (guest->backend->guest)", 500_000, r.roundTrip);
  if (r.events() - before !== 501_000) throw new Error("lost events");
  rate("grant map+unmap pairs", 500_000, () => {
    r.host.unmapGrant(r.host.mapGrant(1, 8, false) as GrantMapping);
  });
  rate("grant copies of 512 B", 500_000, () => r.host.copyFromGrant(1, 8, 512, r.buf));
}
