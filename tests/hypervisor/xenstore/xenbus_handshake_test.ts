/**
 * The xenbus handshake as a PV guest performs it, through its xenstore ring with the
 * permissions libxl sets: the guest publishes its vbd ring in a transaction and moves to
 * Initialised; pvx's blkback (a dom0 StoreOps watcher) connects and the guest's watch
 * sees the backend reach Connected. The guest cannot touch the backend's nodes.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Blkback } from "../../../lib/blkfront/backend.ts";
import { MemoryDiskImage } from "../../../lib/blkfront/disk_image.ts";
import { makeXenstoreRig, payloadStrings } from "../../../lib/hypervisor/xenstore/testing.ts";
import { writeToolstackLayout } from "../../../lib/hypervisor/xenstore/toolstack_layout.ts";
import {
  XenbusStateClosed,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitWait,
} from "../../../lib/hypervisor/xenstore/xenbus.ts";
import {
  fromUtf8,
  nulStrings,
  utf8,
  XS_ERROR,
  XS_READ,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  type XsMessage,
} from "../../../lib/hypervisor/xenstore/wire.ts";

function wp(path: string, value: string): Uint8Array {
  return new Uint8Array([...utf8(path), 0, ...utf8(value)]);
}

Deno.test("a guest's xenbus handshake over its ring connects pvx's blkback", () => {
  const rig = makeXenstoreRig(1);
  writeToolstackLayout(rig.store, {
    domid: 1,
    name: "hs",
    memoryKiB: 65536,
    consolePort: 9,
    consoleMfn: 99,
    vbds: [{ vdev: "xvda", params: "mem" }],
  });
  const be = new Blkback(rig.host, { domid: 1, devid: 51712, image: new MemoryDiskImage(2048) });
  rig.run();
  const call = (type: number, payload: Uint8Array, tx = 0): XsMessage[] =>
    rig.call(type, payload, tx);
  const read = (p: string) => fromUtf8(call(XS_READ, nulStrings(p))[0].payload);

  // xenbus_probe: find the backend, watch its state
  const bePath = read("device/vbd/51712/backend");
  strictEqual(bePath, "/local/domain/0/backend/vbd/1/51712");
  strictEqual(Number(read(`${bePath}/state`)), XenbusStateInitWait);
  const w = call(XS_WATCH, nulStrings(`${bePath}/state`, "be-state"));
  deepStrictEqual(w.map((m) => m.type), [XS_WATCH, XS_WATCH_EVENT]);
  ok(Number(read(`${bePath}/sectors`)) === 2048);

  // talk_to_blkback: a ring page, a grant, an unbound port, published in a transaction
  const ringMfn = rig.guest.allocFrame();
  const gref = rig.guest.grant(ringMfn);
  const port = rig.guest.allocUnbound();
  const tx = Number(payloadStrings(call(XS_TRANSACTION_START, nulStrings(""))[0])[0]);
  for (
    const [k, v] of [
      ["ring-ref", String(gref)],
      ["event-channel", String(port)],
      ["protocol", "x86_32-abi"],
      ["state", String(XenbusStateInitialised)],
    ]
  ) {
    strictEqual(call(XS_WRITE, wp(`device/vbd/51712/${k}`, v), tx)[0].type, XS_WRITE);
  }
  strictEqual(be.state, XenbusStateInitWait, "nothing happens before the commit");
  const end = call(XS_TRANSACTION_END, nulStrings("T"), tx);
  strictEqual(end[0].type, XS_TRANSACTION_END);
  rig.run();
  strictEqual(be.state, XenbusStateConnected);
  // blkback reacts inside the commit, so its state event may ride with the reply
  const events = [...end, ...rig.ring.receive()].filter((m) => m.type === XS_WATCH_EVENT).map(
    payloadStrings,
  );
  ok(events.some(([p, t]) => p === `${bePath}/state` && t === "be-state"), JSON.stringify(events));
  strictEqual(Number(read(`${bePath}/state`)), XenbusStateConnected);

  // the backend's nodes are read-only to the guest
  const denied = call(XS_WRITE, wp(`${bePath}/sectors`, "999999"));
  strictEqual(denied[0].type, XS_ERROR);
  deepStrictEqual(payloadStrings(denied[0]), ["EACCES"]);

  // the guest closes: the backend follows
  call(XS_WRITE, wp("device/vbd/51712/state", String(XenbusStateClosed)));
  rig.run();
  strictEqual(be.state, XenbusStateClosed);
  ok(rig.host.canariesIntact());
});
