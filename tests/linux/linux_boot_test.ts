/**
 * Issue #18: Debian 12's Linux (6.1, linux-image-amd64, unmodified) boots in pvx as a
 * 64-bit PV domU with unmodified userspace (busybox-static): one scripted session
 * (tests/linux/_session.ts) boots it to the shell of scripts/linux/init with 2 vcpus, an
 * ext4 xvda and a vif on xenbr0, runs uname -a, cat /sys/hypervisor/type, nproc, a
 * read-write mount of xvda, ping 10.0.0.1 over eth0, exits (init powers off); each test
 * then checks one part of what Linux printed, and the disk image with debugfs.
 *
 * A test whose stage Linux has not reached is ignored with where Linux stopped (symbol
 * from the kernel's kallsyms, the reason, the last console line); never passed. Cost: the
 * session runs at most PVX_LINUX_BUDGET instructions to the shell (default 60 M, about
 * 25 s at today's 64-bit interpreter speed; Linux 6.1 spends about 1.3 G instructions in
 * xen_vmalloc_p2m_tree alone, so the whole boot needs PVX_LINUX=full, which gives 40 G).
 * Without the fixture (`deno task linux`) every test is ignored with that reason.
 * @module
 */
import assert from "node:assert/strict";
import { exists } from "../_tools.ts";
import { LINUX_DIR, linuxSymbols, runSession, type Session, type Stage } from "./_session.ts";
import { symbolize } from "../../scripts/linux/kallsyms.ts";
import { loadKernelImage64 } from "../../lib/hypervisor/builder/kernel_image64.ts";

const HAVE = ["vmlinuz", "initrd.img", "root.img"].every((f) => exists(LINUX_DIR + f));
const FULL = Deno.env.get("PVX_LINUX") === "full" || Deno.env.get("PVX_FUZZ") === "full";
const BUDGET = Number(Deno.env.get("PVX_LINUX_BUDGET") ?? (FULL ? 40e9 : 60e6));
const HAVE_DEBUGFS = exists("/usr/sbin/debugfs") || exists("/sbin/debugfs");

const STAGES: Stage[] = [
  { name: "uname", command: "uname -a" },
  { name: "hypervisor", command: "cat /sys/hypervisor/type" },
  { name: "nproc", command: "nproc" },
  {
    name: "ext4",
    command: "mount -t ext4 /dev/xvda /mnt && cat /mnt/hello.txt && " +
      "echo written-by-linux > /mnt/linux.txt && umount /mnt && echo umounted",
  },
  { name: "ping", command: "ping -c 3 -W 2 10.0.0.1" },
];

let session: Session | null = null;
let failure: string | null = null;
if (HAVE) {
  const dir = await Deno.makeTempDir({ prefix: "pvx-linux-" });
  try {
    session = await runSession({
      bootBudget: BUDGET,
      commandBudget: FULL ? 4e9 : BUDGET,
      dir,
      stages: STAGES,
    });
    const s = session;
    console.log(
      `linux: ${s.shell ? "shell reached" : "no shell"}, ${s.instructions} instructions in ` +
        `${s.seconds.toFixed(1)} s` + (s.stoppedAt ? `; stops at ${s.stoppedAt}` : ""),
    );
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
  }
  addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
}

/** Why a stage cannot be checked, or undefined when it can. */
function notReached(reached: boolean): string | undefined {
  if (!HAVE) return "Linux fixture missing: deno task linux";
  if (failure) return undefined; // the test runs and reports the failure
  if (reached) return undefined;
  const budget = FULL || session!.end.reason !== "limit"
    ? ""
    : `; default budget ${BUDGET / 1e6} M instructions, PVX_LINUX=full`;
  return `Linux stops at ${session!.stoppedAt ?? "?"}${budget}`;
}

function stage(name: string): Stage | undefined {
  return session?.stages.find((s) => s.name === name);
}

function linuxTest(
  name: string,
  reached: () => boolean,
  fn: (s: Session) => void | Promise<void>,
  extra?: string,
) {
  const why = notReached(session !== null && reached()) ?? extra;
  Deno.test({
    name: why ? `${name} (ignored: ${why})` : name,
    ignore: why !== undefined,
    async fn() {
      if (failure) throw new Error(failure);
      await fn(session!);
    },
  });
}

