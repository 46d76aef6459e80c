/**
 * Issue 9's last acceptance: two pvx-guests in one `pvx boot --domain A.cfg --domain B.cfg`
 * ping each other over their vifs (guest cmdline ip=, ping=, netserve=), and the capture
 * shows the ARP exchange and the ICMP echoes between the two guests.
 * @module
 */
import { HAVE_TSHARK, needs } from "../_tools.ts";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { readPcap } from "../../lib/netfront/pcap.ts";
import { formatMac } from "../../lib/netfront/protocol.ts";
import { be16, IPPROTO_ICMP, parseArp, parseIp, parseIpv4 } from "../../lib/netfront/packets.ts";

const GUEST = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;
const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const dec = new TextDecoder();
/** The MACs pvx gives vif 0 of domids 1 and 2 when the config names none. */
const MAC_1 = "00:16:3e:00:01:00", MAC_2 = "00:16:3e:00:02:00";

const cfg = (name: string, extra: string) =>
  `name = "${name}"\nkernel = "${GUEST}"\nmemory = 16\nextra = "${extra}"\nvif = [ 'bridge=xenbr0' ]\n`;

interface Run {
  code: number;
  out: string;
  err: string;
  pcap: Uint8Array;
}

/** `deno run -A cli.ts boot --domain ... --net-pcap X` with config files written to a temp dir. */
async function bootDomains(files: Record<string, string>): Promise<Run> {
  const dir = await Deno.makeTempDir({ prefix: "pvx-ping-" });
  try {
    const args = ["run", "-A", CLI, "boot"];
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      args.push("--domain", `${dir}/${name}`);
    }
    args.push("--net-pcap", `${dir}/x.pcap`);
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const pcap = await Deno.readFile(`${dir}/x.pcap`).catch(() => new Uint8Array(0));
    return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr), pcap };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** tshark's one-line summaries of a capture. */
