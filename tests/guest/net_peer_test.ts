/**
 * The guest's IPv4 stack against a hostile peer on its switch: a TypeScript port sends
 * malformed frames (bad checksums, lengths, versions, fragments, other addresses, junk)
 * between valid ARP and ICMP echo requests; the guest (ping= then netserve=) answers every
 * valid request exactly, answers nothing else, and powers off cleanly.
 * @module
 */
import assert, { deepStrictEqual } from "node:assert/strict";
import fc from "fast-check";
import { boot as run } from "../../lib/toolstack/boot.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { type SwitchPort, VirtualSwitch } from "../../lib/netfront/switch.ts";
import { HostResponder } from "../../lib/netfront/responder.ts";
import { Netback } from "../../lib/netfront/backend.ts";
import { writeVifLayout } from "../../lib/netfront/xenbus.ts";
import {
  be16,
  buildArp,
  buildIcmpEcho,
  buildIpv4,
  csumFold,
  csumPartial,
  IPPROTO_ICMP,
  parseArp,
  parseIp,
  parseIpv4,
} from "../../lib/netfront/packets.ts";

const IMAGE = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;
const FULL = Deno.env.get("PVX_FUZZ") === "full";
const PROBES = FULL ? 20_000 : 600;
const GUEST_MAC = new Uint8Array([0x00, 0x16, 0x3e, 0x00, 0x00, 0x02]);
const GUEST_IP = parseIp("10.0.0.2")!;
const PEER_MAC = new Uint8Array([0x02, 0x00, 0x00, 0x00, 0x00, 0x99]);
const PEER_IP = parseIp("10.0.0.50")!;

/** A valid request the guest must answer: an echo (seq, data) or an ARP request. */
type Probe = { kind: "echo"; seq: number; data: Uint8Array } | { kind: "arp" };

function echoRequest(seq: number, data: Uint8Array): Uint8Array {
  return buildIpv4(
    PEER_MAC,
    GUEST_MAC,
    PEER_IP,
    GUEST_IP,
    IPPROTO_ICMP,
    buildIcmpEcho(8, 0x4242, seq, data),
  );
}

/** Refreshes the IPv4 header checksum of an echo frame after an edit. */
function reIpSum(f: Uint8Array): Uint8Array {
  f[24] = f[25] = 0;
  const ihl = Math.max(20, (f[14] & 15) * 4);
  const s = csumFold(csumPartial(f, 14, Math.min(ihl, f.length - 14)));
  f[24] = s >> 8, f[25] = s & 255;
  return f;
}

/** Frames the guest must not answer, each built from a valid echo request. */
const BAD_FRAMES: ((f: Uint8Array, r: number) => Uint8Array)[] = [
  (f, r) => (f[24] ^= 1 + (r & 0x7f), f), // IPv4 header checksum
  (f, r) => (f[36] ^= 1 + (r & 0x7f), f), // ICMP checksum
  (f, r) => (f[16] = 0x05, f[17] = 0xdd + (r & 15), reIpSum(f)), // total length past the frame
  (f) => (f[20] = 0x20, reIpSum(f)), // more fragments
  (f, r) => (f[21] = 1 + (r % 255), reIpSum(f)), // a fragment offset (1..255)
  (f, r) => (f[33] = 99 + (r & 63), reIpSum(f)), // another destination
  (f) => (f[14] = 0x44, reIpSum(f)), // IHL 4
  (f) => (f[14] = 0x65, reIpSum(f)), // version 6
  (f) => (f[16] = 0, f[17] = 19, reIpSum(f)), // total length below the header
  (f, r) => f.slice(0, 14 + (r % 20)), // truncated in the IPv4 header
  (f, r) => { // an ICMP type other than echo request (checksum right)
    f[34] = [0, 3, 13, 17][r & 3];
    f[36] = f[37] = 0;
    const s = csumFold(csumPartial(f, 34, f.length - 34));
    f[36] = s >> 8, f[37] = s & 255;
    return f;
  },
  (_f, r) => buildArp(1, PEER_MAC, PEER_IP, new Uint8Array(6), parseIp(`10.0.0.${60 + (r & 63)}`)!),
  (_f) => { // ARP request for us with a wrong hardware length
    const a = buildArp(1, PEER_MAC, PEER_IP, new Uint8Array(6), GUEST_IP);
    a[18] = 8;
    return a;
  },
  (_f) => buildArp(2, PEER_MAC, PEER_IP, GUEST_MAC, parseIp("10.0.0.3")!), // reply not for us
  (f, r) => { // junk after an Ethernet header
    const j = new Uint8Array(14 + (r % 300));
    j.set(f.subarray(0, 12));
    for (let i = 12; i < j.length; i++) j[i] = (r * 2654435761 + i * 40503) >>> 24;
    if (j[12] === 8 && (j[13] === 0 || j[13] === 6)) j[13] = 0x99;
    return j;
  },
];

