import { assertBytes } from "./_assert.ts";
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { MemoryDiskImage } from "../../lib/blkfront/disk_image.ts";
import {
  BLKIF_ABI_X86_32,
  BLKIF_ABI_X86_64,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_RESERVED_1,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  BlkifRequest,
  encodeRequest,
  encodeSegment,
} from "../../lib/blkfront/protocol.ts";
import { Blkback } from "../../lib/blkfront/backend.ts";
import { RING_VBD, TRC_PVX_RING_NOTIFY } from "../../lib/abi/trace.ts";
import { FakeDeviceHost } from "../../lib/hypervisor/backend/testing_host.ts";
import { Blkfront, BlkIoError } from "../../lib/blkfront/frontend.ts";
import { GuardedImage, makeBlkRig, pumpUntil } from "../../lib/blkfront/testing.ts";
import {
  writeVbdLayout,
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
} from "../../lib/blkfront/xenbus.ts";

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed * 101 + (i >> 9) * 7) & 0xff;
  return b;
}

Deno.test("Blkback publishes the vbd nodes and connects through the xenbus handshake", async () => {
  const { host, backend, frontend } = await makeBlkRig({ image: new MemoryDiskImage(4096) });
  const be = "/local/domain/0/backend/vbd/1/51712";
  const fe = "/local/domain/1/device/vbd/51712";
  const s = host.store;
  strictEqual(s.read(`${be}/state`), String(XenbusStateConnected));
  strictEqual(s.read(`${fe}/state`), String(XenbusStateConnected));
  strictEqual(s.read(`${be}/sectors`), "4096");
  strictEqual(s.read(`${be}/sector-size`), "512");
  strictEqual(s.read(`${be}/physical-sector-size`), "512");
  strictEqual(s.read(`${be}/feature-flush-cache`), "1");
  strictEqual(s.read(`${be}/feature-barrier`), "1");
  strictEqual(s.read(`${be}/feature-discard`), "1");
  strictEqual(s.read(`${be}/feature-max-indirect-segments`), "256");
  strictEqual(s.read(`${be}/info`), "0");
  strictEqual(s.read(`${be}/mode`), "w");
  strictEqual(s.read(`${be}/frontend`), fe);
  strictEqual(s.read(`${fe}/backend`), be);
  strictEqual(s.read(`${fe}/virtual-device`), "51712");
  strictEqual(s.read(`${fe}/protocol`), "x86_32-abi");
  ok(backend.connected);
  strictEqual(frontend.sectors, 4096);
  await frontend.disconnect();
  strictEqual(backend.state, XenbusStateClosed);
  strictEqual(backend.connected, false);
  strictEqual(host.stats.mapped, host.stats.unmapped, "ring grant unmapped");
});

for (const abi of [undefined, BLKIF_ABI_X86_64]) {
  const name = abi?.name ?? "x86_32-abi";
  Deno.test(`Blkback serves reads, writes, flushes, barriers and discards (${name})`, async () => {
    const img = new MemoryDiskImage(2048);
    const { frontend: f, backend, host } = await makeBlkRig({
      image: img,
      frontend: { abi, maxSegments: 64 },
    });
    const data = pattern(300 * 512, 1); // 38 pages: indirect (64 segments) requests
    await f.write(7, data);
    assertBytes(img.bytes.subarray(7 * 512, 307 * 512), data);
    assertBytes(await f.read(7, 300), data);
    await f.barrier(500, pattern(4096, 2));
    assertBytes(img.bytes.subarray(500 * 512, 508 * 512), pattern(4096, 2));
    await f.flush();
    await f.discard(7, 100);
    ok(img.bytes.subarray(7 * 512, 107 * 512).every((b) => b === 0));
    assertBytes(await f.read(107, 200), data.subarray(100 * 512));
    const st = backend.stats;
    ok(st.indirectReq > 0);
    strictEqual(st.barrierReq, 1);
    strictEqual(st.flushReq, 1);
    strictEqual(st.discardReq, 1);
    strictEqual(st.badReq + st.notSupp + st.ioErrors, 0);
    ok(host.canariesIntact());
  });
}

Deno.test("Blkback without feature-max-indirect-segments gets direct requests of at most 11 segments", async () => {
  const { frontend: f, backend, host } = await makeBlkRig({
    backend: { maxIndirectSegments: 0 },
  });
  strictEqual(
    host.store.read("/local/domain/0/backend/vbd/1/51712/feature-max-indirect-segments"),
    undefined,
  );
  strictEqual(f.segmentsPerRequest, 11);
  const data = pattern(200 * 512, 3);
  await f.write(0, data);
  assertBytes(await f.read(0, 200), data);
  strictEqual(backend.stats.indirectReq, 0);
  strictEqual(backend.stats.wrReq, Math.ceil(200 / 88));
});

