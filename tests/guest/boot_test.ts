/**
 * pvx boots its own guest: the selftest prints PASS (or SKIP for absent devices) for
 * every platform API area and powers off (exit 0); the scripted shell answers; and a
 * deliberately broken hypervisor (set_timer_op dropped) makes the timer selftest FAIL
 * and the run exit 1.
 * @module
 */
import assert, { deepStrictEqual } from "node:assert/strict";
import { boot as run } from "../../lib/toolstack/boot.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { HYPERCALL_TABLE } from "../../lib/hypervisor/hypercalls/table.ts";
import { VirtualSwitch } from "../../lib/netfront/switch.ts";
import { HostResponder } from "../../lib/netfront/responder.ts";
import { Netback } from "../../lib/netfront/backend.ts";
import { writeVifLayout } from "../../lib/netfront/xenbus.ts";
import type { AttachedDevices } from "../../lib/toolstack/devices.ts";
import type { BootOptions } from "../../lib/toolstack/options.ts";

const IMAGE = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;

/** The selftest's areas, in order (guest/kernel/selftest.c). */
const AREAS = [
  "descriptor tables",
  "privileged registers",
  "MMU",
  "memory reservation",
  "time and timer",
  "vcpu",
  "schedule",
  "event channels",
  "grant tables",
  "block I/O",
  "network I/O",
  "console I/O",
  "xenstore",
  "feature map",
  "version info",
  "user mode",
];
/** Areas that report SKIP when pvx boot has no such device. */
const DEVICE_AREAS = new Set(["block I/O", "network I/O"]);

async function boot(
  cmdline: string,
  input = "",
  extra: Partial<BootOptions> = {},
): Promise<{ code: number; text: string }> {
  const sink = new MemorySink(1 << 20, 1 << 18);
  if (input) sink.type(input);
  const log: string[] = [];
  const code = await run({
    image: IMAGE,
    cmdline,
    console: sink,
    noReboot: true,
    maxInstructions: 2_000_000_000,
    log: (l) => log.push(l),
    ...extra,
  });
  await sink.close();
  return { code, text: sink.text() + log.join("\n") };
}

/** The selftest's verdict lines: area -> "PASS" | "SKIP: why" | "FAIL: why". */
function verdicts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^(PASS|FAIL|SKIP) ([^:\n]+)(?:: (.*))?$/gm)) {
    out.set(m[2], m[3] ? `${m[1]}: ${m[3]}` : m[1]);
  }
  return out;
}

Deno.test("pvx boot guest/pvx-guest.elf --cmdline selftest passes every area and exits 0", async () => {
  const { code, text } = await boot("selftest");
  const v = verdicts(text);
  deepStrictEqual([...v.keys()], AREAS, text);
  for (const area of AREAS) {
    const got = v.get(area) ?? "missing";
    if (DEVICE_AREAS.has(area)) assert(got === "PASS" || got.startsWith("SKIP"), `${area}: ${got}`);
    else deepStrictEqual(got, "PASS", `${area}: ${got}`);
  }
  assert(/selftest: \d+ passed, 0 failed/.test(text), text);
  deepStrictEqual(code, 0, text);
});

Deno.test("the guest's shell runs scripted commands from the console and powers off", async () => {
  const { code, text } = await boot(
    "",
    "uname\nls\ncat motd\nballoon 4\nballoon -4\nrun hello\npoweroff\n",
  );
  assert(text.includes("pvx$ "), text);
  assert(/pvx pvx-guest 1\.0 .*i686/.test(text), text);
  assert(/^hello \d+$/m.test(text), "ls lists the archive");
  assert(text.includes("Welcome to pvx-guest"), "cat motd");
  assert(text.includes("balloon: 4 pages out") && text.includes("balloon: 0 pages out"), text);
  assert(text.includes("hello from user mode\nrun: hello exited with 42"), "a nested process");
  deepStrictEqual(code, 0, text);
});

/** Hypervisor breakages and the selftest area each must make FAIL. */
const BREAKAGES: { nr: number; name: string; area: string; rc: number }[] = [
  { nr: 15, name: "set_timer_op accepted but never firing", area: "time and timer", rc: 0 },
  { nr: 20, name: "grant_table_op failing", area: "grant tables", rc: -38 },
  { nr: 12, name: "memory_op failing", area: "memory reservation", rc: -38 },
];

