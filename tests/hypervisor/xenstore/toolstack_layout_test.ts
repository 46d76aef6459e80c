import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { XenStore } from "../../../lib/hypervisor/xenstore/store.ts";
import { memoryConnection, payloadStrings } from "../../../lib/hypervisor/xenstore/testing.ts";
import {
  vdevToDevid,
  writeToolstackLayout,
} from "../../../lib/hypervisor/xenstore/toolstack_layout.ts";
import {
  readXenbusState,
  writeXenbusState,
  XenbusStateConnected,
  XenbusStateInitialising,
  XenbusStateUnknown,
} from "../../../lib/hypervisor/xenstore/xenbus.ts";
import {
  nulStrings,
  utf8,
  XS_ERROR,
  XS_READ,
  XS_WRITE,
} from "../../../lib/hypervisor/xenstore/wire.ts";

function layout() {
  const store = new XenStore();
  writeToolstackLayout(store, {
    domid: 3,
    name: "g",
    memoryKiB: 65536,
    consolePort: 2,
    consoleMfn: 0x1234,
    storePort: 1,
    storeMfn: 0x1233,
    vbds: [{ vdev: "xvda", params: "/d.img", mode: "r" }],
    vifs: [{ devid: 0, mac: "00:16:3e:01:02:03" }],
  });
  return store;
}

Deno.test("vdevToDevid() follows Linux's xvd numbering", () => {
  strictEqual(vdevToDevid("xvda"), 51712);
  strictEqual(vdevToDevid("xvdb"), 51728);
  strictEqual(vdevToDevid("xvda1"), 51713);
  strictEqual(vdevToDevid("xvdq"), (1 << 28) | (16 << 8));
  strictEqual(vdevToDevid("768"), 768);
  strictEqual(vdevToDevid("floppy"), -1);
});

Deno.test("writeToolstackLayout() writes libxl's PV domU nodes", () => {
  const s = layout();
  strictEqual(s.read("/local/domain/3/name"), "g");
  strictEqual(s.read("/local/domain/3/domid"), "3");
  strictEqual(s.read("/local/domain/3/memory/target"), "65536");
  strictEqual(s.read("/local/domain/3/console/ring-ref"), String(0x1234));
  strictEqual(s.read("/local/domain/3/console/port"), "2");
  strictEqual(s.read("/local/domain/3/store/ring-ref"), String(0x1233));
  strictEqual(
    s.read("/local/domain/3/device/vbd/51712/backend"),
    "/local/domain/0/backend/vbd/3/51712",
  );
  strictEqual(s.read("/local/domain/0/backend/vbd/3/51712/params"), "/d.img");
  strictEqual(s.read("/local/domain/0/backend/vbd/3/51712/mode"), "r");
  strictEqual(s.read("/local/domain/3/device/vif/0/mac"), "00:16:3e:01:02:03");
  strictEqual(s.read("/local/domain/0/backend/vif/3/0/frontend-id"), "3");
  strictEqual(readXenbusState(s, "/local/domain/3/device/vbd/51712"), XenbusStateInitialising);
  strictEqual(readXenbusState(s, "/local/domain/0/backend/vif/3/0"), XenbusStateInitialising);
  deepStrictEqual(s.getPerms("/local/domain/3"), ["n0", "r3"]);
  deepStrictEqual(s.getPerms("/local/domain/3/device/vbd/51712"), ["n3", "r0"]);
  deepStrictEqual(s.getPerms("/local/domain/0/backend/vbd/3/51712"), ["n0", "r3"]);
  deepStrictEqual(s.getPerms("/local/domain/3/data"), ["n3"]);
});

Deno.test("the guest can read its home and backends, write its frontends, not its name", () => {
  const s = layout();
  const g = memoryConnection(s, 3, false);
  const read = (p: string) => g.call(XS_READ, nulStrings(p))[0];
  const write = (p: string, v: string) =>
    g.call(XS_WRITE, new Uint8Array([...utf8(p), 0, ...utf8(v)]))[0];
  strictEqual(new TextDecoder().decode(read("name").payload), "g");
  strictEqual(
    new TextDecoder().decode(read("/local/domain/0/backend/vbd/3/51712/state").payload),
    "1",
  );
  strictEqual(write("device/vbd/51712/state", "3").type, XS_WRITE);
  strictEqual(write("data/x", "1").type, XS_WRITE);
  strictEqual(write("control/shutdown", "").type, XS_WRITE);
  const denied = write("name", "evil");
  strictEqual(denied.type, XS_ERROR);
  deepStrictEqual(payloadStrings(denied), ["EACCES"]);
  const other = memoryConnection(s, 4, false);
  deepStrictEqual(payloadStrings(other.call(XS_READ, nulStrings("/local/domain/3/name"))[0]), [
    "EACCES",
  ]);
});

Deno.test("writeXenbusState() and readXenbusState() round-trip, junk reads as Unknown", () => {
  const s = new XenStore();
  writeXenbusState(s, "/x", XenbusStateConnected);
  strictEqual(readXenbusState(s, "/x"), XenbusStateConnected);
  s.write("/y/state", "banana");
  strictEqual(readXenbusState(s, "/y"), XenbusStateUnknown);
  strictEqual(readXenbusState(s, "/absent"), XenbusStateUnknown);
});

Deno.test("writeToolstackLayout() replaces a previous layout of the same domain", () => {
  const s = layout();
  s.write("/local/domain/3/stale", "1");
  writeToolstackLayout(s, { domid: 3, name: "again", memoryKiB: 1, consolePort: 1, consoleMfn: 1 });
  strictEqual(s.read("/local/domain/3/stale"), undefined);
  strictEqual(s.read("/local/domain/3/name"), "again");
});

Deno.test("StoreOps.write() gives nodes libxl's permissions without explicit setPerms", () => {
  const s = new XenStore();
  s.write("/local/domain/4/device/vif/0/mac", "m");
  s.write("/local/domain/0/backend/vif/4/0/state", "1");
  s.write("/local/domain/4/name", "n");
  deepStrictEqual(s.getPerms("/local/domain/4"), ["n0", "r4"]);
  deepStrictEqual(s.getPerms("/local/domain/4/name"), ["n0", "r4"]);
  deepStrictEqual(s.getPerms("/local/domain/4/device"), ["n0", "r4"]);
  deepStrictEqual(s.getPerms("/local/domain/4/device/vif/0/mac"), ["n4", "r0"]);
  deepStrictEqual(s.getPerms("/local/domain/0/backend/vif/4/0/state"), ["n0", "r4"]);
  deepStrictEqual(s.getPerms("/local/domain/0/backend/vif"), ["n0"]);
  const g = memoryConnection(s, 4, false);
  strictEqual(
    g.call(XS_WRITE, new Uint8Array([...utf8("device/vif/0/state"), 0, 0x34]))[0].type,
    XS_WRITE,
  );
  strictEqual(
    g.call(XS_READ, nulStrings("/local/domain/0/backend/vif/4/0/state"))[0].type,
    XS_READ,
  );
  strictEqual(g.call(XS_WRITE, new Uint8Array([...utf8("name"), 0, 0x34]))[0].type, XS_ERROR);
});
