/**
 * netback throughput with the TypeScript netfront: guest -> guest frames through the
 * switch (TX grant copy, switching, RX grant copy), in packets/s and MB/s.
 * Run: deno bench -A bench/net_bench.ts
 */
import { FakeDeviceHost, MemStore } from "../lib/hypervisor/backend/testing_host.ts";
import { Netback } from "../lib/netfront/backend.ts";
import { Netfront } from "../lib/netfront/frontend.ts";
import { VirtualSwitch } from "../lib/netfront/switch.ts";
import { writeVifLayout } from "../lib/netfront/xenbus.ts";
import { defaultMac } from "../lib/toolstack/vif_spec.ts";

function setup() {
  const store = new MemStore();
  const host = new FakeDeviceHost(4096, store);
  const sw = new VirtualSwitch();
  const vif = (domid: number) => {
    const g = host.addGuest(domid, 8);
    const mac = defaultMac(domid, 0);
    writeVifLayout(store, { domid, devid: 0, mac, bridge: sw.name });
    new Netback(host, sw, { domid, devid: 0, rxQueueMax: 1024 }).start();
    const f = new Netfront(g, store, 0);
    f.connect();
    host.drain();
    return { f, mac };
  };
  const a = vif(1);
  const b = vif(2);
  return { host, a, b };
}

function run(size: number, packets: number, bench: Deno.BenchContext) {
  const { host, a, b } = setup();
  const frame = new Uint8Array(size);
  frame.set(b.mac, 0);
  frame.set(a.mac, 6);
  // teach the switch b's MAC so traffic is unicast
  const hello = new Uint8Array(60);
  hello.set(a.mac, 0);
  hello.set(b.mac, 6);
  b.f.send(hello);
  host.drain();
  let sent = 0;
  bench.start();
  while (sent < packets) {
    let batch = 0;
    while (batch < 64 && sent < packets && a.f.send(frame, { notify: false })) {
      batch++;
      sent++;
    }
    a.f.flush();
    host.drain();
    a.f.poll();
    b.f.received.length = 0;
  }
  bench.end();
}

const N = 20_000;
Deno.bench(`netback: ${N} x 64-byte frames guest->guest (packets/s = ${N} / time)`, (b) => {
  run(64, N, b);
});
Deno.bench(
  `netback: ${N} x 1500-byte frames guest->guest (MB/s = ${(N * 1500 / 1e6).toFixed(0)} MB / time)`,
  (b) => {
    run(1500, N, b);
  },
);