for (const b of BREAKAGES) {
  Deno.test(`a hypervisor with ${b.name} makes the ${b.area} selftest FAIL and pvx exit 1`, async () => {
    const saved = HYPERCALL_TABLE[b.nr];
    HYPERCALL_TABLE[b.nr] = () => b.rc;
    try {
      const { code, text } = await boot("selftest");
      const got = verdicts(text).get(b.area) ?? "missing";
      assert(got.startsWith("FAIL"), `${b.area}: ${got}`);
      deepStrictEqual(code, 1, text);
    } finally {
      HYPERCALL_TABLE[b.nr] = saved;
    }
  });
}

Deno.test("deno run -A cli.ts boot guest/pvx-guest.elf --cmdline selftest prints every verdict", async () => {
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "boot", IMAGE, "--cmdline", "selftest"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const v = verdicts(text);
  deepStrictEqual([...v.keys()], AREAS, text);
  deepStrictEqual([...v.entries()].filter(([, r]) => r.startsWith("FAIL")), []);
  deepStrictEqual(out.code, 0, new TextDecoder().decode(out.stderr));
});

/** Attaches a vif on a switch with pvx's host endpoint (10.0.0.1) before the guest runs. */
function withVif(responder: { r?: HostResponder }): Partial<BootOptions> {
  return {
    onMachine: (m, dev: AttachedDevices) => {
      const sw = new VirtualSwitch();
      responder.r = new HostResponder(sw);
      const domid = m.domain.domid;
      writeVifLayout(dev.store, {
        domid,
        devid: 0,
        mac: new Uint8Array([0x00, 0x16, 0x3e, 0x00, 0x00, 0x02]),
        bridge: "xenbr0",
      });
      new Netback(dev.deviceHost, sw, { domid, devid: 0 }).start();
    },
  };
}

Deno.test("with a vif, the network selftest does ARP, ICMP echo and UDP echo with 10.0.0.1", async () => {
  const holder: { r?: HostResponder } = {};
  const { code, text } = await boot("selftest", "", withVif(holder));
  deepStrictEqual(verdicts(text).get("network I/O"), "PASS", text);
  const st = holder.r!.stats;
  assert(st.arpReplies >= 1 && st.echoReplies >= 3 && st.udpEchoes >= 1, JSON.stringify(st));
  deepStrictEqual(st.badChecksums, 0);
  void code;
});

Deno.test("with a disk, the block selftest reads, writes, flushes and leaves the disk as it was", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = new Uint8Array(1 << 20);
    for (let i = 0; i < img.length; i++) img[i] = (i * 31 + (i >> 9)) & 0xff;
    await Deno.writeFile(`${dir}/disk.img`, img);
    const { text } = await boot("selftest", "", { disks: [`${dir}/disk.img`] });
    deepStrictEqual(verdicts(text).get("block I/O"), "PASS", text);
    assert(/blkfront: device\/vbd\/\d+, 2048 sectors of 512 bytes/.test(text), text);
    const after = await Deno.readFile(`${dir}/disk.img`);
    deepStrictEqual(after.findIndex((b, i) => b !== img[i]), -1, "the selftest changed the disk");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with a vif, the shell's ping gets 4 replies from 10.0.0.1", async () => {
  const holder: { r?: HostResponder } = {};
  const { code, text } = await boot("", "ping\npoweroff\n", withVif(holder));
  deepStrictEqual(
    text.match(/^40 bytes from 10\.0\.0\.1: icmp_seq=\d time=\d+ us$/gm)?.length,
    4,
    text,
  );
  assert(text.includes("ping: 4 replies"), text);
  deepStrictEqual(holder.r!.stats.echoReplies, 4);
  deepStrictEqual(code, 0, text);
});

Deno.test("3000 random system calls from user mode never kill the kernel nor leak its memory", async () => {
  const { code, text } = await boot("", "mem\nrun fuzz\nmem\npoweroff\n");
  assert(text.includes("fuzz: 3000 calls survived\nrun: fuzz exited with 0"), text);
  const free = [...text.matchAll(/^total \d+ KiB, free (\d+) KiB$/gm)].map((m) => m[1]);
  deepStrictEqual(free.length, 2, text);
  deepStrictEqual(free[1], free[0], "free memory after the fuzz run");
  deepStrictEqual(code, 0, text);
});
