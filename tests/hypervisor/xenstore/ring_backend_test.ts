import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  GuestXenstoreRing,
  makeXenstoreRig,
  payloadStrings,
} from "../../../lib/hypervisor/xenstore/testing.ts";
import {
  XENSTORE_CONNECTED,
  XENSTORE_ERROR_NONE,
  XENSTORE_ERROR_PROTO,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_RECONNECT,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XS_RING_CONNECTION,
  XS_RING_ERROR,
  XS_RING_REQ_CONS,
  XS_RING_REQ_PROD,
  XS_RING_RSP_PROD,
  XS_RING_SERVER_FEATURES,
} from "../../../lib/hypervisor/xenstore/ring_backend.ts";
import {
  encodeMessage,
  fromUtf8,
  nulStrings,
  utf8,
  XS_ERROR,
  XS_READ,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
} from "../../../lib/hypervisor/xenstore/wire.ts";

function wp(path: string, value: string): Uint8Array {
  return new Uint8Array([...utf8(path), 0, ...utf8(value)]);
}

Deno.test("XenstoreRingBackend advertises features and serves a read over the ring", () => {
  const rig = makeXenstoreRig(1);
  strictEqual(
    rig.ring.u32(XS_RING_SERVER_FEATURES),
    XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR,
  );
  rig.store.write("/local/domain/1/name", "guest");
  const [r] = rig.call(XS_READ, nulStrings("name"));
  strictEqual(r.type, XS_READ);
  strictEqual(fromUtf8(r.payload), "guest");
  ok(rig.store.isIntroduced(1));
  ok(rig.host.canariesIntact());
});

Deno.test("XenstoreRingBackend wraps both rings over many messages", () => {
  const rig = makeXenstoreRig(1);
  // 200 writes and reads of ~100 bytes: ~40 KiB through each 1 KiB ring
  for (let i = 0; i < 200; i++) {
    const v = `value-${i}-` + "x".repeat(i % 90);
    const w = rig.call(XS_WRITE, wp(`data/k${i % 7}`, v));
    deepStrictEqual(payloadStrings(w[0]), ["OK"]);
    const [r] = rig.call(XS_READ, nulStrings(`data/k${i % 7}`));
    strictEqual(fromUtf8(r.payload), v);
  }
  ok(rig.ring.u32(XS_RING_REQ_PROD) > 4 * 1024);
  ok(rig.ring.u32(XS_RING_RSP_PROD) > 4 * 1024);
});

Deno.test("XenstoreRingBackend handles requests split across notifications and u32 wrap", () => {
  const rig = makeXenstoreRig(1);
  // start all indices near 2^32 so they wrap during the test
  const start = 0xffffff00;
  for (const off of [XS_RING_REQ_CONS, XS_RING_REQ_PROD]) rig.ring.setU32(off, start);
  rig.ring.setU32(2056, start);
  rig.ring.setU32(2060, start);
  const msg = encodeMessage(XS_WRITE, 9, 0, wp("split/key", "y".repeat(600)));
  let off = 0;
  for (const piece of [5, 11, 300, 1000]) {
    const n = rig.ring.writeRaw(msg.subarray(off, Math.min(msg.length, off + piece)));
    off += n;
    rig.run();
  }
  const got = rig.ring.receive();
  deepStrictEqual(got.map((m) => [m.type, m.reqId]), [[XS_WRITE, 9]]);
  strictEqual(rig.store.read("/local/domain/1/split/key"), "y".repeat(600));
  ok(rig.ring.u32(XS_RING_REQ_PROD) < start, "req_prod wrapped past 2^32");
});

Deno.test("XenstoreRingBackend delivers a reply larger than the ring in pieces", () => {
  const rig = makeXenstoreRig(1);
  const big = "z".repeat(3000);
  rig.store.write("/local/domain/1/big", big);
  rig.ring.send(XS_READ, nulStrings("big"));
  const got = [];
  for (let i = 0; i < 10 && got.length === 0; i++) {
    rig.run();
    got.push(...rig.ring.receive());
  }
  strictEqual(fromUtf8(got[0].payload), big);
});

