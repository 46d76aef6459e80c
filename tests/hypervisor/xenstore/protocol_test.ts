import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { XenStore } from "../../../lib/hypervisor/xenstore/store.ts";
import { memoryConnection, payloadStrings } from "../../../lib/hypervisor/xenstore/testing.ts";
import {
  fromUtf8,
  nulStrings,
  utf8,
  XENSTORE_PAYLOAD_MAX,
  XS_CONTROL,
  XS_DIRECTORY,
  XS_DIRECTORY_PART,
  XS_ERROR,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_MKDIR,
  XS_READ,
  XS_RELEASE,
  XS_RESET_WATCHES,
  XS_RESUME,
  XS_RM,
  XS_SET_PERMS,
  XS_SET_TARGET,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_TYPE_COUNT,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  type XsMessage,
} from "../../../lib/hypervisor/xenstore/wire.ts";

function writePayload(path: string, value: string): Uint8Array {
  const p = utf8(path);
  const v = utf8(value);
  const out = new Uint8Array(p.length + 1 + v.length);
  out.set(p);
  out.set(v, p.length + 1);
  return out;
}

function errorOf(msgs: XsMessage[]): string | undefined {
  const m = msgs.find((x) => x.type === XS_ERROR);
  return m ? payloadStrings(m)[0] : undefined;
}

function setup() {
  const store = new XenStore();
  store.mkdir("/local/domain/1");
  store.setPerms("/local/domain/1", ["n1"]);
  store.write("/local/domain/0/secret", "s3");
  const dom0 = memoryConnection(store, 0, true);
  const guest = memoryConnection(store, 1, false);
  return { store, dom0, guest };
}

Deno.test("XS_WRITE and XS_READ store and return a value, echoing req_id and tx_id", () => {
  const { dom0 } = setup();
  const [w] = dom0.call(XS_WRITE, writePayload("/a/b", "v\0with nul"));
  strictEqual(w.type, XS_WRITE);
  deepStrictEqual(payloadStrings(w), ["OK"]);
  const [r] = dom0.call(XS_READ, nulStrings("/a/b"));
  strictEqual(r.type, XS_READ);
  strictEqual(r.reqId, 2);
  deepStrictEqual([...r.payload], [...utf8("v\0with nul")]);
});

Deno.test("XS_READ of a relative path reads under /local/domain/<id>", () => {
  const { guest, store } = setup();
  store.write("/local/domain/1/name", "g");
  const [r] = guest.call(XS_READ, nulStrings("name"));
  strictEqual(fromUtf8(r.payload), "g");
});

Deno.test("XS_READ of a missing node gives ENOENT; of a malformed payload EINVAL", () => {
  const { dom0 } = setup();
  strictEqual(errorOf(dom0.call(XS_READ, nulStrings("/nope"))), "ENOENT");
  strictEqual(errorOf(dom0.call(XS_READ, utf8("/no-nul"))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_READ, nulStrings("/a", "b"))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_READ, new Uint8Array(0))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_WRITE, utf8("/no-separator"))), "EINVAL");
});

Deno.test("path traversal, bad characters and over-long paths give EINVAL", () => {
  const { guest, dom0 } = setup();
  for (
    const p of [
      "/local/domain/1/../../x",
      "../0/secret",
      "/a//b",
      "/a/",
      "",
      "/a b",
      "/a/@b",
      "/" + "x".repeat(3100),
      "y".repeat(2100),
    ]
  ) {
    strictEqual(errorOf(guest.call(XS_READ, nulStrings(p))), "EINVAL", p);
    strictEqual(errorOf(dom0.call(XS_WRITE, writePayload(p, "x"))), "EINVAL", p);
  }
});

Deno.test("XS_MKDIR creates a node and its parents and leaves an existing value", () => {
  const { dom0, store } = setup();
  store.write("/k", "keep");
  deepStrictEqual(payloadStrings(dom0.call(XS_MKDIR, nulStrings("/k"))[0]), ["OK"]);
  strictEqual(store.read("/k"), "keep");
  dom0.call(XS_MKDIR, nulStrings("/m/n/o"));
  strictEqual(store.read("/m/n/o"), "");
  strictEqual(store.read("/m/n"), "");
});

