import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { HAVE_TSHARK, needs } from "../_tools.ts";
import fc from "fast-check";
import { makeNet } from "./_setup.ts";
import {
  buildArp,
  buildIcmpEcho,
  buildIpv4,
  buildUdp,
  checksumsValid,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  parseArp,
  parseIp,
  parseIpv4,
} from "../../lib/netfront/packets.ts";
import { encodeTxRequest, NETIF_RSP_ERROR, NETIF_RSP_OKAY } from "../../lib/netfront/protocol.ts";
import { PcapWriter, readPcap } from "../../lib/netfront/pcap.ts";

const fuzzRuns = Deno.env.get("PVX_FUZZ") === "full" ? 100_000 : 5_000;
const HOST = parseIp("10.0.0.1")!;
const BCAST = new Uint8Array(6).fill(255);

Deno.test("Netback completes the xenbus handshake with a netfront", () => {
  const { store, addVif } = makeNet();
  const vif = addVif(1);
  ok(vif.back.connected);
  ok(vif.front.backendConnected());
  strictEqual(store.read(`${vif.back.paths.backend}/feature-rx-copy`), "1");
});

Deno.test("Netback answers a frontend's Closing with Closing, then Closed with Closed", () => {
  const { store, host, addVif } = makeNet();
  const vif = addVif(1);
  const fe = `/local/domain/1/device/vif/0`;
  store.write(`${fe}/state`, "5"); // XenbusStateClosing
  host.drain();
  strictEqual(store.read(`${vif.back.paths.backend}/state`), "5");
  ok(!vif.back.connected);
  store.write(`${fe}/state`, "6"); // XenbusStateClosed
  host.drain();
  strictEqual(store.read(`${vif.back.paths.backend}/state`), "6");
});

Deno.test("a guest resolves and pings the host endpoint, and gets a UDP echo", () => {
  const { host, addVif, responder } = makeNet();
  const { front, mac } = addVif(1);
  const me = parseIp("10.0.0.11")!;
  front.send(buildArp(1, mac, me, BCAST, HOST));
  host.drain();
  strictEqual(front.received.length, 1);
  const arp = parseArp(front.received[0])!;
  strictEqual(arp.op, 2);
  strictEqual(arp.senderIp, HOST);
  const hostMac = arp.senderMac;
  const data = new TextEncoder().encode("pvx ping payload");
  front.send(buildIpv4(mac, hostMac, me, HOST, IPPROTO_ICMP, buildIcmpEcho(8, 7, 1, data)));
  host.drain();
  const reply = front.received[1];
  ok(checksumsValid(reply));
  const ip = parseIpv4(reply)!;
  strictEqual(reply[ip.l4], 0); // echo reply
  deepStrictEqual(reply.slice(ip.l4 + 8, ip.l4 + ip.l4len), data);
  front.send(buildIpv4(mac, hostMac, me, HOST, IPPROTO_UDP, buildUdp(me, HOST, 4000, 7, data)));
  host.drain();
  ok(checksumsValid(front.received[2]));
  strictEqual(responder.stats.udpEchoes, 1);
  ok(front.completions.every((c) => c.status === NETIF_RSP_OKAY));
  ok(host.canariesIntact());
});

Deno.test("NETTXF_csum_blank: netback fills in the UDP checksum the guest left blank", () => {
  const { host, addVif, responder } = makeNet();
  const { front, mac } = addVif(1);
  const me = parseIp("10.0.0.11")!;
  const udp = buildUdp(me, HOST, 4000, 7, new Uint8Array([1, 2, 3]));
  udp[6] = 0x12; // garbage where the checksum goes
  udp[7] = 0x34;
  front.send(buildIpv4(mac, responder.mac, me, HOST, IPPROTO_UDP, udp), { csumBlank: true });
  host.drain();
  strictEqual(responder.stats.udpEchoes, 1);
  strictEqual(responder.stats.badChecksums, 0);
});

Deno.test("two guests exchange frames through the switch, multi-page frames with sg", () => {
  const { host, addVif, sw } = makeNet();
  const a = addVif(1);
  const b = addVif(2);
  const big = new Uint8Array(9000);
  big.set(b.mac, 0);
  big.set(a.mac, 6);
  for (let i = 14; i < big.length; i++) big[i] = i & 255;
  ok(a.front.send(big));
  host.drain();
  strictEqual(b.front.received.length, 1);
  deepStrictEqual(b.front.received[0], big);
  // b answers a (a's MAC is learned now: unicast, not flooded)
  const flooded = sw.stats.flooded;
  const back = big.slice(0, 100);
  back.set(a.mac, 0);
  back.set(b.mac, 6);
  b.front.send(back);
  host.drain();
  deepStrictEqual(a.front.received[0], back);
  strictEqual(sw.stats.flooded, flooded);
});