/** An image whose reads always go through the async queue (so they can be in flight). */
class AsyncOnlyImage extends GuardedImage {
  override readNow(): boolean {
    return false;
  }
}

/** Resolves once the frontend has pushed its next request onto the ring. */
async function posted(f: Blkfront): Promise<void> {
  const before = f.ring.reqProd;
  while (f.ring.reqProd === before) await Promise.resolve();
}

/** Builds a raw request: fields set by `set`, segments naming the slot's own pages. */
function raw(set: (r: BlkifRequest, grefs: number[]) => void) {
  return (bytes: Uint8Array, pages: { dataGref: number[] }) => {
    const r = new BlkifRequest();
    r.operation = BLKIF_OP_READ;
    r.nrSegments = 1;
    r.lastSect[0] = 7;
    for (let i = 0; i < 11; i++) r.grefs[i] = pages.dataGref[i] ?? 0;
    set(r, pages.dataGref);
    encodeRequest(BLKIF_ABI_X86_32, r, bytes);
  };
}

Deno.test("Blkback answers each malformed request with an error and keeps serving", async (t) => {
  const image = new GuardedImage(new MemoryDiskImage(64));
  const { frontend: f, backend, host, guest } = await makeBlkRig({ image });
  const roGref = guest.grant(guest.allocFrame(), true);
  const foreignGref = guest.grant(guest.allocFrame(), false, 5);
  const cases: [string, (r: BlkifRequest, g: number[]) => void, number][] = [
    ["unknown operation", (r) => r.operation = 77, BLKIF_RSP_EOPNOTSUPP],
    ["BLKIF_OP_RESERVED_1", (r) => r.operation = BLKIF_OP_RESERVED_1, BLKIF_RSP_EOPNOTSUPP],
    ["no segments", (r) => r.nrSegments = 0, BLKIF_RSP_ERROR],
    ["12 segments", (r) => r.nrSegments = 12, BLKIF_RSP_ERROR],
    ["first_sect > last_sect", (r) => {
      r.firstSect[0] = 5;
      r.lastSect[0] = 4;
    }, BLKIF_RSP_ERROR],
    ["last_sect 8", (r) => r.lastSect[0] = 8, BLKIF_RSP_ERROR],
    ["sector past the end", (r) => r.sectorNumber = 57, BLKIF_RSP_ERROR],
    ["sector 2^60", (r) => r.sectorNumber = 2 ** 60, BLKIF_RSP_ERROR],
    ["ungranted gref", (r) => r.grefs[0] = 4000, BLKIF_RSP_ERROR],
    ["read into a read-only grant", (r) => r.grefs[0] = roGref, BLKIF_RSP_ERROR],
    ["grant to another domain", (r) => r.grefs[0] = foreignGref, BLKIF_RSP_ERROR],
    ["write from an ungranted gref", (r) => {
      r.operation = BLKIF_OP_WRITE;
      r.grefs[0] = 3;
    }, BLKIF_RSP_ERROR],
    ["discard past the end", (r) => {
      r.operation = BLKIF_OP_DISCARD;
      r.sectorNumber = 60;
      r.nrSectors = 5;
    }, BLKIF_RSP_ERROR],
    ["indirect with a bad op", (r) => {
      r.operation = BLKIF_OP_INDIRECT;
      r.indirectOp = BLKIF_OP_FLUSH_DISKCACHE;
      r.nrSegments = 1;
    }, BLKIF_RSP_ERROR],
    ["indirect with 257 segments", (r) => {
      r.operation = BLKIF_OP_INDIRECT;
      r.indirectOp = BLKIF_OP_READ;
      r.nrSegments = 257;
    }, BLKIF_RSP_ERROR],
    ["indirect with an ungranted page", (r) => {
      r.operation = BLKIF_OP_INDIRECT;
      r.indirectOp = BLKIF_OP_READ;
      r.nrSegments = 3;
      r.indirectGrefs[0] = 4001;
    }, BLKIF_RSP_ERROR],
    ["barrier with a bad segment", (r) => {
      r.operation = BLKIF_OP_WRITE_BARRIER;
      r.firstSect[0] = 9;
      r.lastSect[0] = 9;
    }, BLKIF_RSP_ERROR],
  ];
  for (const [name, set, want] of cases) {
    await t.step(name, async () => {
      const rsp = await f.submitRaw(raw(set), 1);
      strictEqual(rsp.status, want);
    });
  }
  // Still serving.
  await f.write(0, pattern(512, 9));
  assertBytes(await f.read(0, 1), pattern(512, 9));
  deepStrictEqual(image.violations, []);
  strictEqual(backend.stats.badReq + backend.stats.notSupp, cases.length);
  ok(host.canariesIntact());
  strictEqual(f.badResponses, 0);
});