/** The peer: waits for the guest's first frame, then sends bad frames and one probe per round. */
class Peer implements SwitchPort {
  readonly name = "peer";
  readonly #sw: VirtualSwitch;
  readonly #port: number;
  readonly #rounds: { bad: Uint8Array[]; probe: Probe }[];
  #next = 0;
  started = false;
  answered = 0;
  /** Frames from the guest to the peer that answer nothing expected. */
  readonly unexpected: string[] = [];

  constructor(sw: VirtualSwitch, rounds: { bad: Uint8Array[]; probe: Probe }[]) {
    this.#sw = sw;
    this.#port = sw.attach(this);
    this.#rounds = rounds;
  }

  deliver(f: Uint8Array): void {
    if (!this.started) {
      this.started = true;
      this.#send();
      return;
    }
    const toPeer = f.subarray(0, 6).every((b, i) => b === PEER_MAC[i]);
    if (!toPeer) return;
    const want = this.#rounds[this.#next - 1]?.probe;
    if (want && this.#answers(f, want)) {
      this.answered++;
      this.#send();
    } else this.unexpected.push(`${this.#next}: ${[...f.subarray(0, 42)].join(",")}`);
  }

  #answers(f: Uint8Array, p: Probe): boolean {
    if (p.kind === "arp") {
      const a = parseArp(f);
      return a?.op === 2 && a.senderIp === GUEST_IP && a.targetIp === PEER_IP;
    }
    const v = parseIpv4(f);
    if (!v || v.proto !== IPPROTO_ICMP || v.src !== GUEST_IP || v.dst !== PEER_IP) return false;
    const icmp = f.subarray(v.l4, v.l4 + v.l4len);
    return icmp[0] === 0 && be16(icmp, 4) === 0x4242 && be16(icmp, 6) === p.seq &&
      csumFold(csumPartial(icmp, 0, icmp.length)) === 0 &&
      icmp.subarray(8).every((b, i) => b === p.data[i]) && icmp.length === 8 + p.data.length;
  }

  #send(): void {
    const round = this.#rounds[this.#next++];
    if (!round) return;
    for (const b of round.bad) this.#sw.send(this.#port, b);
    const p = round.probe;
    this.#sw.send(
      this.#port,
      p.kind === "arp"
        ? buildArp(1, PEER_MAC, PEER_IP, new Uint8Array(6), GUEST_IP)
        : echoRequest(p.seq, p.data),
    );
  }
}

const round = fc.record({
  bad: fc.array(
    fc.tuple(fc.nat(BAD_FRAMES.length - 1), fc.nat(), fc.uint8Array({ maxLength: 64 })),
    { maxLength: 3 },
  ),
  arp: fc.boolean(),
  data: fc.uint8Array({ maxLength: 1400 }),
});

Deno.test(`the guest answers exactly the ${PROBES} valid ARP and echo requests among malformed frames`, async () => {
  const rounds = fc.sample(round, { numRuns: PROBES, seed: 0x9e7 }).map((r, i) => ({
    bad: r.bad.map(([k, x, d]) => BAD_FRAMES[k](echoRequest(i + 1, d), x)),
    probe: (r.arp ? { kind: "arp" } : { kind: "echo", seq: i + 1, data: r.data }) as Probe,
  }));
  let peer: Peer | undefined;
  const sink = new MemorySink(1 << 20, 1 << 18);
  const log: string[] = [];
  const code = await run({
    image: IMAGE,
    cmdline: `ping=10.0.0.1,1 netserve=${FULL ? 120 : 5}`,
    console: sink,
    noReboot: true,
    maxInstructions: 4_000_000_000,
    log: (l) => log.push(l),
    onMachine: (m, dev) => {
      const sw = new VirtualSwitch();
      new HostResponder(sw);
      peer = new Peer(sw, rounds);
      const domid = m.domain.domid;
      writeVifLayout(dev.store, { domid, devid: 0, mac: GUEST_MAC, bridge: "xenbr0" });
      new Netback(dev.deviceHost, sw, { domid, devid: 0 }).start();
    },
  });
  await sink.close();
  const text = sink.text() + log.join("\n");
  assert(peer?.started, text);
  deepStrictEqual(peer.unexpected, [], "the guest answered a malformed frame");
  deepStrictEqual(peer.answered, PROBES, text);
  assert(text.includes("ping: 1 of 1 replies"), text);
  assert(/netserve: answered \d+ echo requests, \d+ ARP requests/.test(text), text);
  deepStrictEqual(code, 0, text);
});
