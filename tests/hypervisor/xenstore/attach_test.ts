import { ok, rejects, strictEqual } from "node:assert/strict";
import { attachXenstore } from "../../../lib/hypervisor/xenstore/attach.ts";
import { XenStore } from "../../../lib/hypervisor/xenstore/store.ts";
import { serveXenstoreSocket } from "../../../lib/toolstack/xenstore_socket.ts";
import { connectXsSocket } from "./_socket.ts";
import { fromUtf8, nulStrings, XS_READ } from "../../../lib/hypervisor/xenstore/wire.ts";
import { FakeDeviceHost } from "../../../lib/hypervisor/backend/testing_host.ts";
import { InputError } from "../../../lib/errors.ts";

function setup() {
  const store = new XenStore();
  const host = new FakeDeviceHost(32, store);
  const g = host.addGuest(1);
  const storeMfn = g.allocFrame();
  const storePort = g.allocUnbound();
  const spec = {
    domid: 1,
    name: "att",
    memoryKiB: 1024,
    consolePort: 9,
    consoleMfn: 99,
    storeMfn,
    storePort,
  };
  return { store, host, spec };
}

Deno.test("attachXenstore() writes the layout, opens the ring and serves the socket", async () => {
  const { store, host, spec } = setup();
  const path = Deno.makeTempDirSync() + "/xs.sock";
  const xs = await attachXenstore(host, store, spec, {
    serve: (s) => serveXenstoreSocket(s, path),
  });
  ok(store.isIntroduced(1));
  strictEqual(store.read("/local/domain/1/store/ring-ref"), String(spec.storeMfn));
  const c = await connectXsSocket(path);
  strictEqual(
    fromUtf8((await c.call(XS_READ, nulStrings("/local/domain/1/name")))!.payload),
    "att",
  );
  c.close();
  await xs.detach();
  ok(!store.isIntroduced(1));
  let gone = false;
  try {
    Deno.statSync(path);
  } catch {
    gone = true;
  }
  ok(gone, "socket file removed");
});

Deno.test("attachXenstore() reports an unusable socket path as InputError and releases", async () => {
  const { store, host, spec } = setup();
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/f`, "");
  await rejects(
    attachXenstore(host, store, spec, {
      serve: (s) => serveXenstoreSocket(s, `${dir}/f`),
    }),
    InputError,
  );
  ok(!store.isIntroduced(1));
});
