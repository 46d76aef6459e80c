/**
 * Tests of tools/_multi_boot.ts: prefixed consoles, two domains' vifs on one network, and
 * `pvx boot --domain A.cfg --domain B.cfg` with the pvx-guest image.
 */
import { HAVE_TSHARK, needs } from "../_tools.ts";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../lib/errors.ts";
import type { ConsoleSink } from "../../lib/console/sinks.ts";
import { FakeDeviceHost, MemStore } from "../../lib/hypervisor/backend/testing_host.ts";
import { attachVifs, Network } from "../../lib/toolstack/vif_attach.ts";
import { Netfront } from "../../lib/netfront/frontend.ts";
import { PcapWriter, readPcap } from "../../lib/netfront/pcap.ts";
import { formatMac } from "../../lib/netfront/protocol.ts";
import {
  be16,
  buildArp,
  buildIcmpEcho,
  buildIpv4,
  IPPROTO_ICMP,
  parseArp,
  parseIp,
  parseIpv4,
} from "../../lib/netfront/packets.ts";
import { PrefixSink, runDomains } from "../../lib/toolstack/multi_domain.ts";
import { boot } from "../../lib/toolstack/boot.ts";
import { main } from "../../cli.ts";
import type { Machine } from "../../lib/hypervisor/machine/machine.ts";
import { decodeTrace } from "../../lib/trace/decode.ts";

const GUEST = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;
const RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 20_000 : 300;
const dec = new TextDecoder();
const enc = new TextEncoder();

/** A synchronous recording sink (the shared console). */
class Recorder implements ConsoleSink {
  readonly chunks: Uint8Array[] = [];
  readonly detached: Promise<void> = new Promise(() => {});
  backlog = 0;
  write(b: Uint8Array): boolean {
    this.chunks.push(b.slice());
    return true;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  takeInput(): Uint8Array {
    return new Uint8Array(0);
  }
  read(): Uint8Array {
    return new Uint8Array(0);
  }
  onInput(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  text(): string {
    return this.chunks.map((c) => dec.decode(c)).join("");
  }
}

Deno.test("PrefixSink prefixes each line and passes lines on whole", async () => {
  const out = new Recorder();
  const a = new PrefixSink(out, "a | ");
  const b = new PrefixSink(out, "bb| ");
  a.write(enc.encode("hel"));
  b.write(enc.encode("one\ntw"));
  a.write(enc.encode("lo\nworld\n"));
  b.write(enc.encode("o\n"));
  a.write(enc.encode("tail"));
  strictEqual(out.text(), "bb| one\na | hello\na | world\nbb| two\n");
  await a.close();
  strictEqual(out.text(), "bb| one\na | hello\na | world\nbb| two\na | tail\n");
  strictEqual(a.takeInput(10).length, 0);
});

Deno.test("PrefixSink passes on a partial line past 4 KiB and continues it unprefixed", () => {
  const out = new Recorder();
  const s = new PrefixSink(out, "p ");
  s.write(new Uint8Array(5000).fill(0x2e));
  strictEqual(out.chunks.length, 1);
  strictEqual(out.text(), "p " + ".".repeat(5000));
  s.write(enc.encode("x\ny\n"));
  strictEqual(out.text(), "p " + ".".repeat(5000) + "x\np y\n");
});

Deno.test("PrefixSink keeps each domain's bytes in order, prefixed at line starts (property)", () => {
  const chunk = fc.uint8Array({ maxLength: 40 }).map((b) =>
    b.map((x) => (x % 3 === 0 ? 10 : 97 + (x % 26)))
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), chunk), { maxLength: 30 }), (writes) => {
      const out = new Recorder();
      const sinks = [new PrefixSink(out, "<0>"), new PrefixSink(out, "<1>")];
      const sent = ["", ""];
      for (const [which, bytes] of writes) {
        sinks[+which].write(bytes);
        sent[+which] += dec.decode(bytes);
      }
      for (const s of sinks) s.close();
      // every line of the output belongs to one sink; per sink, the text is what it got
      const text = out.text();
      const got = ["", ""];
      for (const line of text.split("\n").slice(0, -1)) {
        ok(/^<[01]>/.test(line), JSON.stringify(line));
        got[+line[1]] += line.slice(3) + "\n";
      }
      for (const i of [0, 1]) {
        const want = sent[i] === "" || sent[i].endsWith("\n") ? sent[i] : sent[i] + "\n";
        strictEqual(got[i], want);
      }
    }),
    { numRuns: RUNS },
  );
});

