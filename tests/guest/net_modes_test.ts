/**
 * The guest's network command line on one domain with a vif (`pvx boot --net`): ip=,
 * ping=IP[,COUNT] and netserve=SECONDS, their bad values, and the shell's `ping 10.0.0.1`.
 * @module
 */
import assert, { deepStrictEqual } from "node:assert/strict";
import fc from "fast-check";
import { boot as run } from "../../lib/toolstack/boot.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { readPcap } from "../../lib/netfront/pcap.ts";
import { IPPROTO_ICMP, parseArp, parseIp, parseIpv4 } from "../../lib/netfront/packets.ts";

const IMAGE = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;
const RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 200 : 12;

/** Boots the guest alone with one vif on xenbr0; its console, log, exit code and capture. */
async function boot(
  cmdline: string,
  input = "",
): Promise<{ code: number; text: string; frames: Uint8Array[] }> {
  const dir = await Deno.makeTempDir({ prefix: "pvx-net-" });
  try {
    const sink = new MemorySink(1 << 20, 1 << 18);
    if (input) sink.type(input);
    const log: string[] = [];
    const code = await run({
      image: IMAGE,
      cmdline,
      console: sink,
      noReboot: true,
      nets: ["bridge=xenbr0"],
      netPcap: `${dir}/x.pcap`,
      maxInstructions: 500_000_000,
      log: (l) => log.push(l),
    });
    await sink.close();
    const pcap = await Deno.readFile(`${dir}/x.pcap`).catch(() => new Uint8Array(0));
    const frames = pcap.length ? readPcap(pcap).map((x) => x.frame) : [];
    return { code, text: sink.text() + log.join("\n"), frames };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the shell's ping 10.0.0.1 gets 4 replies on a lone domain's vif", async () => {
  const { code, text, frames } = await boot("", "ping 10.0.0.1\npoweroff\n");
  deepStrictEqual(
    text.match(/^40 bytes from 10\.0\.0\.1: icmp_seq=\d time=\d+ us$/gm)?.length,
    4,
    text,
  );
  assert(text.includes("ping: 4 replies"), text);
  assert(text.includes("netfront: device/vif/0, mac 00:16:3e:00:01:00, ip 10.0.0.2"), text);
  const icmp = frames.filter((f) => parseIpv4(f)?.proto === IPPROTO_ICMP);
  deepStrictEqual(icmp.length, 8);
  deepStrictEqual(code, 0, text);
});

Deno.test("ping=10.0.0.1,2 with ip=10.0.0.77 pings from that address and powers off (exit 0)", async () => {
  const { code, text, frames } = await boot("ip=10.0.0.77 ping=10.0.0.1,2");
  assert(text.includes("ping: 10.0.0.1, 2 echo requests from 10.0.0.77"), text);
  deepStrictEqual(
    text.match(/^40 bytes from 10\.0\.0\.1: icmp_seq=[12] time=\d+ us$/gm)?.length,
    2,
  );
  assert(text.includes("ping: 2 of 2 replies"), text);
  const me = parseIp("10.0.0.77")!;
  const arp = frames.map(parseArp).find((a) => a?.op === 1);
  deepStrictEqual([arp?.senderIp, arp?.targetIp], [me, parseIp("10.0.0.1")]);
  const src = frames.map(parseIpv4).filter((v) => v?.proto === IPPROTO_ICMP).map((v) => v!.src);
  deepStrictEqual(src, [me, parseIp("10.0.0.1"), me, parseIp("10.0.0.1")]);
  deepStrictEqual(code, 0, text);
});

Deno.test("ping= off our /24 goes through 10.0.0.1, which answers only for itself: exit 1", async () => {
  const { code, text, frames } = await boot("ping=192.168.1.1,1");
  // the next hop was resolved (the host endpoint), the echo went to it unanswered
  assert(text.includes("ping: no reply to icmp_seq=1 (-3)"), text);
  assert(text.includes("ping: 0 of 1 replies"), text);
  const req = frames.map(parseIpv4).filter((v) => v?.proto === IPPROTO_ICMP);
  deepStrictEqual(req.map((v) => v!.dst), [parseIp("192.168.1.1")]);
  deepStrictEqual(code, 1, text);
});

Deno.test("netserve=1 answers for one second of guest time, then powers off", async () => {
  const { code, text } = await boot("netserve=1");
  assert(text.includes("netserve: 10.0.0.2 answers ARP and ICMP echo for 1 s"), text);
  assert(text.includes("netserve: answered 0 echo requests, 0 ARP requests"), text);
  deepStrictEqual(code, 0, text);
});

const BAD: [string, RegExp][] = [
  ["ip=10.0.0", /PANIC: ip=10\.0\.0: not a usable IPv4 address/],
  ["ip=10.0.0.256", /PANIC: ip=10\.0\.0\.256: not a usable/],
  ["ip=10.0.0.1", /PANIC: ip=10\.0\.0\.1: not a usable/],
  ["ip=0.0.0.0", /PANIC: ip=0\.0\.0\.0: not a usable/],
  ["ip=255.255.255.255", /PANIC: ip=255\.255\.255\.255: not a usable/],
  ["ip=10.0.0.2x", /PANIC: ip=10\.0\.0\.2x: not a usable/],
  ["ping=", /PANIC: ping=: want ping=IP\[,COUNT\]/],
  ["ping=10.0.0.3,", /PANIC: ping=10\.0\.0\.3,: want ping=IP\[,COUNT\] with COUNT 1\.\.1000/],
  ["ping=10.0.0.3,0", /PANIC: ping=10\.0\.0\.3,0: want/],
  ["ping=10.0.0.3,1001", /PANIC: ping=10\.0\.0\.3,1001: want/],
  ["ping=10.0.0.3;4", /PANIC: ping=10\.0\.0\.3;4: want/],
  ["netserve=0", /PANIC: netserve=0: want netserve=SECONDS, 1\.\.86400/],
  ["netserve=1s", /PANIC: netserve=1s: want netserve=SECONDS/],
];

Deno.test("bad ip=, ping= and netserve= values stop the guest with a clear message (exit 1)", async (t) => {
  for (const [cmdline, re] of BAD) {
    await t.step(cmdline, async () => {
      const { code, text } = await boot(cmdline);
      assert(re.test(text), text);
      deepStrictEqual(code, 1, text);
    });
  }
});

Deno.test("ip= takes any dotted quad of 0..255 parts but 0.0.0.0, 10.0.0.1 and 255.255.255.255 (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 299 }), { minLength: 4, maxLength: 4 }),
      async (p) => {
        const ip = p.join(".");
        const { code, text } = await boot(`ip=${ip} netserve=1`);
        const n = parseIp(ip);
        const usable = n !== undefined && n !== 0 && n !== parseIp("10.0.0.1") && n !== 0xffffffff;
        assert(usable === text.includes(`netserve: ${ip} answers`), text);
        deepStrictEqual(code, usable ? 0 : 1, text);
      },
    ),
    { numRuns: RUNS },
  );
});
