/**
 * A 32-bit and a 64-bit domain on one network: pvx's own 32-bit guest (guest/pvx-guest.elf,
 * "xen-3.0-x86_32p") and 64-bit guest (guest/pvx-guest64.elf, "xen-3.0-x86_64") booted
 * together from the xl configs in tests/toolstack/mixed_net/ (`pvx boot --domain a64.cfg
 * --domain b32.cfg --net-pcap F`), their vifs on the bridge xenbr0. One pings the other
 * through the virtual switch, in both directions (the 64-bit one pinging the 32-bit one
 * from configs derived from the same files); the capture must show the ARP exchange and
 * every echo between the two vifs' MACs, read by pvx's pcap reader and by tshark (that
 * step is ignored, with the reason, when tshark is missing).
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { HAVE_TSHARK, needs } from "../_tools.ts";
import { readPcap } from "../../lib/netfront/pcap.ts";
import { formatMac } from "../../lib/netfront/protocol.ts";
import { be16, IPPROTO_ICMP, parseArp, parseIp, parseIpv4 } from "../../lib/netfront/packets.ts";

const DIR = new URL("./mixed_net/", import.meta.url).pathname;
const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const dec = new TextDecoder();
/** The MACs the configs give the two vifs. */
const MAC_64 = "00:16:3e:00:00:03", MAC_32 = "00:16:3e:00:00:02";
const IP_64 = parseIp("10.0.0.3")!, IP_32 = parseIp("10.0.0.2")!;

interface Run {
  code: number;
  out: string;
  err: string;
  pcap: Uint8Array;
}

/** `pvx boot --domain ... --net-pcap X`, each config given by path. */
async function boot(configs: string[]): Promise<Run> {
  const pcapFile = await Deno.makeTempFile({ prefix: "pvx-mixed-", suffix: ".pcap" });
  try {
    const args = ["run", "-A", CLI, "boot"];
    for (const c of configs) args.push("--domain", c);
    args.push("--net-pcap", pcapFile);
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const pcap = await Deno.readFile(pcapFile).catch(() => new Uint8Array(0));
    return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr), pcap };
  } finally {
    await Deno.remove(pcapFile);
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

/**
 * Checks one run where `pinger` (name, ip, mac) pinged `server` three times: both
 * consoles, then the capture (ARP answered by the server itself, three echoes straight
 * between the two vifs), then tshark's reading of it.
 */
async function checkRun(
  t: Deno.TestContext,
  r: Run,
  pinger: { name: string; ip: number; mac: string; ipText: string },
  server: { name: string; ip: number; mac: string; ipText: string },
): Promise<void> {
  const all = r.out + r.err;
  strictEqual(r.code, 0, all);
  const p = consoleOf(r.out, pinger.name), s = consoleOf(r.out, server.name);
  const booting = (name: string) =>
    consoleOf(r.out, name).find((l) => l.startsWith("pvx-guest: booting ("));
  ok(booting("a64")?.startsWith("pvx-guest: booting (xen-3.0-x86_64)"), all);
  ok(booting("b32")?.startsWith("pvx-guest: booting (xen-3.0-x86_32p)"), all);
  ok(p.includes(`netfront: device/vif/0, mac ${pinger.mac}, ip ${pinger.ipText}`), p.join("\n"));
  ok(s.includes(`netfront: device/vif/0, mac ${server.mac}, ip ${server.ipText}`), s.join("\n"));
  ok(p.includes("ping: 3 of 3 replies"), p.join("\n"));
  ok(s.some((l) => /^netserve: answered 3 echo requests, 1 ARP requests$/.test(l)), s.join("\n"));
  ok(r.err.includes(`pvx: ${pinger.name}: powered off`), r.err);
  ok(r.err.includes(`pvx: ${server.name}: powered off`), r.err);

  // (the pinger's ARP request repeats while the server is still booting)
  const arps = readPcap(r.pcap).map((x) => parseArp(x.frame)).filter((x) => x !== undefined)
    .map((x) => [x.op, formatMac(x.senderMac), x.senderIp, x.targetIp]);
  ok(arps.length >= 2, JSON.stringify(arps));
  for (const x of arps.slice(0, -1)) deepStrictEqual(x, [1, pinger.mac, pinger.ip, server.ip]);
  deepStrictEqual(arps.at(-1), [2, server.mac, server.ip, pinger.ip]);
  const want: [number, number, number, number, string, string][] = [];
  for (let seq = 1; seq <= 3; seq++) {
    want.push([8, pinger.ip, server.ip, seq, pinger.mac, server.mac]);
    want.push([0, server.ip, pinger.ip, seq, server.mac, pinger.mac]);
  }
  deepStrictEqual(echoes(r.pcap), want);

  await t.step({
    ...needs("tshark reads the ARP exchange and the echoes", !HAVE_TSHARK && "tshark missing"),
    fn: async () => {
      const text = await tshark(r.pcap);
      const m = (mac: string) => `Xensourc_${mac.slice(9)}`;
      const esc = (x: string) => x.replaceAll(".", "\\.");
      const [pi, si] = [esc(pinger.ipText), esc(server.ipText)];
      const lines = text.split("\n");
      const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
      ok(
        new RegExp(`${m(pinger.mac)} → Broadcast +ARP.*Who has ${si}\\? Tell ${pi}`).test(text),
        text,
      );
      ok(
        new RegExp(`${m(server.mac)} → ${m(pinger.mac)} ARP.*${si} is at ${server.mac}`).test(text),
        text,
      );
      strictEqual(count(new RegExp(`${pi} → ${si} +ICMP.*Echo \\(ping\\) request`)), 3, text);
      strictEqual(
        count(new RegExp(`${si} → ${pi} +ICMP.*Echo \\(ping\\) reply.*\\(request in \\d+\\)`)),
        3,
        text,
      );
      ok(!/duplicate use|malformed/i.test(text), text);
    },
  });
}

const H64 = { name: "a64", ip: IP_64, mac: MAC_64, ipText: "10.0.0.3" };
const H32 = { name: "b32", ip: IP_32, mac: MAC_32, ipText: "10.0.0.2" };

Deno.test("xl configs: the 32-bit guest pings the 64-bit guest through the switch (pcap, tshark)", async (t) => {
  const r = await boot([`${DIR}a64.cfg`, `${DIR}b32.cfg`]);
  await checkRun(t, r, H32, H64);
});

Deno.test("xl configs: the 64-bit guest pings the 32-bit guest through the switch (pcap, tshark)", async (t) => {
  // the same configs with the roles swapped (the kernel paths made absolute)
  const dir = await Deno.makeTempDir({ prefix: "pvx-mixed-" });
  try {
    const swap = (file: string, extra: string) =>
      Deno.readTextFileSync(`${DIR}${file}`)
        .replace(/^kernel = "(.*)"$/m, (_, k: string) =>
          `kernel = "${new URL(k, `file://${DIR}`).pathname}"`)
        .replace(/^extra = ".*"$/m, `extra = "${extra}"`);
    await Deno.writeTextFile(`${dir}/a64.cfg`, swap("a64.cfg", "ip=10.0.0.3 ping=10.0.0.2,3"));
    await Deno.writeTextFile(`${dir}/b32.cfg`, swap("b32.cfg", "ip=10.0.0.2 netserve=3"));
    const r = await boot([`${dir}/b32.cfg`, `${dir}/a64.cfg`]);
    await checkRun(t, r, H64, H32);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
