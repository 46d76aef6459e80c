/**
 * Recordings for the replay tests and bench: blkback and netback driven by the TypeScript
 * frontends on a fake host, each backend through a RecordingHost.
 * @module
 */
import { AutoDrainHost } from "../../lib/blkfront/testing.ts";
import { Blkback } from "../../lib/blkfront/backend.ts";
import { MemoryDiskImage } from "../../lib/blkfront/disk_image.ts";
import { Blkfront } from "../../lib/blkfront/frontend.ts";
import { writeVbdLayout } from "../../lib/blkfront/xenbus.ts";
import { FakeDeviceHost, MemStore } from "../../lib/hypervisor/backend/testing_host.ts";
import { MemoryRecordingSink, RingRecorder } from "../../lib/replay/recording_host.ts";
import { Netback } from "../../lib/netfront/backend.ts";
import { Netfront } from "../../lib/netfront/frontend.ts";
import { HOST_IP, HostResponder } from "../../lib/netfront/responder.ts";
import { VirtualSwitch } from "../../lib/netfront/switch.ts";
import { writeVifLayout } from "../../lib/netfront/xenbus.ts";
import { defaultMac } from "../../lib/toolstack/vif_spec.ts";
import { ConsoleBackend } from "../../lib/console/backend.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { XenconsRing } from "../../lib/console/protocol.ts";
import { buildArp, buildIpv4, buildUdp, IPPROTO_UDP, parseIp } from "../../lib/netfront/packets.ts";

/** A deterministic disk image pattern. */
export function diskPattern(sectors: number): Uint8Array {
  const d = new Uint8Array(sectors * 512);
  let x = 12345;
  for (let i = 0; i < d.length; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    d[i] = x & 0xff;
    d[i + 1] = (x >>> 8) & 0xff;
  }
  return d;
}

/**
 * Records a vbd session: connect, `ops` mixed reads and writes (some multi-page and
 * indirect), a flush.
 * @returns the recording's bytes and the final disk contents
 */
export async function recordBlk(ops = 24): Promise<{ bytes: Uint8Array; disk: Uint8Array }> {
  const host = new AutoDrainHost(4096);
  const guest = host.addGuest(1, 8);
  const disk = diskPattern(2048);
  const out = new MemoryRecordingSink();
  const rec = new RingRecorder(out.sink, { test: "blk" });
  writeVbdLayout(host.store, {
    domid: 1,
    devid: 51712,
    vdev: "xvda",
    params: "mem",
    readonly: false,
  });
  const rh = await rec.stream(host, {
    name: "vbd-51712",
    kind: "vbd",
    domid: 1,
    devid: 51712,
    vdev: "xvda",
  }, disk);
  const image = new MemoryDiskImage(disk.slice());
  const be = new Blkback(rh, { domid: 1, devid: 51712, vdev: "xvda", image });
  const fe = new Blkfront(guest, host.store, { devid: 51712, maxSegments: 32 });
  await fe.connect();
  for (let i = 0; i < ops; i++) {
    const sector = (i * 37) % 1900;
    if (i % 3 === 0) {
      const data = new Uint8Array(512 * (8 * (1 + (i % 5))));
      data.fill(i + 1);
      await fe.write(sector, data);
    } else {
      await fe.read(sector, 8 * (1 + (i % 6)));
    }
  }
  await fe.flush();
  await be.idle();
  return { bytes: out.bytes(), disk: image.bytes };
}

/** Records a vif session: ARP and UDP echo to the host responder, `packets` frames. */
export async function recordNet(packets = 16): Promise<Uint8Array> {
  const store = new MemStore();
  const host = new FakeDeviceHost(4096, store);
  const g = host.addGuest(1, 8);
  const sw = new VirtualSwitch();
  new HostResponder(sw);
  const out = new MemoryRecordingSink();
  const rec = new RingRecorder(out.sink, { test: "net" });
  const mac = defaultMac(1, 0);
  writeVifLayout(store, { domid: 1, devid: 0, mac, bridge: sw.name });
  const rh = await rec.stream(host, {
    name: "vif-0",
    kind: "vif",
    domid: 1,
    devid: 0,
    responder: true,
  });
  const nb = new Netback(rh, sw, { domid: 1, devid: 0 });
  nb.start();
  const front = new Netfront(g, store, 0, true);
  front.connect();
  host.drain();
  const myIp = parseIp("10.0.0.2")!;
  const hostIp = parseIp(HOST_IP)!;
  const hostMac = new Uint8Array([2, 0, 0, 0, 0, 1]);
  for (let i = 0; i < packets; i++) {
    const f = i % 4 === 0 ? buildArp(1, mac, myIp, new Uint8Array(6), hostIp) : buildIpv4(
      mac,
      hostMac,
      myIp,
      hostIp,
      IPPROTO_UDP,
      buildUdp(myIp, hostIp, 4000 + i, 7, new Uint8Array(20 + i * 97).fill(i)),
      i,
    );
    front.send(f);
    host.drain();
    front.poll();
    host.drain();
  }
  nb.stop();
  return out.bytes();
}

/** Records a console session: `lines` lines of guest output, notified one by one. */
export async function recordConsole(lines = 20): Promise<Uint8Array> {
  const host = new FakeDeviceHost(64);
  const g = host.addGuest(1);
  const mfn = g.allocFrame();
  const port = g.allocUnbound(() => {});
  const out = new MemoryRecordingSink();
  const rec = new RingRecorder(out.sink, { test: "console" });
  const rh = await rec.stream(host, { name: "console", kind: "console", domid: 1, mfn, port });
  const sink = new MemorySink();
  new ConsoleBackend(rh, 1, mfn, port, sink);
  const ring = new XenconsRing(g.frame(mfn));
  const enc = new TextEncoder();
  for (let i = 0; i < lines; i++) {
    ring.guestWrite(enc.encode(`line ${i}: ${"x".repeat(i * 7)}\r\n`));
    g.notify(port);
    host.drain();
  }
  return out.bytes();
}