Deno.test("XS_RM removes a subtree; absent node OK, absent parent ENOENT, / EINVAL", () => {
  const { dom0, store } = setup();
  store.write("/t/a/b", "1");
  store.write("/t/c", "2");
  deepStrictEqual(payloadStrings(dom0.call(XS_RM, nulStrings("/t/a"))[0]), ["OK"]);
  strictEqual(store.read("/t/a/b"), undefined);
  deepStrictEqual(store.directory("/t"), ["c"]);
  deepStrictEqual(payloadStrings(dom0.call(XS_RM, nulStrings("/t/zz"))[0]), ["OK"]);
  strictEqual(errorOf(dom0.call(XS_RM, nulStrings("/t/zz/yy"))), "ENOENT");
  strictEqual(errorOf(dom0.call(XS_RM, nulStrings("/"))), "EINVAL");
});

Deno.test("XS_DIRECTORY lists children in creation order; E2BIG past the payload limit", () => {
  const { dom0, store } = setup();
  store.write("/d/b", "");
  store.write("/d/a", "");
  deepStrictEqual(payloadStrings(dom0.call(XS_DIRECTORY, nulStrings("/d"))[0]), ["b", "a"]);
  for (let i = 0; i < 300; i++) store.write(`/big/child-number-${i}`, "");
  strictEqual(errorOf(dom0.call(XS_DIRECTORY, nulStrings("/big"))), "E2BIG");
});

Deno.test("XS_DIRECTORY_PART returns the whole list in parts with a generation", () => {
  const { dom0, store } = setup();
  const names: string[] = [];
  for (let i = 0; i < 300; i++) {
    names.push(`child-number-${i}`);
    store.write(`/big/child-number-${i}`, "");
  }
  const got: string[] = [];
  let offset = 0;
  let gen = "";
  for (let round = 0; round < 10; round++) {
    const [m] = dom0.call(XS_DIRECTORY_PART, nulStrings("/big", String(offset)));
    strictEqual(m.type, XS_DIRECTORY_PART);
    ok(m.payload.length <= XENSTORE_PAYLOAD_MAX);
    const parts = payloadStrings(m);
    if (gen) strictEqual(parts[0], gen);
    gen = parts[0];
    const kids = parts.slice(1);
    const done = kids.length > 0 && kids[kids.length - 1] === "";
    const real = done ? kids.slice(0, -1) : kids;
    got.push(...real);
    offset += real.reduce((n, k) => n + k.length + 1, 0);
    if (done) break;
  }
  deepStrictEqual(got, names);
  strictEqual(errorOf(dom0.call(XS_DIRECTORY_PART, nulStrings("/big", "999999"))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_DIRECTORY_PART, nulStrings("/big", "x"))), "EINVAL");
});

Deno.test("XS_GET_PERMS and XS_SET_PERMS round-trip xenstored's letters", () => {
  const { dom0, store } = setup();
  store.write("/p", "");
  deepStrictEqual(
    payloadStrings(dom0.call(XS_SET_PERMS, nulStrings("/p", "n3", "r1", "w2", "b4"))[0]),
    ["OK"],
  );
  deepStrictEqual(payloadStrings(dom0.call(XS_GET_PERMS, nulStrings("/p"))[0]), [
    "n3",
    "r1",
    "w2",
    "b4",
  ]);
  strictEqual(errorOf(dom0.call(XS_SET_PERMS, nulStrings("/p", "x1"))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_SET_PERMS, nulStrings("/p"))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_SET_PERMS, nulStrings("/p", "r99999"))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_GET_PERMS, nulStrings("/nope"))), "ENOENT");
  deepStrictEqual(payloadStrings(dom0.call(XS_GET_PERMS, nulStrings("@releaseDomain"))[0]), [
    "n0",
  ]);
});

