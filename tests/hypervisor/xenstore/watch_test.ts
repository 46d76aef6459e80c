import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { XsConnection } from "../../../lib/hypervisor/xenstore/connection.ts";
import { XenStore } from "../../../lib/hypervisor/xenstore/store.ts";
import { memoryConnection, payloadStrings } from "../../../lib/hypervisor/xenstore/testing.ts";
import { nulStrings, XS_WATCH, XS_WATCH_EVENT } from "../../../lib/hypervisor/xenstore/wire.ts";

function events(c: ReturnType<typeof memoryConnection>): string[][] {
  return c.inbox.splice(0).filter((m) => m.type === XS_WATCH_EVENT).map(payloadStrings);
}

Deno.test("watch fires for the node, its descendants, not siblings or prefixes", () => {
  const store = new XenStore();
  const c = memoryConnection(store, 0, true);
  c.call(XS_WATCH, nulStrings("/a/b", "t"));
  store.write("/a/b", "1");
  store.write("/a/b/c/d", "1");
  store.write("/a/bc", "1");
  store.write("/a/x", "1");
  deepStrictEqual(events(c), [["/a/b", "t"], ["/a/b/c/d", "t"]]);
});

Deno.test("removing an ancestor fires watches below it with their own path", () => {
  const store = new XenStore();
  store.write("/a/b/c", "1");
  const c = memoryConnection(store, 0, true);
  c.call(XS_WATCH, nulStrings("/a/b/c", "deep"));
  c.call(XS_WATCH, nulStrings("/a", "top"));
  c.inbox.length = 0;
  store.rm("/a/b");
  deepStrictEqual(events(c), [["/a/b/c", "deep"], ["/a/b", "top"]]);
});

Deno.test("a guest hears only about nodes it can read", () => {
  const store = new XenStore();
  store.mkdir("/local/domain/1");
  store.setPerms("/local/domain/1", ["n1"]);
  const g = memoryConnection(store, 1, false);
  g.call(XS_WATCH, nulStrings("/local/domain", "t"));
  g.inbox.length = 0;
  store.write("/local/domain/0/private", "x");
  store.write("/local/domain/1/mine", "x");
  deepStrictEqual(events(g), [["/local/domain/1/mine", "t"]]);
});

Deno.test("permission changes fire watches and same-token watches on two paths both fire", () => {
  const store = new XenStore();
  store.write("/p/q", "");
  const c = memoryConnection(store, 0, true);
  c.call(XS_WATCH, nulStrings("/p", "same"));
  c.call(XS_WATCH, nulStrings("/p/q", "same"));
  c.inbox.length = 0;
  store.setPerms("/p/q", ["n0", "r3"]);
  deepStrictEqual(events(c), [["/p/q", "same"], ["/p/q", "same"]]);
});

Deno.test("StoreOps.watch fires at once, on change, and stops when removed", () => {
  const store = new XenStore();
  const seen: string[] = [];
  const stop = store.watch("/local/domain/0/backend", (p) => seen.push(p));
  store.write("/local/domain/0/backend/vbd/1/51712/state", "2");
  stop();
  store.write("/local/domain/0/backend/vbd/1/51712/state", "4");
  deepStrictEqual(seen, [
    "/local/domain/0/backend",
    "/local/domain/0/backend/vbd/1/51712/state",
  ]);
});

Deno.test("a watch callback that writes is served after the current change, in order", () => {
  const store = new XenStore();
  const seen: string[] = [];
  store.watch("/x", (p) => {
    seen.push(p);
    if (p === "/x/req") store.write("/x/ack", "1");
  });
  store.write("/x/req", "1");
  deepStrictEqual(seen, ["/x", "/x/req", "/x/ack"]);
});

Deno.test("watch events to a stalled reader are dropped past the output limit", () => {
  const store = new XenStore({ quotas: { maxPendingOutput: 200 } });
  let pending = 0;
  const sent: number[] = [];
  // a connection whose peer never reads
  const stalled = new XsConnection(store, 0, true, {
    send: (b) => {
      pending += b.length;
      sent.push(b.length);
    },
    pending: () => pending,
  });
  stalled.handle({ type: XS_WATCH, reqId: 1, txId: 0, payload: nulStrings("/s", "t") });
  for (let i = 0; i < 50; i++) store.write(`/s/n${i}`, "x");
  strictEqual(pending <= 200 + 64, true);
  strictEqual(stalled.stats.droppedEvents > 0, true);
});

Deno.test("a throwing in-process watcher is logged and does not break the guest's request", () => {
  const lines: string[] = [];
  const store = new XenStore({ log: (l) => lines.push(l) });
  const seen: string[] = [];
  store.watch("/w", (p) => {
    if (p === "/w/bad") throw new Error("backend bug");
  });
  store.watch("/w", (p) => seen.push(p));
  const c = memoryConnection(store, 0, true);
  const r = c.call(11, new Uint8Array([...new TextEncoder().encode("/w/bad"), 0, 0x31]));
  deepStrictEqual(payloadStrings(r[0]), ["OK"]);
  deepStrictEqual(seen, ["/w", "/w/bad"]);
  strictEqual(store.callbackErrors, 1);
  strictEqual(lines.some((l) => l.includes("backend bug")), true);
});