Deno.test("Blkback echoes the indirect_op of an indirect request and reads its segments", async () => {
  const img = new MemoryDiskImage(pattern(64 * 512, 4), false);
  const { frontend: f, guest } = await makeBlkRig({ image: img });
  let got = new Uint8Array(0);
  const rsp = await f.submitRaw(
    (bytes, pages) => {
      const ind = guest.frame(pages.indirectMfn[0]);
      encodeSegment(ind, 0, pages.dataGref[0], 2, 3); // sectors 10,11 -> page offset 1024
      encodeSegment(ind, 8, pages.dataGref[1], 0, 0); // sector 12 -> page offset 0
      const r = new BlkifRequest();
      r.operation = BLKIF_OP_INDIRECT;
      r.indirectOp = BLKIF_OP_READ;
      r.nrSegments = 2;
      r.sectorNumber = 10;
      r.indirectGrefs[0] = pages.indirectGref[0];
      encodeRequest(BLKIF_ABI_X86_32, r, bytes);
    },
    12,
    (_r, pages) => {
      got = new Uint8Array([
        ...guest.frame(pages.dataMfn[0]).subarray(1024, 2048),
        ...guest.frame(pages.dataMfn[1]).subarray(0, 512),
      ]);
    },
  );
  strictEqual(rsp.status, BLKIF_RSP_OKAY);
  strictEqual(rsp.operation, BLKIF_OP_READ);
  assertBytes(got, img.bytes.subarray(10 * 512, 13 * 512));
});

Deno.test("Blkback refuses writes and does not offer discard on a read-only vbd", async () => {
  const img = new MemoryDiskImage(pattern(32 * 512, 6));
  const { frontend: f, host } = await makeBlkRig({ image: img, backend: { readonly: true } });
  strictEqual(host.store.read("/local/domain/0/backend/vbd/1/51712/info"), "4");
  strictEqual(host.store.read("/local/domain/0/backend/vbd/1/51712/feature-discard"), "0");
  ok(f.readonly);
  await rejects(f.write(0, new Uint8Array(512)), (e: unknown) => {
    return e instanceof BlkIoError && e.status === BLKIF_RSP_ERROR;
  });
  await rejects(f.discard(0, 1), (e: unknown) => {
    return e instanceof BlkIoError && e.status === BLKIF_RSP_EOPNOTSUPP;
  });
  await f.flush(); // nothing to flush: fine
  assertBytes(img.bytes, pattern(32 * 512, 6));
  assertBytes(await f.read(0, 32), pattern(32 * 512, 6));
});

Deno.test("Blkback treats a req_prod jump as fatal: disconnects and reports", async () => {
  const { frontend: f, backend, host } = await makeBlkRig({ autoDrain: false });
  await pumpUntil(host, f.write(0, new Uint8Array(512)));
  f.ring.reqProd = f.ring.reqProdPvt + 1000;
  host.guests.get(1)!.notify(f.port);
  host.drain();
  strictEqual(backend.stats.fatal, 1);
  ok(backend.fatalReason?.includes("bogus ring requests"));
  strictEqual(backend.state, XenbusStateClosing);
  strictEqual(backend.connected, false);
  ok(
    host.store.read("/local/domain/0/error/backend/vbd/1/51712/error")?.includes("bogus"),
    "error node written",
  );
  strictEqual(host.stats.mapped, host.stats.unmapped, "ring unmapped");
});

Deno.test("Blkback reconnects after the frontend closes and starts again", async () => {
  const img = new MemoryDiskImage(128);
  const { frontend: f, backend, host, guest } = await makeBlkRig({ image: img });
  await f.write(3, pattern(1024, 7));
  await f.disconnect();
  strictEqual(backend.state, XenbusStateClosed);
  const fe = "/local/domain/1/device/vbd/51712";
  host.store.write(`${fe}/state`, "1");
  strictEqual(backend.state, 2);
  const f2 = new Blkfront(guest, host.store, { devid: 51712 });
  await f2.connect();
  assertBytes(await f2.read(3, 2), pattern(1024, 7));
  await backend.close();
  strictEqual(backend.state, XenbusStateClosed);
});

