import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { serveXenstoreSocket } from "../../../lib/toolstack/xenstore_socket.ts";
import { connectXsSocket } from "./_socket.ts";
import { makeXenstoreRig, payloadStrings } from "../../../lib/hypervisor/xenstore/testing.ts";
import { writeToolstackLayout } from "../../../lib/hypervisor/xenstore/toolstack_layout.ts";
import {
  encodeMessage,
  fromUtf8,
  nulStrings,
  XS_ERROR,
  XS_READ,
  XS_WATCH,
  XS_WATCH_EVENT,
} from "../../../lib/hypervisor/xenstore/wire.ts";

const CLIENTS = ["xenstore-ls", "xenstore-read", "xenstore-write", "xenstore-watch"];
const haveClients = CLIENTS.every((c) => {
  try {
    return Deno.statSync(`/usr/bin/${c}`).isFile;
  } catch {
    return false;
  }
});
if (!haveClients) {
  console.warn(
    "skipping the real-client XenStore tests: xenstore-utils is not installed " +
      "(apt-get install xenstore-utils)",
  );
}

function sockPath(): string {
  return Deno.makeTempDirSync({ prefix: "pvx-xs-" }) + "/xenstored.sock";
}

async function xs(sock: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(args[0], {
    args: args.slice(1),
    env: { XENSTORED_PATH: sock },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout) };
}

function guestRig() {
  const rig = makeXenstoreRig(1);
  writeToolstackLayout(rig.store, {
    domid: 1,
    name: "pvx-guest",
    memoryKiB: 131072,
    consolePort: 2,
    consoleMfn: 77,
    storePort: 1,
    storeMfn: 76,
    vbds: [{ vdev: "xvda", params: "/tmp/disk.img" }],
    vifs: [{ devid: 0, mac: "00:16:3e:00:00:01" }],
  });
  return rig;
}

Deno.test({
  name: "xenstore-ls shows the tree pvx built for the domain",
  ignore: !haveClients,
  async fn() {
    const rig = guestRig();
    const sock = sockPath();
    const srv = await serveXenstoreSocket(rig.store, sock);
    try {
      const { code, out } = await xs(sock, "xenstore-ls", "/local/domain/1");
      strictEqual(code, 0);
      ok(out.includes('name = "pvx-guest"'), out);
      ok(/\n\s*target = "131072"/.test(out), out);
      ok(/\n\s*ring-ref = "77"/.test(out), out);
      ok(/\n\s*51712 = ""/.test(out), out);
      ok(out.includes('backend = "/local/domain/0/backend/vbd/1/51712"'), out);
      const perms = await xs(sock, "xenstore-ls", "-p", "/local/domain/0/backend/vbd/1");
      ok(/51712 = "" [ .]*\(n0,r1\)/.test(perms.out), perms.out);
    } finally {
      await srv.close();
    }
  },
});

Deno.test({
  name: "xenstore-write from a real client is seen by a watch on the guest ring",
  ignore: !haveClients,
  async fn() {
    const rig = guestRig();
    const sock = sockPath();
    const srv = await serveXenstoreSocket(rig.store, sock);
    try {
      const first = rig.call(XS_WATCH, nulStrings("data/greeting", "g-tok"));
      deepStrictEqual(first.map((m) => m.type), [XS_WATCH, XS_WATCH_EVENT]);
      const w = await xs(sock, "xenstore-write", "/local/domain/1/data/greeting", "hello guest");
      strictEqual(w.code, 0);
      rig.run();
      const ev = rig.ring.receive();
      deepStrictEqual(ev.map(payloadStrings), [["data/greeting", "g-tok"]]);
      const [r] = rig.call(XS_READ, nulStrings("data/greeting"));
      strictEqual(fromUtf8(r.payload), "hello guest");
      const back = await xs(sock, "xenstore-read", "/local/domain/1/data/greeting");
      strictEqual(back.out, "hello guest\n");
      const missing = await xs(sock, "xenstore-read", "/local/domain/1/nothing");
      strictEqual(missing.code, 1);
    } finally {
      await srv.close();
    }
  },
});