Deno.test("an unprivileged connection gets EACCES for others' nodes and EPERM changing owner", () => {
  const { guest, store } = setup();
  strictEqual(errorOf(guest.call(XS_READ, nulStrings("/local/domain/0/secret"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_WRITE, writePayload("/local/domain/0/x", "1"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_RM, nulStrings("/local/domain/0/secret"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_DIRECTORY, nulStrings("/local/domain/0"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_SET_PERMS, nulStrings("/local/domain/0", "b1"))), "EACCES");
  strictEqual(
    errorOf(guest.call(XS_READ, nulStrings("/local/domain/0/not-there"))),
    "EACCES",
    "absence under an unreadable node is not revealed",
  );
  guest.call(XS_WRITE, writePayload("mine", "1"));
  deepStrictEqual(store.getPerms("/local/domain/1/mine"), ["n1"]);
  strictEqual(errorOf(guest.call(XS_SET_PERMS, nulStrings("mine", "n2"))), "EPERM");
  deepStrictEqual(payloadStrings(guest.call(XS_SET_PERMS, nulStrings("mine", "n1", "r2"))[0]), [
    "OK",
  ]);
  store.setPerms("/local/domain/0/secret", ["n0", "r1"]);
  strictEqual(fromUtf8(guest.call(XS_READ, nulStrings("/local/domain/0/secret"))[0].payload), "s3");
  strictEqual(errorOf(guest.call(XS_WRITE, writePayload("/local/domain/0/secret", "x"))), "EACCES");
});

Deno.test("privileged-only messages give EACCES to a guest", () => {
  const { guest } = setup();
  strictEqual(errorOf(guest.call(XS_INTRODUCE, nulStrings("2", "100", "3"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_RELEASE, nulStrings("2"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_IS_DOMAIN_INTRODUCED, nulStrings("1"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_RESUME, nulStrings("1"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_SET_TARGET, nulStrings("1", "2"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_CONTROL, nulStrings("print", "x"))), "EACCES");
  strictEqual(errorOf(guest.call(XS_SET_PERMS, nulStrings("@releaseDomain", "r1"))), "EACCES");
});

Deno.test("XS_INTRODUCE, IS_DOMAIN_INTRODUCED, RESUME and RELEASE track domains", () => {
  const { dom0, store } = setup();
  const events: string[] = [];
  store.watch("@introduceDomain", (p) => events.push(p));
  store.watch("@releaseDomain", (p) => events.push(p));
  deepStrictEqual(payloadStrings(dom0.call(XS_IS_DOMAIN_INTRODUCED, nulStrings("5"))[0]), ["F"]);
  deepStrictEqual(payloadStrings(dom0.call(XS_IS_DOMAIN_INTRODUCED, nulStrings("0"))[0]), ["T"]);
  deepStrictEqual(payloadStrings(dom0.call(XS_INTRODUCE, nulStrings("5", "4660", "7"))[0]), ["OK"]);
  deepStrictEqual(payloadStrings(dom0.call(XS_IS_DOMAIN_INTRODUCED, nulStrings("5"))[0]), ["T"]);
  strictEqual(errorOf(dom0.call(XS_INTRODUCE, nulStrings("5", "9999", "7"))), "EEXIST");
  strictEqual(errorOf(dom0.call(XS_INTRODUCE, nulStrings("0", "1", "1"))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_INTRODUCE, nulStrings("32752", "1", "1"))), "EINVAL");
  strictEqual(errorOf(dom0.call(XS_INTRODUCE, nulStrings("5", "1"))), "EINVAL");
  deepStrictEqual(payloadStrings(dom0.call(XS_RESUME, nulStrings("5"))[0]), ["OK"]);
  store.introduceDomain(1, 10, 1);
  deepStrictEqual(payloadStrings(dom0.call(XS_SET_TARGET, nulStrings("5", "1"))[0]), ["OK"]);
  strictEqual(errorOf(dom0.call(XS_SET_TARGET, nulStrings("5", "77"))), "ENOENT");
  deepStrictEqual(payloadStrings(dom0.call(XS_RELEASE, nulStrings("5"))[0]), ["OK"]);
  strictEqual(errorOf(dom0.call(XS_RELEASE, nulStrings("5"))), "ENOENT");
  strictEqual(errorOf(dom0.call(XS_RESUME, nulStrings("5"))), "ENOENT");
  deepStrictEqual(events, [
    "@introduceDomain",
    "@releaseDomain",
    "@introduceDomain",
    "@introduceDomain",
    "@releaseDomain",
  ]);
});

Deno.test("XS_SET_TARGET lets a domain act as owner of its target's nodes", () => {
  const { dom0, store } = setup();
  store.write("/local/domain/1/dm", "x");
  store.introduceDomain(1, 10, 1);
  store.introduceDomain(2, 11, 1);
  const dm = memoryConnection(store, 2, false);
  strictEqual(errorOf(dm.call(XS_READ, nulStrings("/local/domain/1/dm"))), "EACCES");
  dom0.call(XS_SET_TARGET, nulStrings("2", "1"));
  strictEqual(fromUtf8(dm.call(XS_READ, nulStrings("/local/domain/1/dm"))[0].payload), "x");
});

Deno.test("XS_GET_DOMAIN_PATH names /local/domain/<id>", () => {
  const { guest } = setup();
  deepStrictEqual(payloadStrings(guest.call(XS_GET_DOMAIN_PATH, nulStrings("7"))[0]), [
    "/local/domain/7",
  ]);
  strictEqual(errorOf(guest.call(XS_GET_DOMAIN_PATH, nulStrings("-1"))), "EINVAL");
});

Deno.test("XS_WATCH fires once at once, then on changes below; XS_UNWATCH stops it", () => {
  const { guest, store } = setup();
  const first = guest.call(XS_WATCH, nulStrings("device", "tok"));
  deepStrictEqual(first.map((m) => m.type), [XS_WATCH, XS_WATCH_EVENT]);
  deepStrictEqual(payloadStrings(first[1]), ["device", "tok"]);
  strictEqual(first[1].reqId, 0);
  store.write("/local/domain/1/device/vbd/51712/state", "1");
  const ev = guest.inbox.splice(0);
  deepStrictEqual(ev.map(payloadStrings), [["device/vbd/51712/state", "tok"]]);
  store.write("/local/domain/1/other", "1");
  strictEqual(guest.inbox.length, 0);
  strictEqual(errorOf(guest.call(XS_WATCH, nulStrings("device", "tok"))), "EEXIST");
  deepStrictEqual(payloadStrings(guest.call(XS_UNWATCH, nulStrings("device", "tok"))[0]), ["OK"]);
  strictEqual(errorOf(guest.call(XS_UNWATCH, nulStrings("device", "tok"))), "ENOENT");
  store.write("/local/domain/1/device/x", "1");
  strictEqual(guest.inbox.length, 0);
});

Deno.test("XS_RESET_WATCHES drops the caller's watches and transactions", () => {
  const { guest, store } = setup();
  guest.call(XS_WATCH, nulStrings("/local/domain/1", "t"));
  const tx = Number(payloadStrings(guest.call(XS_TRANSACTION_START, nulStrings(""))[0])[0]);
  deepStrictEqual(payloadStrings(guest.call(XS_RESET_WATCHES, new Uint8Array(0))[0]), ["OK"]);
  store.write("/local/domain/1/x", "1");
  strictEqual(guest.inbox.length, 0);
  strictEqual(errorOf(guest.call(XS_TRANSACTION_END, nulStrings("T"), tx)), "ENOENT");
});

Deno.test("XS_CONTROL answers known commands and refuses unknown ones", () => {
  const { dom0 } = setup();
  deepStrictEqual(payloadStrings(dom0.call(XS_CONTROL, nulStrings("print", "hi"))[0]), ["OK"]);
  ok(fromUtf8(dom0.call(XS_CONTROL, nulStrings("help"))[0].payload).includes("print"));
  strictEqual(errorOf(dom0.call(XS_CONTROL, nulStrings("explode"))), "EINVAL");
});

Deno.test("server-only and unknown message types give EINVAL", () => {
  const { dom0, guest } = setup();
  for (const t of [XS_WATCH_EVENT, XS_ERROR, 20, XS_TYPE_COUNT, 0xffff, 0xffffffff]) {
    strictEqual(errorOf(dom0.call(t, nulStrings("/x"))), "EINVAL", `type ${t}`);
    strictEqual(errorOf(guest.call(t, nulStrings("/x"))), "EINVAL", `type ${t}`);
  }
});

Deno.test("quotas: watches E2BIG, transactions and nodes ENOSPC, entry size ENOSPC", () => {
  const store = new XenStore({
    quotas: { watchesPerDomain: 2, transactionsPerConn: 1, nodesPerDomain: 5, maxEntrySize: 16 },
  });
  store.mkdir("/local/domain/1");
  store.setPerms("/local/domain/1", ["n1"]);
  const g = memoryConnection(store, 1, false);
  g.call(XS_WATCH, nulStrings("a", "1"));
  g.call(XS_WATCH, nulStrings("b", "1"));
  strictEqual(errorOf(g.call(XS_WATCH, nulStrings("c", "1"))), "E2BIG");
  g.call(XS_TRANSACTION_START, nulStrings(""));
  strictEqual(errorOf(g.call(XS_TRANSACTION_START, nulStrings(""))), "ENOSPC");
  strictEqual(errorOf(g.call(XS_WRITE, writePayload("big", "x".repeat(17)))), "ENOSPC");
  deepStrictEqual(payloadStrings(g.call(XS_WRITE, writePayload("n/o/p", "x"))[0]), ["OK"]);
  strictEqual(errorOf(g.call(XS_WRITE, writePayload("q/r/s", "x"))), "ENOSPC");
  strictEqual(store.read("/local/domain/1/q"), undefined, "nothing created on a quota error");
  const d0 = memoryConnection(store, 0, true);
  deepStrictEqual(payloadStrings(d0.call(XS_WRITE, writePayload("/big", "x".repeat(100)))[0]), [
    "OK",
  ]);
});

Deno.test("a value too big for one reply gives E2BIG instead of breaking the payload limit", () => {
  const { dom0, store } = setup();
  store.write("/huge", "h".repeat(5000));
  strictEqual(errorOf(dom0.call(XS_READ, nulStrings("/huge"))), "E2BIG");
});