Deno.test("Blkback answers a read whose pages are revoked mid-flight with an error", async () => {
  const { frontend: f, host, guest, backend } = await makeBlkRig({
    image: new AsyncOnlyImage(new MemoryDiskImage(2048)),
    autoDrain: false,
  });
  const p = f.submitRaw(raw(() => {}), 1);
  await posted(f);
  host.drain(); // the backend takes the request; the read is queued
  strictEqual(backend.inflight, 1);
  // The guest revokes the data grant before the read completes (allowed: it is not mapped).
  const gref = f.slotPages(0, 1).dataGref[0];
  ok(guest.endGrant(gref));
  const rsp = await pumpUntil(host, p);
  strictEqual(rsp.status, BLKIF_RSP_ERROR);
  strictEqual(backend.stats.badReq, 1);
  ok(host.canariesIntact());
});

Deno.test("Blkback refuses bad segments, ranges and ops before any image I/O", async () => {
  const image = new GuardedImage(new MemoryDiskImage(64));
  const { frontend: f } = await makeBlkRig({ image });
  const bad: ((r: BlkifRequest) => void)[] = [
    (r) => r.lastSect[0] = 8,
    (r) => {
      r.operation = BLKIF_OP_WRITE;
      r.lastSect[0] = 200;
    },
    (r) => {
      r.firstSect[0] = 3;
      r.lastSect[0] = 2;
    },
    (r) => r.sectorNumber = 60,
    (r) => r.nrSegments = 12,
    (r) => {
      r.operation = BLKIF_OP_DISCARD;
      r.sectorNumber = 2 ** 40;
      r.nrSectors = 1;
    },
  ];
  for (const set of bad) {
    strictEqual((await f.submitRaw(raw(set), 1)).status, BLKIF_RSP_ERROR);
  }
  deepStrictEqual(image.calls, { read: 0, write: 0, flush: 0, discard: 0 });
});

Deno.test("Blkback refuses a frontend whose transport details are bad", async (t) => {
  const cases: [
    string,
    (fe: string, w: (k: string, v: string) => void, ring: number) => void,
    RegExp,
  ][] = [
    ["missing ring-ref", (_fe, w) => w("event-channel", "1"), /ring-ref/],
    ["ungranted ring-ref", (_fe, w) => {
      w("ring-ref", "3000");
      w("event-channel", "1");
    }, /mapping ring-ref 3000 failed/],
    ["unknown protocol", (_fe, w, ring) => {
      w("ring-ref", String(ring));
      w("event-channel", "1");
      w("protocol", "arm-abi");
    }, /unknown fe protocol "arm-abi"/],
    ["unbound event channel", (_fe, w, ring) => {
      w("ring-ref", String(ring));
      w("event-channel", "77");
    }, /binding event-channel 77 failed/],
    ["multi-page ring", (_fe, w, ring) => {
      w("ring-page-order", "2");
      w("ring-ref0", String(ring));
      w("event-channel", "1");
    }, /ring-page-order 2/],
    ["malformed ring-ref", (_fe, w) => {
      w("ring-ref", "12abc");
      w("event-channel", "1");
    }, /ring-ref/],
  ];
  for (const [name, setup, re] of cases) {
    await t.step(name, () => {
      const host = new FakeDeviceHost(64);
      const guest = host.addGuest(1);
      const { frontend: fe } = writeVbdLayout(host.store, {
        domid: 1,
        devid: 51712,
        vdev: "xvda",
        params: "m",
        readonly: false,
      });
      const be = new Blkback(host, { domid: 1, devid: 51712, image: new MemoryDiskImage(8) });
      strictEqual(be.state, 2);
      guest.allocUnbound(); // port 1
      const ring = guest.grant(guest.allocFrame());
      setup(fe, (k, v) => host.store.write(`${fe}/${k}`, v), ring);
      host.store.write(`${fe}/state`, "3");
      strictEqual(be.state, XenbusStateClosing);
      ok(re.test(be.fatalReason ?? ""), be.fatalReason);
      strictEqual(be.connected, false);
      strictEqual(host.stats.mapped, host.stats.unmapped);
      ok(host.store.read("/local/domain/0/error/backend/vbd/1/51712/error"));
    });
  }
});