async function tshark(pcap: Uint8Array): Promise<string> {
  const f = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(f, pcap);
    const r = await new Deno.Command("tshark", {
      args: ["-r", f],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    strictEqual(r.code, 0, dec.decode(r.stderr));
    return dec.decode(r.stdout);
  } finally {
    await Deno.remove(f);
  }
}

/** A domain's console lines (its prefix removed). */
function consoleOf(out: string, name: string): string[] {
  const pre = `${name} | `;
  return out.split("\n").filter((l) => l.startsWith(pre)).map((l) => l.slice(pre.length));
}

/** ICMP echo frames in a capture: [type, src, dst, seq, src MAC, dst MAC]. */
function echoes(pcap: Uint8Array): [number, number, number, number, string, string][] {
  const out: [number, number, number, number, string, string][] = [];
  for (const { frame } of readPcap(pcap)) {
    const v = parseIpv4(frame);
    if (v?.proto !== IPPROTO_ICMP) continue;
    out.push([
      frame[v.l4],
      v.src,
      v.dst,
      be16(frame, v.l4 + 6),
      formatMac(frame, 6),
      formatMac(frame, 0),
    ]);
  }
  return out;
}

const IP_2 = parseIp("10.0.0.2")!, IP_3 = parseIp("10.0.0.3")!;

Deno.test("pvx boot --domain A --domain B: B pings A (ip=, ping=, netserve=) and tshark sees it", async (t) => {
  const r = await bootDomains({
    "a.cfg": cfg("a", "ip=10.0.0.3 netserve=3"),
    "b.cfg": cfg("b", "ip=10.0.0.2 ping=10.0.0.3,3"),
  });
  strictEqual(r.code, 0, r.out + r.err);
  const a = consoleOf(r.out, "a"), b = consoleOf(r.out, "b");
  ok(a.includes(`netfront: device/vif/0, mac ${MAC_1}, ip 10.0.0.3`), a.join("\n"));
  ok(b.includes(`netfront: device/vif/0, mac ${MAC_2}, ip 10.0.0.2`), b.join("\n"));
  const replies = b.filter((l) => /^40 bytes from 10\.0\.0\.3: icmp_seq=\d+ time=\d+ us$/.test(l));
  deepStrictEqual(replies.map((l) => l.match(/icmp_seq=(\d+)/)![1]), ["1", "2", "3"], b.join("\n"));
  ok(b.includes("ping: 3 of 3 replies"), b.join("\n"));
  ok(a.includes("netserve: answered 3 echo requests, 1 ARP requests"), a.join("\n"));
  ok(r.err.includes("pvx: a: powered off") && r.err.includes("pvx: b: powered off"), r.err);

  // the capture: B's ARP request (repeated while A is still booting: B's ARP timeout is
  // 200 ms of guest time) answered by A itself, then three echoes straight between them
  const arps = readPcap(r.pcap).map((x) => parseArp(x.frame)).filter((x) => x !== undefined)
    .map((x) => [x.op, formatMac(x.senderMac), x.senderIp, x.targetIp]);
  ok(arps.length >= 2, JSON.stringify(arps));
  for (const x of arps.slice(0, -1)) deepStrictEqual(x, [1, MAC_2, IP_2, IP_3]);
  deepStrictEqual(arps.at(-1), [2, MAC_1, IP_3, IP_2]);
  deepStrictEqual(echoes(r.pcap), [
    [8, IP_2, IP_3, 1, MAC_2, MAC_1],
    [0, IP_3, IP_2, 1, MAC_1, MAC_2],
    [8, IP_2, IP_3, 2, MAC_2, MAC_1],
    [0, IP_3, IP_2, 2, MAC_1, MAC_2],
    [8, IP_2, IP_3, 3, MAC_2, MAC_1],
    [0, IP_3, IP_2, 3, MAC_1, MAC_2],
  ]);
  await t.step({
    ...needs("tshark sees the ARP and the echoes", !HAVE_TSHARK && "tshark missing"),
    fn: async () => {
      const text = await tshark(r.pcap);
      for (
        const p of [
          /Xensourc_00:02:00 → Broadcast +ARP.*Who has 10\.0\.0\.3\? Tell 10\.0\.0\.2/,
          /Xensourc_00:01:00 → Xensourc_00:02:00 ARP.*10\.0\.0\.3 is at 00:16:3e:00:01:00/,
          /10\.0\.0\.2 → 10\.0\.0\.3 +ICMP.*Echo \(ping\) request.*seq=3/,
          /10\.0\.0\.3 → 10\.0\.0\.2 +ICMP.*Echo \(ping\) reply.*seq=3.*\(request in \d+\)/,
        ]
      ) ok(p.test(text), `${p} not in:\n${text}`);
      ok(!/duplicate use/i.test(text), text);
    },
  });
});

Deno.test("pvx boot --domain A --domain B: without ip= the domids give 10.0.0.2 and .3, which ping each other at once", async (t) => {
  const r = await bootDomains({
    "a.cfg": cfg("a", "ping=10.0.0.3,2 netserve=1"),
    "b.cfg": cfg("b", "ping=10.0.0.2,2 netserve=1"),
  });
  strictEqual(r.code, 0, r.out + r.err);
  const a = consoleOf(r.out, "a"), b = consoleOf(r.out, "b");
  ok(a.includes(`netfront: device/vif/0, mac ${MAC_1}, ip 10.0.0.2`), a.join("\n"));
  ok(b.includes(`netfront: device/vif/0, mac ${MAC_2}, ip 10.0.0.3`), b.join("\n"));
  ok(a.includes("ping: 2 of 2 replies") && b.includes("ping: 2 of 2 replies"), r.out);
  ok(a.some((l) => /^netserve: answered \d+ echo requests, 1 ARP requests$/.test(l)), r.out);
  const e = echoes(r.pcap);
  for (const [from, to] of [[IP_2, IP_3], [IP_3, IP_2]]) {
    const req = e.filter((x) => x[0] === 8 && x[1] === from && x[2] === to).map((x) => x[3]);
    const rep = e.filter((x) => x[0] === 0 && x[1] === to && x[2] === from).map((x) => x[3]);
    deepStrictEqual([req, rep], [[1, 2], [1, 2]]);
  }
  await t.step({
    ...needs("tshark sees no duplicate address", !HAVE_TSHARK && "tshark missing"),
    fn: async () => {
      const text = await tshark(r.pcap);
      ok(!/duplicate use/i.test(text), text);
    },
  });
});

Deno.test("pvx boot --domain: ping= of an address nobody has crashes the pinger (exit 1)", async () => {
  const r = await bootDomains({
    "a.cfg": cfg("a", "ip=10.0.0.3 netserve=1"),
    "b.cfg": cfg("b", "ping=10.0.0.9,1"),
  });
  strictEqual(r.code, 1, r.out + r.err);
  ok(consoleOf(r.out, "b").includes("ping: no ARP reply for the way to 10.0.0.9"), r.out);
  ok(r.err.includes("pvx: b: crashed") && r.err.includes("pvx: a: powered off"), r.err);
  // 25 tries, then it gave up; nobody answered
  const arps = readPcap(r.pcap).map((x) => parseArp(x.frame)).filter((x) => x !== undefined);
  strictEqual(arps.filter((x) => x.op === 1 && x.targetIp === parseIp("10.0.0.9")).length, 25);
  strictEqual(arps.filter((x) => x.op === 2).length, 0);
});
