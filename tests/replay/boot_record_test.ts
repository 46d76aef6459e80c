/**
 * Acceptance: a real boot of pvx's own guest with a disk and a vif, its vbd and vif
 * backends recorded through RingRecording, replays with zero divergences.
 * @module
 */
import assert from "node:assert/strict";
import { run as boot } from "../../tools/boot.ts";
import type { AttachedDevices } from "../../tools/boot.ts";
import { type ReplayReport, run as replay } from "../../tools/replay.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { openDisks, startVbds } from "../../lib/blkfront/attach.ts";
import { VirtualSwitch } from "../../lib/netfront/switch.ts";
import { HostResponder } from "../../lib/netfront/responder.ts";
import { Netback } from "../../lib/netfront/backend.ts";
import { writeVifLayout } from "../../lib/netfront/xenbus.ts";
import { writeVbdLayout } from "../../lib/blkfront/xenbus.ts";
import { openRingRecording } from "../../lib/hypervisor/io/recording_boot.ts";
import type { Machine } from "../../lib/hypervisor/machine.ts";

const IMAGE = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;

Deno.test("a recorded selftest boot with a disk and a vif replays with zero divergences", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pvx-bootrec-" });
  try {
    const img = new Uint8Array(1 << 20);
    for (let i = 0; i < img.length; i++) img[i] = (i * 31 + (i >> 9)) & 0xff;
    await Deno.writeFile(`${dir}/disk.img`, img);
    const disks = await openDisks([`${dir}/disk.img`]);
    const rec = openRingRecording(`${dir}/boot.rec`, { image: "pvx-guest.elf" });
    const sink = new MemorySink(1 << 20, 1 << 18);
    const code = await boot({
      image: IMAGE,
      cmdline: "selftest",
      console: sink,
      noReboot: true,
      maxInstructions: 2_000_000_000,
      log: () => {},
      onMachine: async (m: Machine, dev: AttachedDevices) => {
        const domid = m.domain.domid;
        const d = disks[0];
        const vbdHost = await rec.vbd(dev.deviceHost, domid, {
          devid: d.spec.devid,
          vdev: d.spec.vdev,
          readonly: d.spec.readonly,
          discard: d.spec.discard,
          image: d.image,
        });
        // the toolstack's nodes go to the real store: only the backend is recorded
        writeVbdLayout(dev.store, {
          domid,
          devid: d.spec.devid,
          vdev: d.spec.vdev,
          params: d.spec.target,
          readonly: d.spec.readonly,
        });
        startVbds(vbdHost, domid, disks, { writeLayout: false });
        const sw = new VirtualSwitch();
        new HostResponder(sw);
        writeVifLayout(dev.store, {
          domid,
          devid: 0,
          mac: new Uint8Array([0x00, 0x16, 0x3e, 0x00, 0x00, 0x02]),
          bridge: "xenbr0",
        });
        new Netback(await rec.vif(dev.deviceHost, domid, 0, true), sw, { domid, devid: 0 }).start();
      },
    });
    rec.close();
    for (const d of disks) await d.image.close();
    await sink.close();
    const text = sink.text();
    assert.match(text, /^PASS block I\/O$/m, text);
    assert.match(text, /^PASS network I\/O$/m, text);
    void code;
    const lines: string[] = [];
    const rc = await replay({ file: `${dir}/boot.rec`, json: true, print: (l) => lines.push(l) });
    const rep: ReplayReport = JSON.parse(lines.join("\n"));
    assert.deepEqual(rep.rings.map((r) => r.ring).sort(), ["vbd-51712", "vif-0"]);
    for (const r of rep.rings) {
      assert.deepEqual(r.divergences, [], r.ring);
      assert.ok(
        r.inputs > 5 && r.compared > 10,
        `${r.ring}: ${r.inputs} inputs, ${r.compared} compared`,
      );
    }
    assert.equal(rc, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