Deno.test("a watch on the guest ring sees dom0's writes", () => {
  const rig = makeXenstoreRig(1);
  const first = rig.call(XS_WATCH, nulStrings("control/shutdown", "tok"));
  deepStrictEqual(first.map((m) => m.type), [XS_WATCH, XS_WATCH_EVENT]);
  rig.store.write("/local/domain/1/control/shutdown", "poweroff");
  rig.run();
  const ev = rig.ring.receive();
  deepStrictEqual(ev.map(payloadStrings), [["control/shutdown", "tok"]]);
});

Deno.test("an oversized message sets XENSTORE_ERROR_PROTO and stops the ring", () => {
  const rig = makeXenstoreRig(1);
  const hdr = new Uint8Array(16);
  new DataView(hdr.buffer).setUint32(12, 4097, true);
  rig.ring.writeRaw(hdr);
  rig.run();
  strictEqual(rig.ring.u32(XS_RING_ERROR), XENSTORE_ERROR_PROTO);
  rig.ring.send(XS_READ, nulStrings("name"));
  rig.run();
  deepStrictEqual(rig.ring.receive(), []);
});

Deno.test("inconsistent ring indices set XENSTORE_ERROR_RINGIDX", () => {
  const rig = makeXenstoreRig(1);
  rig.ring.setU32(XS_RING_REQ_PROD, 5000);
  rig.guest.notify(1);
  rig.backend.process();
  strictEqual(rig.ring.u32(XS_RING_ERROR), XENSTORE_ERROR_RINGIDX);
});

Deno.test("XENSTORE_RECONNECT resets the ring, indices and the connection's watches", () => {
  const rig = makeXenstoreRig(1);
  rig.call(XS_WATCH, nulStrings("data", "t"));
  rig.ring.setU32(XS_RING_REQ_PROD, 5000); // break it first
  rig.backend.process();
  rig.ring.setU32(XS_RING_CONNECTION, XENSTORE_RECONNECT);
  rig.backend.process();
  strictEqual(rig.ring.u32(XS_RING_CONNECTION), XENSTORE_CONNECTED);
  strictEqual(rig.ring.u32(XS_RING_ERROR), XENSTORE_ERROR_NONE);
  strictEqual(rig.ring.u32(XS_RING_REQ_PROD), 0);
  const ring2 = new GuestXenstoreRing(rig.ring.page, () => rig.guest.notify(1));
  ring2.send(XS_READ, nulStrings("/local/domain/1"));
  rig.run();
  deepStrictEqual(ring2.receive().map((m) => m.type), [XS_READ]);
  rig.store.write("/local/domain/1/data/x", "1");
  rig.run();
  deepStrictEqual(ring2.receive(), [], "old watches are gone");
  strictEqual(rig.backend.stats.reconnects, 1);
});

Deno.test("release closes the ring: later requests get no answer", () => {
  const rig = makeXenstoreRig(1);
  ok(rig.store.releaseDomain(1));
  rig.ring.send(XS_READ, nulStrings("name"));
  rig.run();
  deepStrictEqual(rig.ring.receive(), []);
});

Deno.test("a guest flooding requests without reading replies does not grow memory unbounded", () => {
  const rig = makeXenstoreRig(1);
  rig.store.write("/local/domain/1/v", "q".repeat(1000));
  const req = encodeMessage(XS_READ, 1, 0, nulStrings("v"));
  for (let i = 0; i < 200; i++) {
    rig.ring.writeRaw(req);
    rig.run();
  }
  // the backend stopped taking requests once replies backed up: req ring stays full
  ok((rig.ring.u32(XS_RING_REQ_PROD) - rig.ring.u32(XS_RING_REQ_CONS)) >>> 0 > 0);
  const got = rig.ring.receive();
  ok(got.length >= 1 && got.every((m) => m.type === XS_READ || m.type === XS_ERROR));
});