Deno.test("Blkback traces TRC_PVX_RING_NOTIFY for the vbd ring in both directions", async () => {
  const recs: number[][] = [];
  const tracer = {
    on: true,
    rec: (ev: number, n: number, ...d: number[]) => void recs.push([ev, ...d.slice(0, n)]),
    switchTo() {},
  };
  const { frontend: f } = await makeBlkRig({ backend: { tracer } });
  await f.write(0, new Uint8Array(512));
  deepStrictEqual(recs[0], [TRC_PVX_RING_NOTIFY, RING_VBD, 1, 0, 1]);
  deepStrictEqual(recs.at(-1), [TRC_PVX_RING_NOTIFY, RING_VBD, 1, 1, 1]);
});

Deno.test("Blkback created before its frontend directory waits in InitWait", () => {
  const host = new FakeDeviceHost(64);
  host.addGuest(1);
  const be = new Blkback(host, { domid: 1, devid: 51712, image: new MemoryDiskImage(8) });
  strictEqual(be.state, 2);
  writeVbdLayout(host.store, {
    domid: 1,
    devid: 51712,
    vdev: "xvda",
    params: "m",
    readonly: false,
  });
  host.store.rm("/local/domain/1/device/vbd/51712");
  strictEqual(be.state, 2, "a frontend that never connected does not close the backend");
});

Deno.test("Blkback fetches each request and indirect page once: later guest writes do not matter", async () => {
  const img = new MemoryDiskImage(pattern(128 * 512, 12));
  const { frontend: f, host, guest, backend } = await makeBlkRig({
    image: new AsyncOnlyImage(img),
    autoDrain: false,
  });
  let got = new Uint8Array(0);
  const p = f.submitRaw(
    (bytes, pages) => {
      const ind = guest.frame(pages.indirectMfn[0]);
      for (let i = 0; i < 12; i++) encodeSegment(ind, i * 8, pages.dataGref[i], 0, 7);
      const r = new BlkifRequest();
      r.operation = BLKIF_OP_INDIRECT;
      r.indirectOp = BLKIF_OP_READ;
      r.nrSegments = 12;
      r.sectorNumber = 4;
      r.indirectGrefs[0] = pages.indirectGref[0];
      encodeRequest(BLKIF_ABI_X86_32, r, bytes);
    },
    12,
    (_r, pages) => {
      got = new Uint8Array(12 * 4096);
      for (let i = 0; i < 12; i++) got.set(guest.frame(pages.dataMfn[i]), i * 4096);
    },
  );
  await posted(f);
  host.drain(); // the backend takes the request; the read is still queued
  strictEqual(backend.inflight, 1);
  // The guest now rewrites the slot and the indirect page (a double fetch would see this).
  const slot = f.ring.slotOffset(f.ring.reqProdPvt - 1);
  f.ring.page.fill(0xee, slot, slot + BLKIF_ABI_X86_32.entryBytes);
  guest.frame(f.slotPages(0, 12).indirectMfn[0]).fill(0xee);
  const rsp = await pumpUntil(host, p);
  strictEqual(rsp.status, BLKIF_RSP_OKAY);
  assertBytes(got, img.bytes.subarray(4 * 512, 100 * 512));
});

Deno.test("Blkback reaches Closed only after in-flight requests answered, then serves a restart", async () => {
  const img = new MemoryDiskImage(pattern(64 * 512, 13));
  const { frontend: f, host, backend, guest } = await makeBlkRig({
    image: new AsyncOnlyImage(img),
    autoDrain: false,
  });
  const p = f.submitRaw(raw(() => {}), 1);
  await posted(f);
  host.drain();
  strictEqual(backend.inflight, 1);
  const fe = "/local/domain/1/device/vbd/51712";
  host.store.write(`${fe}/state`, "6"); // GRUB's hand-off: Closed, then Initialising
  host.store.write(`${fe}/state`, "1");
  ok(backend.state !== XenbusStateClosed, "not Closed while a request is in flight");
  strictEqual((await pumpUntil(host, p)).status, BLKIF_RSP_OKAY);
  strictEqual(backend.inflight, 0);
  strictEqual(backend.state, 2, "Closed, then InitWait for the restarted frontend");
  strictEqual(host.stats.mapped, host.stats.unmapped);
  const f2 = new Blkfront(guest, host.store, { devid: 51712 });
  await pumpUntil(host, f2.connect());
  assertBytes(await pumpUntil(host, f2.read(0, 2)), img.bytes.subarray(0, 1024));
});
