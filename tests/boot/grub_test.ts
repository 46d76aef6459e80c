/**
 * The acceptance: Debian's grub-i386-xen.bin (fetched by .ci/setup.d/inspect.sh
 * into tests/fixtures/cache/) boots to `grub>` on the PV console, and answers `help` and
 * `lsmod` typed there. Skipped when the fixture is absent.
 */
import { needs } from "../_tools.ts";
import assert from "node:assert/strict";
import { Machine } from "../../lib/hypervisor/machine/machine.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { attachDevices } from "../../lib/toolstack/devices.ts";
import { helloKernel } from "../hypervisor/_image.ts";
import { MemoryTraceSink, XentraceWriter } from "../../lib/hypervisor/trace/xentrace_writer.ts";

const GRUB = new URL("../fixtures/cache/inspect/grub-i386-xen.bin", import.meta.url).pathname;
const present = await Deno.stat(GRUB).then(() => true, () => false);
const NO_GRUB = !present && "grub-i386-xen.bin missing: bash .ci/setup.d/inspect.sh";

Deno.test({
  ...needs("pvx boot brings grub-i386-xen.bin to grub> and runs help and lsmod", NO_GRUB),
  async fn() {
    const sink = new MemorySink(1 << 20, 1 << 18);
    const m = new Machine({ image: await Deno.readFile(GRUB), memoryMiB: 64, console: sink });
    await attachDevices(m, { sink });
    const prompts = () => sink.text().split("grub> ").length - 1;
    let r = await m.run(() => prompts() >= 1, 300_000_000);
    assert.equal(r.reason, "until", `no grub> prompt: ${JSON.stringify(sink.text().slice(-300))}`);
    assert.match(sink.text(), /GNU GRUB/);
    sink.type("help\r");
    r = await m.run(() => prompts() >= 2, 300_000_000);
    assert.equal(
      r.reason,
      "until",
      `help did not finish: ${JSON.stringify(sink.text().slice(-300))}`,
    );
    const help = sink.text().split("grub> ")[1];
    assert.match(help, /lsmod/);
    assert.match(help, /boot/);
    sink.type("lsmod\r");
    r = await m.run(() => prompts() >= 3, 300_000_000);
    assert.equal(
      r.reason,
      "until",
      `lsmod did not finish: ${JSON.stringify(sink.text().slice(-300))}`,
    );
    const lsmod = sink.text().split("grub> ")[2];
    assert.match(lsmod, /Name\s+Ref Count\s+Dependencies/);
    await sink.close();
  },
});

const MKE2FS = await new Deno.Command("mke2fs", { args: ["-V"], stderr: "null", stdout: "null" })
  .output().then(() => true, () => false);
const NO_MKE2FS = !MKE2FS && "mke2fs (e2fsprogs) missing";

Deno.test({
  ...needs(
    "pvx boot --disk: grub reads grub.cfg from the PV disk, echoes and halts (exit 0)",
    NO_GRUB,
    NO_MKE2FS,
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dir}/root/boot/grub`, { recursive: true });
      await Deno.writeTextFile(`${dir}/root/boot/grub/grub.cfg`, "echo hello-from-disk\nhalt\n");
      const mk = await new Deno.Command("mke2fs", {
        args: ["-q", "-t", "ext2", "-d", `${dir}/root`, `${dir}/disk.img`, "4M"],
      }).output();
      assert.equal(mk.code, 0);
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../../cli.ts", import.meta.url).pathname,
          "boot",
          GRUB,
          "--disk",
          `${dir}/disk.img`,
          "--max-instructions",
          "500000000",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.match(text, /Reading \(xen\/xvda\)\/boot\/grub\/grub\.cfg/);
      assert.match(text, /hello-from-disk/);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...needs(
    "pvx boot --disk: pvgrub loads a PV kernel from the disk and boots it",
    NO_GRUB,
    NO_MKE2FS,
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dir}/root/boot/grub`, { recursive: true });
      await Deno.writeFile(`${dir}/root/boot/hello.elf`, helloKernel("hello via pvgrub\n", 0));
      await Deno.writeTextFile(
        `${dir}/root/boot/grub/grub.cfg`,
        "echo loading\nlinux /boot/hello.elf\nboot\n",
      );
      const mk = await new Deno.Command("mke2fs", {
        args: ["-q", "-t", "ext2", "-d", `${dir}/root`, `${dir}/disk.img`, "4M"],
      }).output();
      assert.equal(mk.code, 0);
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../../cli.ts", import.meta.url).pathname,
          "boot",
          GRUB,
          "--disk",
          `${dir}/disk.img`,
          "--max-instructions",
          "500000000",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.match(text, /loading/);
      assert.match(text, /hello via pvgrub\n$/);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...needs(
    "grub's boot to grub> is deterministic: same instruction count, same trace bytes",
    NO_GRUB,
  ),
  async fn() {
    const image = await Deno.readFile(GRUB);
    const once = async () => {
      const sink = new MemorySink(1 << 20, 1 << 18);
      const traced = new MemoryTraceSink();
      let clock = () => 0;
      const tracer = new XentraceWriter({ clock: () => clock(), sink: traced.sink });
      const m = new Machine({ image, memoryMiB: 64, console: sink, tracer });
      clock = () => m.host.clock.tsc();
      await attachDevices(m, { sink });
      // A fixed budget (the prompt comes at about 24 million instructions): a stop
      // condition on the sink's text would depend on when the host drains it.
      const r = await m.run(undefined, 40_000_000);
      tracer.flush();
      await sink.close();
      return { n: r.instructions, trace: traced.bytes(), text: sink.text() };
    };
    const a = await once();
    const b = await once();
    assert.equal(a.n, b.n);
    assert.equal(a.text, b.text);
    assert.match(a.text, /grub> /);
    assert.ok(a.trace.length > 1000);
    assert.deepEqual(a.trace, b.trace);
  },
});
