import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { XenStore } from "../../../lib/hypervisor/xenstore/store.ts";
import { memoryConnection, payloadStrings } from "../../../lib/hypervisor/xenstore/testing.ts";
import {
  fromUtf8,
  nulStrings,
  utf8,
  XS_DIRECTORY,
  XS_ERROR,
  XS_READ,
  XS_RM,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_WATCH,
  XS_WRITE,
  type XsMessage,
} from "../../../lib/hypervisor/xenstore/wire.ts";

function wp(path: string, value: string): Uint8Array {
  return new Uint8Array([...utf8(path), 0, ...utf8(value)]);
}
function err(m: XsMessage[]): string | undefined {
  const e = m.find((x) => x.type === XS_ERROR);
  return e ? payloadStrings(e)[0] : undefined;
}
function start(c: ReturnType<typeof memoryConnection>): number {
  return Number(payloadStrings(c.call(XS_TRANSACTION_START, nulStrings(""))[0])[0]);
}

Deno.test("a transaction's writes are invisible until commit, then applied", () => {
  const store = new XenStore();
  const a = memoryConnection(store, 0, true);
  const tx = start(a);
  a.call(XS_WRITE, wp("/t/x", "1"), tx);
  strictEqual(fromUtf8(a.call(XS_READ, nulStrings("/t/x"), tx)[0].payload), "1");
  strictEqual(store.read("/t/x"), undefined);
  deepStrictEqual(payloadStrings(a.call(XS_TRANSACTION_END, nulStrings("T"), tx)[0]), ["OK"]);
  strictEqual(store.read("/t/x"), "1");
});

Deno.test("TRANSACTION_END F discards the transaction", () => {
  const store = new XenStore();
  const a = memoryConnection(store, 0, true);
  const tx = start(a);
  a.call(XS_WRITE, wp("/t/x", "1"), tx);
  a.call(XS_TRANSACTION_END, nulStrings("F"), tx);
  strictEqual(store.read("/t/x"), undefined);
  strictEqual(err(a.call(XS_READ, nulStrings("/t/x"), tx)), "ENOENT");
});

Deno.test("a commit after a conflicting write gives EAGAIN and applies nothing", () => {
  const store = new XenStore();
  store.write("/c/v", "0");
  const a = memoryConnection(store, 0, true);
  const b = memoryConnection(store, 0, true);
  const tx = start(a);
  a.call(XS_READ, nulStrings("/c/v"), tx);
  a.call(XS_WRITE, wp("/c/w", "from-a"), tx);
  b.call(XS_WRITE, wp("/c/v", "1"));
  strictEqual(err(a.call(XS_TRANSACTION_END, nulStrings("T"), tx)), "EAGAIN");
  strictEqual(store.read("/c/w"), undefined);
  strictEqual(err(a.call(XS_TRANSACTION_END, nulStrings("T"), tx)), "ENOENT");
});

Deno.test("a write to an untouched node does not conflict", () => {
  const store = new XenStore();
  store.write("/c/v", "0");
  store.write("/c/u", "0");
  const a = memoryConnection(store, 0, true);
  const tx = start(a);
  a.call(XS_READ, nulStrings("/c/v"), tx);
  store.write("/c/u", "1");
  deepStrictEqual(payloadStrings(a.call(XS_TRANSACTION_END, nulStrings("T"), tx)[0]), ["OK"]);
});

Deno.test("a transaction that read an absent node conflicts with its creation", () => {
  const store = new XenStore();
  const a = memoryConnection(store, 0, true);
  const tx = start(a);
  strictEqual(err(a.call(XS_READ, nulStrings("/late"), tx)), "ENOENT");
  store.write("/late", "here");
  strictEqual(err(a.call(XS_TRANSACTION_END, nulStrings("T"), tx)), "EAGAIN");
});