Deno.test({
  name: "xenstore-watch reports a change made by the guest through its ring",
  ignore: !haveClients,
  async fn() {
    const rig = guestRig();
    const sock = sockPath();
    const srv = await serveXenstoreSocket(rig.store, sock);
    try {
      const child = new Deno.Command("xenstore-watch", {
        args: ["-n", "2", "/local/domain/1/device/vbd/51712/state"],
        env: { XENSTORED_PATH: sock },
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      strictEqual(text, "/local/domain/1/device/vbd/51712/state\n");
      // the guest's frontend moves to Initialised through its own ring
      const w = rig.call(
        11,
        new Uint8Array([...new TextEncoder().encode("device/vbd/51712/state"), 0, 0x33]),
      );
      deepStrictEqual(payloadStrings(w[0]), ["OK"]);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      strictEqual((await child.status).code, 0);
      strictEqual(
        text,
        "/local/domain/1/device/vbd/51712/state\n/local/domain/1/device/vbd/51712/state\n",
      );
    } finally {
      await srv.close();
    }
  },
});

Deno.test("serveXenstoreSocket drops a client that sends an oversized message", async () => {
  const rig = guestRig();
  const sock = sockPath();
  const srv = await serveXenstoreSocket(rig.store, sock);
  try {
    const bad = await connectXsSocket(sock);
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setUint32(12, 100000, true);
    await bad.writeRaw(hdr);
    strictEqual(await bad.next(), null);
    bad.close();
    const good = await connectXsSocket(sock);
    const r = await good.call(XS_READ, nulStrings("/local/domain/1/name"));
    strictEqual(fromUtf8(r!.payload), "pvx-guest");
    const e = await good.call(0x1234, nulStrings("x"));
    strictEqual(e!.type, XS_ERROR);
    deepStrictEqual(payloadStrings(e!), ["EINVAL"]);
    good.close();
  } finally {
    await srv.close();
  }
});

Deno.test("serveXenstoreSocket survives truncated messages and abrupt disconnects", async () => {
  const rig = guestRig();
  const sock = sockPath();
  const srv = await serveXenstoreSocket(rig.store, sock);
  try {
    for (let i = 0; i < 5; i++) {
      const c = await connectXsSocket(sock);
      await c.writeRaw(encodeMessage(XS_READ, 1, 0, nulStrings("/local")).subarray(0, 7 + i));
      c.close();
    }
    const c = await connectXsSocket(sock);
    const many = [];
    for (let i = 0; i < 50; i++) many.push(encodeMessage(XS_READ, i, 0, nulStrings("/tool")));
    const all = new Uint8Array(many.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of many) {
      all.set(b, o);
      o += b.length;
    }
    await c.writeRaw(all);
    for (let i = 0; i < 50; i++) strictEqual((await c.next())!.reqId, i);
    c.close();
  } finally {
    await srv.close();
  }
});

Deno.test("serveXenstoreSocket refuses a path that is a regular file", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/f`, "x");
  const rig = guestRig();
  let msg = "";
  try {
    await serveXenstoreSocket(rig.store, `${dir}/f`);
  } catch (e) {
    msg = (e as Error).message;
  }
  ok(msg.includes("exists"), msg);
});

const TEST_XENSTORE = "/usr/lib/xen-4.17/bin/test-xenstore";
const haveTestXenstore = (() => {
  try {
    return Deno.statSync(TEST_XENSTORE).isFile;
  } catch {
    return false;
  }
})();
if (!haveTestXenstore) {
  console.warn(`skipping Xen's test-xenstore conformance run: ${TEST_XENSTORE} is absent`);
}

Deno.test({
  name: "Xen's own test-xenstore passes against serveXenstoreSocket",
  ignore: !haveTestXenstore,
  async fn() {
    const rig = guestRig();
    const sock = sockPath();
    const srv = await serveXenstoreSocket(rig.store, sock);
    try {
      const iters = Deno.env.get("PVX_FUZZ") === "full" ? "50" : "3";
      const { code, out } = await xs(sock, TEST_XENSTORE, "-i", iters);
      strictEqual(code, 0, out);
      ok(!out.includes("failed"), out);
      for (const t of ["read 2000", "rm dir", "ta rmw x", "ta err"]) ok(out.includes(t), out);
      // it cleans up after itself
      strictEqual(rig.store.read("/local/domain/0/xenstore-test"), undefined);
    } finally {
      await srv.close();
    }
  },
});

Deno.test("serveXenstoreSocket keeps serving others while a client floods without reading", async () => {
  const rig = guestRig();
  rig.store.write("/big", "b".repeat(4000));
  const sock = sockPath();
  const srv = await serveXenstoreSocket(rig.store, sock);
  try {
    const flood = await connectXsSocket(sock);
    const req = encodeMessage(XS_READ, 1, 0, nulStrings("/big"));
    const burst = new Uint8Array(req.length * 200);
    for (let i = 0; i < 200; i++) burst.set(req, i * req.length);
    // 200 requests for 4 KiB replies, never read: the server pauses this client only
    void flood.writeRaw(burst).catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    const other = await connectXsSocket(sock);
    strictEqual(fromUtf8((await other.call(XS_READ, nulStrings("/tool")))!.payload), "");
    other.close();
    flood.close();
    await new Promise((r) => setTimeout(r, 20));
    strictEqual(srv.clients, 0, "the flooding client was let go once it disconnected");
  } finally {
    await srv.close();
  }
});

Deno.test({
  name: "xenstore-list falls back to DIRECTORY_PART for a directory over 4 KiB",
  ignore: !haveClients,
  async fn() {
    const rig = guestRig();
    const names: string[] = [];
    for (let i = 0; i < 400; i++) {
      names.push(`a-rather-long-child-name-${i}`);
      rig.store.write(`/many/a-rather-long-child-name-${i}`, "");
    }
    const sock = sockPath();
    const srv = await serveXenstoreSocket(rig.store, sock);
    try {
      const { code, out } = await xs(sock, "xenstore-list", "/many");
      strictEqual(code, 0);
      deepStrictEqual(out.trim().split("\n"), names);
    } finally {
      await srv.close();
    }
  },
});
