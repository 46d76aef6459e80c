/**
 * Issue #18: two Debian Linux domains from xl configs ping each other through pvx's
 * virtual switch (`pvx boot --domain pair/a.cfg --domain pair/b.cfg --net-pcap F`): a.cfg's
 * Linux (10.0.0.2) pings b.cfg's (10.0.0.3) three times from its rcS (pvx.ping= on its
 * command line) and powers off; b.cfg's powers off after 60 s of its time. Checked: a's
 * console shows 3 of 3 replies, both domains power off, pvx exits 0, and the capture holds
 * the three echo requests and replies between the two vifs' MACs (pvx's pcap reader).
 * Cost: two boots in one process (about 8 G instructions, several minutes of CPU), so it
 * runs under PVX_LINUX=full; ignored with the reason otherwise, or without the fixture.
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { exists } from "../_tools.ts";
import { LINUX_DIR } from "./_session.ts";
import { readPcap } from "../../lib/netfront/pcap.ts";
import { formatMac } from "../../lib/netfront/protocol.ts";
import { be16, IPPROTO_ICMP, parseIp, parseIpv4 } from "../../lib/netfront/packets.ts";

const HAVE = ["vmlinuz", "initrd.img"].every((f) => exists(LINUX_DIR + f));
const FULL = Deno.env.get("PVX_LINUX") === "full" || Deno.env.get("PVX_FUZZ") === "full";
const DIR = new URL("./pair/", import.meta.url).pathname;
const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const MAC_A = "00:16:3e:00:00:0a", MAC_B = "00:16:3e:00:00:0b";
const IP_A = parseIp("10.0.0.2")!, IP_B = parseIp("10.0.0.3")!;

const why = !HAVE
  ? "Linux fixture missing: deno task linux"
  : !FULL
  ? "two Linux boots (~8 G instructions) run under PVX_LINUX=full"
  : undefined;

Deno.test({
  name: "linux: two Linux domains from xl configs ping each other through the switch" +
    (why ? ` (ignored: ${why})` : ""),
  ignore: why !== undefined,
  async fn() {
    const pcapFile = await Deno.makeTempFile({ prefix: "pvx-linux-pair-", suffix: ".pcap" });
    try {
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          CLI,
          "boot",
          "--domain",
          DIR + "a.cfg",
          "--domain",
          DIR + "b.cfg",
          "--net-pcap",
          pcapFile,
          "--max-instructions",
          "20000000000",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const dec = new TextDecoder();
      const out = dec.decode(r.stdout), err = dec.decode(r.stderr);
      const a = out.split("\n").filter((l) => l.startsWith("lxa | ")).join("\n");
      ok(/3 packets transmitted, 3 packets received/.test(a), a.slice(-2000) + err);
      ok(err.includes("pvx: lxa: powered off"), err);
      ok(err.includes("pvx: lxb: powered off"), err);
      strictEqual(r.code, 0, err);
      const echoes: [number, number, number, number, string, string][] = [];
      for (const { frame } of readPcap(await Deno.readFile(pcapFile))) {
        const v = parseIpv4(frame);
        if (v?.proto !== IPPROTO_ICMP) continue;
        const seq = be16(frame, v.l4 + 6);
        echoes.push([frame[v.l4], v.src, v.dst, seq, formatMac(frame, 6), formatMac(frame, 0)]);
      }
      // (busybox's ping numbers its echoes from 0)
      const want: [number, number, number, number, string, string][] = [];
      for (let seq = 0; seq < 3; seq++) {
        want.push([8, IP_A, IP_B, seq, MAC_A, MAC_B]);
        want.push([0, IP_B, IP_A, seq, MAC_B, MAC_A]);
      }
      deepStrictEqual(echoes, want);
    } finally {
      await Deno.remove(pcapFile);
    }
  },
});
