import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import {
  XENCONS_IN_CONS,
  XENCONS_IN_PROD,
  XENCONS_OUT_CONS,
  XENCONS_OUT_PROD,
  XENCONS_OUT_SIZE,
} from "../../lib/console/protocol.ts";
import { makeConsoleRig, MemorySink } from "../../lib/console/testing.ts";

const enc = new TextEncoder();

Deno.test("ConsoleBackend moves guest output to the sink and notifies the guest", async () => {
  const rig = makeConsoleRig();
  rig.ring.guestWrite(enc.encode("hello, console\r\n"));
  rig.guest.notify(rig.port);
  await rig.host.runUntilIdle();
  strictEqual(rig.sink.text(), "hello, console\r\n");
  strictEqual(rig.ring.idx(XENCONS_OUT_CONS), rig.ring.idx(XENCONS_OUT_PROD));
  ok(rig.guestEvents() >= 1);
  ok(rig.host.canariesIntact());
});

Deno.test("ConsoleBackend keeps output in order across out-ring and u32 index wraparound", async () => {
  const rig = makeConsoleRig();
  rig.ring.setIdx(XENCONS_OUT_CONS, 0xfffffc00);
  rig.ring.setIdx(XENCONS_OUT_PROD, 0xfffffc00);
  let expect = "";
  for (let i = 0; i < 300; i++) expect += `line ${i} ${"#".repeat(i % 37)}\n`;
  let b = enc.encode(expect);
  while (b.length > 0) {
    // the guest fills whatever room there is, then kicks the backend
    b = b.subarray(rig.ring.guestWrite(b));
    rig.guest.notify(rig.port);
    await rig.host.runUntilIdle();
  }
  strictEqual(rig.sink.text(), expect);
  ok(rig.ring.idx(XENCONS_OUT_PROD) < 0xfffffc00, "out_prod wrapped");
});

Deno.test("ConsoleBackend stops draining a stalled sink and loses nothing", async () => {
  const sink = new MemorySink(4096, 1024);
  const rig = makeConsoleRig(sink);
  sink.hold();
  let written = 0;
  const total = 40_000;
  for (let round = 0; round < 200 && written < total; round++) {
    const chunk = new Uint8Array(Math.min(1500, total - written));
    for (let i = 0; i < chunk.length; i++) chunk[i] = (written + i) % 251;
    written += rig.ring.guestWrite(chunk);
    rig.guest.notify(rig.port);
    await rig.host.runUntilIdle(50, 2);
  }
  // the guest is blocked on a full ring, the sink never held more than high water + a ring
  strictEqual(
    (rig.ring.idx(XENCONS_OUT_PROD) - rig.ring.idx(XENCONS_OUT_CONS)) >>> 0,
    XENCONS_OUT_SIZE,
  );
  ok(sink.backlog <= 4096 + XENCONS_OUT_SIZE, `backlog ${sink.backlog}`);
  ok(written < total);
  ok(rig.backend.stats.pauses >= 1);
  sink.release();
  while (written < total) {
    const chunk = new Uint8Array(Math.min(1500, total - written));
    for (let i = 0; i < chunk.length; i++) chunk[i] = (written + i) % 251;
    written += rig.ring.guestWrite(chunk);
    rig.guest.notify(rig.port);
    await rig.host.runUntilIdle(50, 2);
  }
  for (let i = 0; i < 20 && rig.backend.stats.outBytes < total; i++) {
    rig.guest.notify(rig.port);
    await rig.host.runUntilIdle(50, 2);
  }
  await sink.close();
  const got = sink.chunks.flatMap((c) => [...c]);
  strictEqual(got.length, total);
  ok(got.every((b, i) => b === i % 251), "every byte, in order");
});

Deno.test("ConsoleBackend feeds input as the guest makes room in the 1 KiB in ring", async () => {
  const rig = makeConsoleRig();
  const typed = new Uint8Array(3000).map((_, i) => 32 + (i % 90));
  rig.sink.type(typed);
  await rig.host.runUntilIdle();
  strictEqual(rig.ring.idx(XENCONS_IN_PROD), 1024);
  strictEqual(rig.sink.pendingInput, 3000 - 1024);
  const got: number[] = [];
  for (let i = 0; i < 10 && got.length < 3000; i++) {
    got.push(...rig.ring.guestRead());
    rig.guest.notify(rig.port);
    await rig.host.runUntilIdle();
  }
  deepStrictEqual(got, [...typed]);
});

Deno.test("ConsoleBackend survives hostile indices without crashing or reading past rings", async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(), fc.nat(), fc.nat(), fc.nat(), async (a, b, c, d) => {
      const rig = makeConsoleRig();
      rig.sink.type("x");
      rig.ring.setIdx(XENCONS_OUT_CONS, a);
      rig.ring.setIdx(XENCONS_OUT_PROD, b);
      rig.ring.setIdx(XENCONS_IN_CONS, c);
      rig.ring.setIdx(XENCONS_IN_PROD, d);
      rig.guest.notify(rig.port);
      await rig.host.runUntilIdle(20, 2);
      const outUsed = (b - a) >>> 0;
      if (outUsed <= XENCONS_OUT_SIZE) strictEqual(rig.backend.stats.outBytes, outUsed);
      else strictEqual(rig.backend.stats.badIndices >= 1, true);
      ok(rig.host.canariesIntact());
    }),
    { numRuns: Deno.env.get("PVX_FUZZ") === "full" ? 3000 : 100 },
  );
});

Deno.test("ConsoleBackend traces ring notifications both ways when tracing is on", async () => {
  const { FakeDeviceHost } = await import("../../lib/hypervisor/backend/testing_host.ts");
  const { ConsoleBackend } = await import("../../lib/console/backend.ts");
  const { XenconsRing } = await import("../../lib/console/protocol.ts");
  const { RING_CONSOLE, TRC_PVX_RING_NOTIFY } = await import(
    "../../lib/abi/trace.ts"
  );
  const recs: number[][] = [];
  const tracer = {
    on: true,
    rec: (e: number, _n: number, d0: number, d1: number, d2: number, d3: number) =>
      void recs.push([e, d0, d1, d2, d3]),
    switchTo() {},
  };
  const host = new FakeDeviceHost(16);
  const g = host.addGuest(2);
  const mfn = g.allocFrame();
  const port = g.allocUnbound();
  const sink = new MemorySink();
  new ConsoleBackend(host, 2, mfn, port, sink, { tracer });
  await host.runUntilIdle(); // the start-of-day pass finds nothing to move
  new XenconsRing(g.frame(mfn)).guestWrite(enc.encode("abc"));
  g.notify(port);
  await host.runUntilIdle();
  // the guest's kick (front->back, out_prod 3), then the backend's (back->front, in_prod 0)
  deepStrictEqual(recs, [
    [TRC_PVX_RING_NOTIFY, RING_CONSOLE, 2, 0, 3],
    [TRC_PVX_RING_NOTIFY, RING_CONSOLE, 2, 1, 0],
  ]);
});