linuxTest(
  "linux: the kernel prints its banner and command line on hvc0",
  () => /Linux version 6\.1\./.test(session!.console),
  (s) => {
    assert.match(
      s.console,
      /Linux version 6\.1\.\d+-\d+-amd64 \(debian-kernel@lists\.debian\.org\)/,
    );
    assert.match(s.console, /Command line: console=hvc0 earlyprintk=xen/);
    assert.match(s.console, /Hypervisor detected: Xen PV/);
  },
);

linuxTest(
  "linux: /init from the initramfs loads the modules and reports Linux on xen with 2 cpus",
  () => session!.shell,
  (s) => {
    assert.doesNotMatch(s.console, /init: insmod \S+ failed/);
    assert.match(s.console, /pvx-linux: Linux 6\.1\.\d+-\d+-amd64 on xen, 2 cpu\(s\)/);
  },
);

linuxTest(
  "linux: uname -a names the Debian kernel on x86_64",
  () => stage("uname")?.output !== undefined,
  () =>
    assert.match(stage("uname")!.output!, /^Linux pvx-linux 6\.1\.\d+-\d+-amd64 #1 SMP .* x86_64/m),
);

linuxTest(
  "linux: /sys/hypervisor/type is xen",
  () => stage("hypervisor")?.output !== undefined,
  () => assert.match(stage("hypervisor")!.output!, /^xen\r?$/m),
);

linuxTest(
  "linux: nproc with --vcpus 2 is 2",
  () => stage("nproc")?.output !== undefined,
  () => assert.match(stage("nproc")!.output!, /^2\r?$/m),
);

linuxTest(
  "linux: ext4 on xvda mounts read-write through blkfront, and the file written is on the image",
  () => stage("ext4")?.output !== undefined,
  async (s) => {
    const out = stage("ext4")!.output!;
    assert.match(out, /^hello from the disk\r?$/m);
    assert.match(out, /^umounted\r?$/m);
    const r = await new Deno.Command("debugfs", {
      args: ["-R", "cat /linux.txt", s.disk],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(r.stdout), "written-by-linux\n");
    const fsck = await new Deno.Command("e2fsck", { args: ["-fn", s.disk], stdout: "piped" })
      .output();
    assert.equal(fsck.code, 0, new TextDecoder().decode(fsck.stdout));
  },
  HAVE_DEBUGFS ? undefined : "debugfs (e2fsprogs) missing",
);

linuxTest(
  "linux: ping 10.0.0.1 over eth0 (netfront) gets its 3 replies",
  () => stage("ping")?.output !== undefined,
  (s) => {
    assert.match(
      stage("ping")!.output!,
      /3 packets transmitted, 3 packets received, 0% packet loss/,
    );
    assert.ok(s.echoReplies >= 3, `host endpoint replied ${s.echoReplies} times`);
  },
);

linuxTest(
  "linux: exiting the shell powers the domain off",
  () => session!.end.reason === "poweroff",
  (s) => assert.equal(s.end.reason, "poweroff"),
);

// The symbols that name where Linux stops: the kernel's Xen notes, read by pvx's loader,
// must fall on the symbols Linux gives them.
Deno.test({
  name: HAVE
    ? "linux: kallsyms of the fixture kernel name XEN_ELFNOTE_ENTRY startup_xen"
    : "linux: kallsyms of the fixture kernel (ignored: Linux fixture missing: deno task linux)",
  ignore: !HAVE,
  async fn() {
    const k = await linuxSymbols();
    assert.ok(k, "no kallsyms table found");
    assert.ok(k.names.length > 50_000, `${k.names.length} symbols`);
    const { entry } = loadKernelImage64(await Deno.readFile(LINUX_DIR + "vmlinuz"));
    const hi = Number(entry >> 32n), lo = Number(entry & 0xffffffffn);
    assert.equal(symbolize(k, hi, lo), "startup_xen+0x0");
    assert.equal(symbolize(k, k.baseHi, k.baseLo), "_text+0x0");
  },
});
