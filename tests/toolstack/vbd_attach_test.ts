import { assertBytes } from "../blkfront/_assert.ts";
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import {
  attachDisks,
  closeDisks,
  detachDisks,
  openDisks,
  startVbds,
  stopVbds,
  toToolstackVbd,
} from "../../lib/toolstack/vbd_attach.ts";
import { FakeDeviceHost } from "../../lib/hypervisor/backend/testing_host.ts";
import { XenStore } from "../../lib/hypervisor/xenstore/store.ts";
import { writeToolstackLayout } from "../../lib/hypervisor/xenstore/toolstack_layout.ts";
import { collectDiskSpec } from "../../lib/toolstack/disk_spec.ts";
import { DiskImageError } from "../../lib/blkfront/disk_image.ts";
import { DiskSpecError } from "../../lib/toolstack/disk_spec.ts";
import { Blkfront } from "../../lib/blkfront/frontend.ts";
import { AutoDrainHost, pumpUntil } from "../../lib/blkfront/testing.ts";

async function tempImage(sectors: number, fill: number): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".img" });
  await Deno.writeFile(path, new Uint8Array(sectors * 512).fill(fill));
  return path;
}

Deno.test("attachDisks() serves each --disk, read-only and snapshot as asked", async () => {
  const a = await tempImage(64, 0xaa);
  const b = await tempImage(32, 0xbb);
  try {
    const host = new AutoDrainHost(2048);
    const guest = host.addGuest(1, 8);
    const disks = await attachDisks(host, 1, [
      `${a},xvda,snapshot`,
      `format=raw, vdev=xvdb, access=ro, target=${b}`,
    ]);
    deepStrictEqual(disks.map((d) => d.spec.devid), [51712, 51728]);
    strictEqual(host.store.read("/local/domain/1/device/vbd/51728/virtual-device"), "51728");
    strictEqual(host.store.read("/local/domain/0/backend/vbd/1/51728/params"), b);
    strictEqual(host.store.read("/local/domain/0/backend/vbd/1/51728/mode"), "r");
    const fa = new Blkfront(guest, host.store, { devid: 51712 });
    const fb = new Blkfront(guest, host.store, { devid: 51728 });
    await fa.connect();
    await fb.connect();
    strictEqual(fa.sectors, 64);
    ok(fb.readonly);
    await fa.write(0, new Uint8Array(512).fill(1));
    assertBytes(await fa.read(0, 1), new Uint8Array(512).fill(1));
    await rejects(fb.write(0, new Uint8Array(512)));
    assertBytes(await fb.read(31, 1), new Uint8Array(512).fill(0xbb));
    await detachDisks(disks);
    ok((await Deno.readFile(a)).every((x) => x === 0xaa), "snapshot left the image untouched");
  } finally {
    await Deno.remove(a);
    await Deno.remove(b);
  }
});

Deno.test("attachDisks() rejects bad specs and missing images before writing the store", async () => {
  const host = new AutoDrainHost(64);
  const a = await tempImage(8, 0);
  try {
    await rejects(attachDisks(host, 1, [`${a}`, `${a},xvda`]), DiskSpecError);
    await rejects(attachDisks(host, 1, [`${a}`, "/nonexistent.img,xvdb"]), DiskImageError);
    strictEqual(host.store.directory("/local/domain/1"), undefined);
  } finally {
    await Deno.remove(a);
  }
});

Deno.test("startVbds() serves disks laid out by writeToolstackLayout, across a reboot", async () => {
  const a = await tempImage(16, 0x11);
  try {
    const disks = await openDisks([`${a},xvdb`]);
    for (let boot = 0; boot < 2; boot++) { // a reboot builds the domain and backends again
      const store = new XenStore();
      const host = new FakeDeviceHost(256, store);
      const guest = host.addGuest(3, 4);
      writeToolstackLayout(store, {
        domid: 3,
        name: "g",
        memoryKiB: 1024,
        consolePort: 1,
        consoleMfn: 2,
        vbds: disks.map((d) => toToolstackVbd(d.spec)),
      });
      const served = startVbds(host, 3, disks, { writeLayout: false });
      const f = new Blkfront(guest, store, { devid: 51728 });
      await pumpUntil(host, f.connect());
      ok(served[0].backend.connected);
      ok((await pumpUntil(host, f.read(15, 1))).every((x) => x === 0x11));
      strictEqual(store.read("/local/domain/0/backend/vbd/3/51728/sectors"), "16");
      await pumpUntil(host, stopVbds(served));
    }
    await closeDisks(disks);
  } finally {
    await Deno.remove(a);
  }
});

Deno.test("collectDiskSpec() checks each --disk value as given and keeps them in order", () => {
  deepStrictEqual(collectDiskSpec("b.img", collectDiskSpec("a.img", [])), ["a.img", "b.img"]);
  throws(() => collectDiskSpec("a.img,format=vhd", []), DiskSpecError);
});