/** A test guest's IP stack on a TS netfront: answers ARP for its IP and ICMP echo. */
function serve(front: Netfront, mac: Uint8Array, ip: number, seen: Uint8Array[]): void {
  for (const f of front.received.splice(0)) {
    seen.push(f);
    const arp = parseArp(f);
    if (arp?.op === 1 && arp.targetIp === ip) {
      front.send(buildArp(2, mac, ip, arp.senderMac, arp.senderIp));
      continue;
    }
    const v = parseIpv4(f);
    if (v?.dst === ip && v.proto === IPPROTO_ICMP && f[v.l4] === 8) {
      const echo = buildIcmpEcho(
        0,
        be16(f, v.l4 + 4),
        be16(f, v.l4 + 6),
        f.subarray(v.l4 + 8, v.l4 + v.l4len),
      );
      front.send(buildIpv4(mac, f.subarray(6, 12), ip, v.src, IPPROTO_ICMP, echo));
    }
  }
}

Deno.test("two domains on separate device hosts ping each other through one Network", async (ctx) => {
  const chunks: Uint8Array[] = [];
  let t = 0;
  const net = new Network(new PcapWriter((b) => chunks.push(b.slice()), () => (t += 1000)));
  // each domain has its own device host and store, as each Machine has
  const side = (domid: number) => {
    const store = new MemStore();
    const host = new FakeDeviceHost(2048, store);
    const g = host.addGuest(domid, 8);
    const [vif] = attachVifs(host, net, domid, ["bridge=xenbr0"]);
    const front = new Netfront(g, store, 0);
    front.connect();
    host.drain();
    return { host, front, mac: vif.mac, seen: [] as Uint8Array[] };
  };
  const a = side(1);
  const b = side(2);
  const ipA = parseIp("10.0.0.2")!, ipB = parseIp("10.0.0.3")!;
  const settle = () => {
    for (let i = 0; i < 20; i++) {
      const n = a.host.drain() + b.host.drain();
      serve(b.front, b.mac, ipB, b.seen);
      if (n === 0 && b.front.received.length === 0) break;
    }
  };
  a.front.send(buildArp(1, a.mac, ipA, new Uint8Array(6), ipB));
  settle();
  const reply = a.front.received.map(parseArp).find((x) => x?.op === 2 && x.senderIp === ipB);
  ok(reply, "no ARP reply from the other domain");
  strictEqual(formatMac(reply.senderMac), formatMac(b.mac));
  a.front.received.length = 0;
  for (let seq = 1; seq <= 3; seq++) {
    const data = enc.encode(`ping ${seq} from a to b`);
    a.front.send(buildIpv4(a.mac, b.mac, ipA, ipB, IPPROTO_ICMP, buildIcmpEcho(8, 7, seq, data)));
    settle();
    const r = a.front.received.shift();
    ok(r, `no echo reply ${seq}`);
    const v = parseIpv4(r)!;
    deepStrictEqual([v.src, v.dst, r[v.l4], be16(r, v.l4 + 6)], [ipB, ipA, 0, seq]);
    deepStrictEqual(r.subarray(v.l4 + 8, v.l4 + v.l4len), data);
  }
  // the host endpoint saw the broadcast only; unicast went straight between the vifs
  strictEqual(net.responders.get("xenbr0")!.stats.echoReplies, 0);
  const frames = readPcap(concat(chunks)).map((x) => x.frame);
  strictEqual(frames.length, 8); // ARP request + reply, 3 x (request + reply)
  await tsharkShows(ctx, concat(chunks), [
    /ARP.*Who has 10\.0\.0\.3\? Tell 10\.0\.0\.2/,
    /ARP.*10\.0\.0\.3 is at 00:16:3e:00:02:00/,
    /10\.0\.0\.2 → 10\.0\.0\.3 +ICMP.*Echo \(ping\) request.*seq=3/,
    /10\.0\.0\.3 → 10\.0\.0\.2 +ICMP.*Echo \(ping\) reply.*seq=3/,
  ]);
});

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) (out.set(c, o), o += c.length);
  return out;
}