Deno.test("pcap capture holds the ARP and ICMP exchange; tshark reads it", async (ctx) => {
  const { host, addVif, sw } = makeNet();
  const chunks: Uint8Array[] = [];
  let t = 0;
  sw.pcap = new PcapWriter((b) => chunks.push(b), () => (t += 1000));
  const { front, mac } = addVif(1);
  const me = parseIp("10.0.0.11")!;
  front.send(buildArp(1, mac, me, BCAST, HOST));
  host.drain();
  const hostMac = parseArp(front.received[0])!.senderMac;
  front.send(
    buildIpv4(mac, hostMac, me, HOST, IPPROTO_ICMP, buildIcmpEcho(8, 1, 1, new Uint8Array(8))),
  );
  host.drain();
  const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) (bytes.set(c, o), o += c.length);
  strictEqual(readPcap(bytes).length, 4);
  await ctx.step({
    ...needs("tshark reads the capture", !HAVE_TSHARK && "tshark missing"),
    fn: () => tsharkReads(bytes),
  });
});

async function tsharkReads(bytes: Uint8Array): Promise<void> {
  const f = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(f, bytes);
    const out = await new Deno.Command("tshark", {
      args: ["-r", f],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    strictEqual(out.code, 0, new TextDecoder().decode(out.stderr));
    ok(/ARP.*Who has 10\.0\.0\.1/.test(text), text);
    ok(/ARP.*10\.0\.0\.1 is at/.test(text), text);
    ok(/ICMP.*Echo \(ping\) request/.test(text), text);
    ok(/ICMP.*Echo \(ping\) reply/.test(text), text);
  } finally {
    await Deno.remove(f);
  }
}

Deno.test("Netback answers malformed packets with errors and disconnects on ring abuse", () => {
  const { host, addVif, fatal } = makeNet();
  const { front, back } = addVif(1);
  // too short (< ETH_HLEN): error response, vif stays up
  front.tx.putRequest(encodeTxRequest({ gref: 0, offset: 0, flags: 0, id: 3, size: 4 }));
  front.flush();
  host.drain();
  front.poll();
  strictEqual(front.completions.at(-1)!.status, NETIF_RSP_ERROR);
  ok(back.connected);
  // req_prod jumps far ahead: fatal, clean disconnect, reported once
  front.tx.reqProdPvt = (front.tx.reqProdPvt + 100000) >>> 0;
  front.flush();
  host.drain();
  strictEqual(back.connected, false);
  strictEqual(fatal.length, 1);
  ok(host.canariesIntact());
});

Deno.test("hostile TX requests never throw, never touch memory outside grants", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          gref: fc.oneof(fc.nat({ max: 600 }), fc.constant(0xffffffff)),
          offset: fc.nat({ max: 0xffff }),
          flags: fc.nat({ max: 0xffff }),
          id: fc.nat({ max: 0xffff }),
          size: fc.nat({ max: 0xffff }),
        }),
        { minLength: 1, maxLength: 24 },
      ),
      fc.integer({ min: -3, max: 300 }),
      (reqs, prodSkew) => {
        const { host, addVif } = makeNet(1024);
        const { front } = addVif(1);
        for (const r of reqs) front.tx.putRequest(encodeTxRequest(r));
        front.tx.reqProdPvt = (front.tx.reqProdPvt + (prodSkew > 290 ? prodSkew * 1000 : 0)) >>> 0;
        front.flush();
        host.drain();
        front.poll();
        if (!host.canariesIntact()) throw new Error("backend wrote outside its grants");
      },
    ),
    { numRuns: Math.ceil(fuzzRuns / 20) },
  );
});

Deno.test("attachVifs() starts a vif per spec on per-bridge switches with a host endpoint", async () => {
  const { FakeDeviceHost, MemStore } = await import("../../lib/hypervisor/backend/testing_host.ts");
  const { attachVifs, detachVifs, Network } = await import("../../lib/toolstack/vif_attach.ts");
  const store = new MemStore();
  const host = new FakeDeviceHost(256, store);
  host.addGuest(3);
  const net = new Network();
  const vifs = attachVifs(host, net, 3, ["mac=00:16:3e:00:00:42,bridge=br1", ""]);
  strictEqual(vifs.length, 2);
  deepStrictEqual([...net.switches.keys()].sort(), ["br1", "xenbr0"]);
  strictEqual(store.read("/local/domain/3/device/vif/0/mac"), "00:16:3e:00:00:42");
  strictEqual(store.read("/local/domain/0/backend/vif/3/1/state"), "2");
  detachVifs(vifs);
  strictEqual(net.bridge("br1").portCount, 1); // only the host endpoint remains
});