Deno.test("transaction errors: bad tx id ENOENT, nested start EBUSY, bad end arg EINVAL", () => {
  const store = new XenStore();
  const a = memoryConnection(store, 0, true);
  strictEqual(err(a.call(XS_READ, nulStrings("/"), 12345)), "ENOENT");
  const tx = start(a);
  strictEqual(err(a.call(XS_TRANSACTION_START, nulStrings(""), tx)), "EBUSY");
  strictEqual(err(a.call(XS_TRANSACTION_END, nulStrings("X"), tx)), "EINVAL");
  strictEqual(err(a.call(XS_TRANSACTION_END, nulStrings("T"), 999)), "ENOENT");
  const other = memoryConnection(store, 0, true);
  strictEqual(err(other.call(XS_READ, nulStrings("/"), tx)), "ENOENT", "ids are per connection");
});

Deno.test("watches fire on commit only, once per change", () => {
  const store = new XenStore();
  const w = memoryConnection(store, 0, true);
  w.call(XS_WATCH, nulStrings("/t", "tok"));
  const a = memoryConnection(store, 0, true);
  const tx = start(a);
  a.call(XS_WRITE, wp("/t/a", "1"), tx);
  a.call(XS_WRITE, wp("/t/b", "1"), tx);
  strictEqual(w.inbox.length, 0);
  a.call(XS_TRANSACTION_END, nulStrings("T"), tx);
  deepStrictEqual(w.inbox.splice(0).map((m) => payloadStrings(m)[0]), ["/t/a", "/t/b"]);
});

Deno.test("rm inside a transaction removes the subtree on commit", () => {
  const store = new XenStore();
  store.write("/r/a/b", "1");
  const a = memoryConnection(store, 0, true);
  const tx = start(a);
  a.call(XS_RM, nulStrings("/r/a"), tx);
  deepStrictEqual(payloadStrings(a.call(XS_DIRECTORY, nulStrings("/r"), tx)[0]), []);
  deepStrictEqual(store.directory("/r"), ["a"]);
  a.call(XS_TRANSACTION_END, nulStrings("T"), tx);
  deepStrictEqual(store.directory("/r"), []);
  strictEqual(store.read("/r/a/b"), undefined);
});

Deno.test("transactions are serialisable: committed increments are never lost", () => {
  // property: interleaved read-increment-write transactions from two connections either
  // commit or get EAGAIN; the final counter equals the number of commits
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 40 }), (steps) => {
      const store = new XenStore();
      store.write("/n", "0");
      const conns = [memoryConnection(store, 0, true), memoryConnection(store, 0, true)];
      const state = conns.map(() => ({ tx: 0, val: 0 }));
      let commits = 0;
      for (const s of steps) {
        const i = s & 1;
        const c = conns[i];
        const st = state[i];
        if (st.tx === 0) {
          st.tx = start(c);
          st.val = Number(fromUtf8(c.call(XS_READ, nulStrings("/n"), st.tx)[0].payload));
        } else if (s < 2) {
          c.call(XS_WRITE, wp("/n", String(st.val + 1)), st.tx);
        } else {
          c.call(XS_WRITE, wp("/n", String(st.val + 1)), st.tx);
          const r = c.call(XS_TRANSACTION_END, nulStrings("T"), st.tx);
          if (r[0].type !== XS_ERROR) commits++;
          else strictEqual(payloadStrings(r[0])[0], "EAGAIN");
          st.tx = 0;
        }
      }
      strictEqual(store.read("/n"), String(commits));
    }),
    { numRuns: Deno.env.get("PVX_FUZZ") === "full" ? 5000 : 200 },
  );
});

Deno.test("a transaction keeps reading a node as it was when first touched", () => {
  // Xen's own test-xenstore "ta err" case
  const store = new XenStore();
  store.write("/s/v", "a");
  const c = memoryConnection(store, 0, true);
  const tx = start(c);
  strictEqual(fromUtf8(c.call(XS_READ, nulStrings("/s/v"), tx)[0].payload), "a");
  store.write("/s/v", "b");
  strictEqual(fromUtf8(c.call(XS_READ, nulStrings("/s/v"), tx)[0].payload), "a");
  c.call(XS_WRITE, wp("/s/v", "c"), tx);
  strictEqual(fromUtf8(c.call(XS_READ, nulStrings("/s/v"), tx)[0].payload), "c");
  strictEqual(err(c.call(XS_TRANSACTION_END, nulStrings("T"), tx)), "EAGAIN");
  strictEqual(store.read("/s/v"), "b");
});