/** Checks tshark's summary of a capture, as a step (ignored, saying so, without tshark). */
async function tsharkShows(
  t: Deno.TestContext,
  pcap: Uint8Array,
  patterns: RegExp[],
): Promise<void> {
  await t.step({
    ...needs("tshark shows the exchange", !HAVE_TSHARK && "tshark missing"),
    fn: () => tsharkCheck(pcap, patterns),
  });
}

async function tsharkCheck(pcap: Uint8Array, patterns: RegExp[]): Promise<void> {
  const f = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(f, pcap);
    const out = await new Deno.Command("tshark", {
      args: ["-r", f],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = dec.decode(out.stdout);
    strictEqual(out.code, 0, dec.decode(out.stderr));
    for (const p of patterns) ok(p.test(text), `${p} not in:\n${text}`);
  } finally {
    await Deno.remove(f);
  }
}

/** Writes config files for the guest into a temp directory. */
async function configs(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

const SELFTEST = (name: string, vif: string) =>
  `name = "${name}"\ntype = "pv"\nkernel = "${GUEST}"\nmemory = 16\nextra = "selftest"\nvif = [ '${vif}' ]\n`;

Deno.test("runDomains() boots two guests on one network; both reach the host endpoint", async (t) => {
  const dir = await configs({
    "a.cfg": SELFTEST("alpha", "bridge=xenbr0"),
    "b.cfg": SELFTEST("beta", "mac=00:16:3e:00:00:42, bridge=xenbr0") + "colour = 'blue'\n",
  });
  try {
    const once = async (pcap: string) => {
      const con = new Recorder();
      const log: string[] = [];
      const domids: number[] = [];
      const code = await runDomains({
        image: undefined as unknown as string,
        domains: [`${dir}/a.cfg`, `${dir}/b.cfg`],
        netPcap: pcap,
        console: con,
        log: (l) => log.push(l),
        onMachine: (m) => void domids.push(m.domain.domid),
      });
      return { code, text: con.text(), log, domids, pcap: await Deno.readFile(pcap) };
    };
    const r = await once(`${dir}/1.pcap`);
    strictEqual(r.code, 0, r.log.join("\n"));
    deepStrictEqual(r.domids, [1, 2]);
    const lines = r.text.split("\n").slice(0, -1);
    ok(lines.every((l) => /^(alpha|beta ) \| /.test(l)), r.text);
    for (const n of ["alpha", "beta "]) {
      ok(lines.includes(`${n} | PASS network I/O`), r.text);
      ok(lines.some((l) => l.startsWith(`${n} | selftest: `) && l.includes(" 0 failed")), r.text);
    }
    ok(r.log.includes(`pvx: ${dir}/b.cfg:7: unknown setting "colour" ignored`), r.log.join("\n"));
    ok(r.log.includes("pvx: alpha: powered off") && r.log.includes("pvx: beta: powered off"));
    // each guest's pings crossed the shared switch and were answered by the host endpoint
    const frames = readPcap(r.pcap).map((x) => x.frame);
    for (const mac of ["00:16:3e:00:01:00", "00:16:3e:00:00:42"]) {
      const req = frames.filter((f) =>
        formatMac(f, 6) === mac && parseIpv4(f)?.proto === IPPROTO_ICMP
      );
      const rep = frames.filter((f) =>
        formatMac(f, 0) === mac && parseIpv4(f)?.proto === IPPROTO_ICMP
      );
      ok(
        req.length >= 3 && rep.length === req.length,
        `${mac}: ${req.length} requests, ${rep.length} replies`,
      );
    }
    await tsharkShows(t, r.pcap, [
      /Xensourc_00:01:00 → Broadcast +ARP.*Who has 10\.0\.0\.1/,
      /Xensourc_00:00:42 → Broadcast +ARP.*Who has 10\.0\.0\.1/,
      /ICMP.*Echo \(ping\) request/,
      /ICMP.*Echo \(ping\) reply/,
    ]);
    // virtual time: the domains take turns deterministically
    const again = await once(`${dir}/2.pcap`);
    strictEqual(again.text, r.text);
    deepStrictEqual(again.pcap, r.pcap);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDomains() exits 1 when one domain crashes and the other powers off", async () => {
  const dir = await configs({
    "ok.cfg": SELFTEST("ok", "bridge=xenbr0"),
    "bad.cfg": `kernel = "${GUEST}"\nmemory = 16\nextra = "init=nope"\n`,
  });
  try {
    const con = new Recorder();
    const log: string[] = [];
    const code = await boot({
      image: `${dir}/bad.cfg`,
      domains: [`${dir}/ok.cfg`],
      console: con,
      log: (l) => log.push(l),
    });
    strictEqual(code, 1);
    ok(con.text().includes(`bad | PANIC: no program "nope"`), con.text());
    ok(log.includes("pvx: bad: crashed") && log.includes("pvx: ok: powered off"), log.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDomains() rejects bad input before booting anything", async (t) => {
  const dir = await configs({
    "a.cfg": SELFTEST("a", "mac=00:16:3e:00:00:01"),
    "a2.cfg": SELFTEST("a", "bridge=xenbr0"),
    "m.cfg": SELFTEST("m", "mac=00:16:3e:00:00:01"),
    "hvm.cfg": `kernel = "${GUEST}"\ntype = "hvm"\n`,
    "nokernel.cfg": `kernel = "missing.elf"\n`,
  });
  const cases: [string, Parameters<typeof runDomains>[0], RegExp][] = [
    [
      "same name",
      { image: "", domains: [`${dir}/a.cfg`, `${dir}/a2.cfg`] },
      /two domains named "a"/,
    ],
    ["same MAC", { image: "", domains: [`${dir}/a.cfg`, `${dir}/m.cfg`] }, /MAC 00:16:3e:00:00:01/],
    ["type hvm", { image: "", domains: [`${dir}/hvm.cfg`] }, /hvm\.cfg:2.*type "hvm"/],
    [
      "no kernel file",
      { image: "", domains: [`${dir}/nokernel.cfg`] },
      /Cannot read kernel ".*missing\.elf"/,
    ],
    ["image too", { image: GUEST, domains: [`${dir}/a.cfg`] }, /give the kernel in a config file/],
    [
      "--disk",
      { image: "", domains: [`${dir}/a.cfg`], disks: ["x.img"] },
      /--disk with config files/,
    ],
    ["no file", { image: "", domains: [`${dir}/none.cfg`] }, /Cannot read xl config/],
  ];
  try {
    for (const [name, opts, re] of cases) {
      await t.step(name, async () => {
        const con = new Recorder();
        await runDomains({ ...opts, console: con, log: () => {} }).then(
          () => ok(false, "no error"),
          (e) => {
            ok(e instanceof InputError, String(e));
            ok(re.test(e.message), e.message);
          },
        );
        strictEqual(con.text(), "");
      });
    }
    await t.step("cli: exit 2 for a bad config and for a bad option value", async () => {
      strictEqual(await main(["boot", "--domain", `${dir}/hvm.cfg`]), 2);
      strictEqual(await main(["boot", "--memory", "lots"]), 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDomains() keeps an idle domain within 1 ms of guest time of a busy one", async () => {
  const dir = await configs({
    "idle.cfg": `name = "idle"\nkernel = "${GUEST}"\nmemory = 16\n`, // the shell, waiting for input
    "busy.cfg": SELFTEST("busy", "bridge=xenbr0"),
  });
  try {
    const machines = new Map<number, Machine>();
    // every frame crossing the switch (all sent while the busy domain runs): compare clocks
    const skew: number[] = [];
    const net = new Network(
      new PcapWriter(() => {}, () => {
        const idle = machines.get(1), busy = machines.get(2);
        if (idle && busy) skew.push(idle.host.clock.nowNs() - busy.host.clock.nowNs());
        return 0;
      }),
    );
    const log: string[] = [];
    const code = await runDomains({
      image: "",
      domains: [`${dir}/idle.cfg`, `${dir}/busy.cfg`],
      console: new Recorder(),
      log: (l) => {
        log.push(l);
        // the shell idles forever: end it once the busy domain is done
        if (l === "pvx: busy: powered off") machines.get(1)!.stop();
      },
      onMachine: (m) => void machines.set(m.domain.domid, m),
    }, net);
    strictEqual(code, 1); // the idle domain was stopped
    deepStrictEqual(log.slice(-2), ["pvx: busy: powered off", "pvx: idle: stopped"]);
    ok(skew.length >= 8, `${skew.length} frames`);
    // at most the 1 ms lookahead plus one 200,000-instruction slice ahead of the sender
    ok(Math.max(...skew) <= 1_200_000, skew.join(" "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDomains() restarts a domain whose on_crash is restart, with the same domid", async () => {
  const dir = await configs({
    "r.cfg":
      `name = "r"\nkernel = "${GUEST}"\nmemory = 16\nextra = "init=nope"\non_crash = "restart"\n`,
  });
  try {
    const domids: number[] = [];
    const log: string[] = [];
    const code = await runDomains({
      image: `${dir}/r.cfg`,
      console: new Recorder(),
      log: (l) => log.push(l),
      onMachine: (m) => {
        domids.push(m.domain.domid);
        if (domids.length === 3) m.stop(); // the third boot ends before it runs
      },
    });
    strictEqual(code, 1);
    deepStrictEqual(domids, [1, 1, 1]);
    deepStrictEqual(log.filter((l) => l.startsWith("pvx: r: ")), [
      "pvx: r: crashed; restarting it",
      "pvx: r: crashed; restarting it",
      "pvx: r: stopped",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDomains() --trace: one xentrace file with both domains' records", async () => {
  const dir = await configs({
    "a.cfg": SELFTEST("a", "bridge=xenbr0"),
    "b.cfg": SELFTEST("b", "bridge=xenbr0"),
  });
  try {
    const code = await runDomains({
      image: "",
      domains: [`${dir}/a.cfg`, `${dir}/b.cfg`],
      trace: `${dir}/t.trace`,
      console: new Recorder(),
      log: () => {},
    });
    strictEqual(code, 0);
    const recs = decodeTrace(await Deno.readFile(`${dir}/t.trace`));
    const per = new Map<number, number>();
    for (const r of recs) per.set(r.dom, (per.get(r.dom) ?? 0) + 1);
    ok((per.get(1) ?? 0) > 500 && (per.get(2) ?? 0) > 500, JSON.stringify([...per]));
    await runDomains({ image: "", domains: [`${dir}/a.cfg`], trace: "x", realtime: true }).then(
      () => ok(false, "no error"),
      (e) => ok(e instanceof InputError && /--trace with --realtime/.test(e.message), String(e)),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
