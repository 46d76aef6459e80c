/**
 * A vbd whose image is too large to embed is recorded by size and SHA-256; `pvx replay
 * --disk NAME=PATH` checks the file and serves it through a snapshot, never writing it.
 * @module
 */
import assert from "node:assert/strict";
import { AutoDrainHost } from "../../lib/blkfront/testing.ts";
import { Blkback } from "../../lib/blkfront/backend.ts";
import { MemoryDiskImage } from "../../lib/blkfront/disk_image.ts";
import { Blkfront } from "../../lib/blkfront/frontend.ts";
import { writeVbdLayout } from "../../lib/blkfront/xenbus.ts";
import { MemoryRecordingSink } from "../../lib/replay/recording_host.ts";
import { RingRecording } from "../../lib/replay/recording_boot.ts";
import { parseRecording } from "../../lib/replay/recording_format.ts";
import { InputError, UsageError } from "../../lib/errors.ts";
import { replayRecording as run } from "../../lib/toolstack/replay.ts";
import { diskPattern } from "./_rigs.ts";

Deno.test("pvx replay --disk serves a hashed (not embedded) image through a snapshot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pvx-replay-disk-" });
  try {
    const initial = diskPattern(256);
    await Deno.writeFile(`${dir}/disk.img`, initial);
    const host = new AutoDrainHost(1024);
    const guest = host.addGuest(1, 4);
    const out = new MemoryRecordingSink();
    const rec = new RingRecording(out.sink, () => {});
    writeVbdLayout(host.store, {
      domid: 1,
      devid: 51712,
      vdev: "xvda",
      params: "x",
      readonly: false,
    });
    const image = new MemoryDiskImage(initial.slice());
    const vbdHost = await rec.vbd(host, 1, { devid: 51712, vdev: "xvda", image, inlineLimit: 0 });
    const be = new Blkback(vbdHost, { domid: 1, devid: 51712, vdev: "xvda", image });
    const fe = new Blkfront(guest, host.store, { devid: 51712 });
    await fe.connect();
    await fe.write(8, new Uint8Array(4096).fill(0x5a));
    assert.deepEqual(await fe.read(8, 8), new Uint8Array(4096).fill(0x5a));
    await be.idle();
    const file = `${dir}/vbd.rec`;
    await Deno.writeFile(file, out.bytes());
    const parsed = parseRecording(await Deno.readFile(file));
    assert.equal(parsed.disks.size, 0);
    assert.equal(parsed.streams.get(1)?.diskBytes, initial.length);
    assert.match(parsed.streams.get(1)?.diskSha256 ?? "", /^[0-9a-f]{64}$/);
    const quiet = () => {};
    await assert.rejects(() => run({ file, print: quiet }), UsageError);
    await Deno.writeFile(`${dir}/other.img`, new Uint8Array(initial.length));
    await assert.rejects(
      () => run({ file, print: quiet, disks: [`vbd-51712=${dir}/other.img`] }),
      (e) =>
        e instanceof InputError && /is not the image "vbd-51712" was recorded with/.test(e.message),
    );
    assert.equal(await run({ file, print: quiet, disks: [`vbd-51712=${dir}/disk.img`] }), 0);
    assert.deepEqual(await Deno.readFile(`${dir}/disk.img`), initial); // never written
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
