/**
 * Blkback and the TS blkfront over the hypervisor's own grant tables and event channels
 * (HypervisorDeviceHost on the gnttab/evtchn models), not the fake host.
 */
import { assertBytes } from "./_assert.ts";
import { ok, strictEqual } from "node:assert/strict";
import { setImmediate } from "node:timers";
import { Blkback } from "../../lib/blkfront/backend.ts";
import { MemoryDiskImage } from "../../lib/blkfront/disk_image.ts";
import { Blkfront } from "../../lib/blkfront/frontend.ts";
import { BLKIF_RSP_ERROR, BlkifRequest, encodeRequest } from "../../lib/blkfront/protocol.ts";
import { writeVbdLayout } from "../../lib/blkfront/xenbus.ts";
import { HypervisorDeviceHost } from "../../lib/hypervisor/backend/device_host.ts";
import { TestWorld } from "../../lib/hypervisor/gnttab/testing.ts";
import { WorldGuest } from "./_world.ts";
import { MemStore } from "../../lib/hypervisor/backend/testing_host.ts";

function setup() {
  const w = new TestWorld(4096);
  const store = new MemStore();
  const host = new HypervisorDeviceHost({
    mem: w.mem,
    store,
    directory: {
      evtchn: (id) => w.domains.get(id)?.evtchn,
      gnttab: (id) => w.domains.get(id)?.gnttab,
    },
    frameOwner: (mfn) => w.ownerOf(mfn),
  });
  w.domains.set(0, { domid: 0, evtchn: host.dom0Evtchn, gnttab: host.dom0Gnttab, sharedMfn: -1 });
  const guest = new WorldGuest(w, w.addDomain(1, { maxGrantFrames: 8 }));
  return { w, host, guest, store };
}

/** Slice boundaries until `p` settles: dom0's deferred work, then the guest's upcall. */
async function run<T>(host: HypervisorDeviceHost, guest: WorldGuest, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(() => done = true, () => done = true);
  while (!done) {
    host.runDeferred();
    guest.upcall();
    await new Promise((r) => setImmediate(r));
  }
  return p;
}

Deno.test("Blkback serves the TS blkfront over HypervisorDeviceHost's grants and channels", async () => {
  const { host, guest, store } = setup();
  writeVbdLayout(store, { domid: 1, devid: 51712, vdev: "xvda", params: "m", readonly: false });
  const img = new MemoryDiskImage(1024);
  const be = new Blkback(host, { domid: 1, devid: 51712, image: img });
  const f = new Blkfront(guest, store, { devid: 51712, maxSegments: 40 });
  await run(host, guest, f.connect());
  ok(be.connected);
  const data = new Uint8Array(100 * 512).map((_, i) => (i * 11) & 0xff);
  await run(host, guest, f.write(10, data));
  assertBytes(img.bytes.subarray(10 * 512, 110 * 512), data);
  assertBytes(await run(host, guest, f.read(10, 100)), data);
  await run(host, guest, f.flush());
  // A grant the guest never made is refused by the hypervisor's grant table.
  const rsp = await run(
    host,
    guest,
    f.submitRaw((bytes) => {
      const r = new BlkifRequest();
      r.nrSegments = 1;
      r.grefs[0] = 1500;
      r.lastSect[0] = 7;
      encodeRequest(f.abi, r, bytes);
    }),
  );
  strictEqual(rsp.status, BLKIF_RSP_ERROR);
  await run(host, guest, f.disconnect());
  strictEqual(be.state, 6);
  strictEqual(host.stats.mapped, host.stats.unmapped, "ring unmapped");
});
