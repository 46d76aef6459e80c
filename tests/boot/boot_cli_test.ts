import assert from "node:assert/strict";
import { helloKernel } from "../hypervisor/_image.ts";
import { pvx } from "../_pvx.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

Deno.test("pvx boot prints the guest's console_io text and exits 0 on poweroff", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = `${dir}/hello.elf`;
    await Deno.writeFile(img, helloKernel("hello from pvx\n", 0));
    const r = await pvx("boot", img, "--memory", "8");
    assert.equal(r.stdout, "hello from pvx\n");
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx boot exits 1 with a register dump when the guest crashes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = `${dir}/crash.elf`;
    await Deno.writeFile(img, helloKernel("oops\n", 3));
    const r = await pvx("boot", img, "--memory", "8");
    assert.equal(r.stdout, "oops\n");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /eax: [0-9a-f]{8}/);
    assert.match(r.stderr, /Guest stack trace/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx boot exits 2 for a missing image and for a file that is not a PV kernel", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await pvx("boot", `${dir}/nope.elf`);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot read image .*no such file/);
    await Deno.writeFile(`${dir}/junk`, new Uint8Array([1, 2, 3, 4]));
    const junk = await pvx("boot", `${dir}/junk`);
    assert.equal(junk.code, 2);
    await Deno.writeFile(`${dir}/hello.elf`, helloKernel());
    const tiny = await pvx("boot", `${dir}/hello.elf`, "--memory", "2");
    assert.equal(tiny.code, 2);
    assert.match(tiny.stderr, /--memory 2/);
    const badLimit = await pvx("boot", `${dir}/hello.elf`, "--max-instructions", "-5");
    assert.equal(badLimit.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx boot --trace records the guest's hypercalls for pvx trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = `${dir}/hello.elf`;
    await Deno.writeFile(img, helloKernel("traced\n", 0));
    const r = await pvx("boot", img, "--memory", "8", "--trace", `${dir}/t.trace`);
    assert.equal(r.code, 0, r.stderr);
    const t = await pvx("trace", `${dir}/t.trace`, "--json");
    assert.equal(t.code, 0, t.stderr);
    const recs = t.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const names = recs.map((x) => JSON.stringify(x));
    assert.ok(names.some((n) => n.includes("console_io")), t.stdout);
    assert.ok(names.some((n) => n.includes("sched_shutdown")), t.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx boot --no-reboot exits 0 when the guest asks for a reboot", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = `${dir}/reboot.elf`;
    await Deno.writeFile(img, helloKernel("rebooting\n", 1));
    const r = await pvx("boot", img, "--memory", "8", "--no-reboot");
    assert.equal(r.stdout, "rebooting\n");
    assert.equal(r.code, 0);
    assert.match(r.stderr, /rebooted \(--no-reboot\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx boot restarts a rebooting guest (three boots seen, then killed)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = `${dir}/reboot.elf`;
    await Deno.writeFile(img, helloKernel("boot\n", 1));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "boot", img, "--memory", "8"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    let text = "";
    while (text.split("boot\n").length - 1 < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    child.kill();
    await reader.cancel();
    await child.status;
    assert.ok(text.startsWith("boot\nboot\nboot\n"), JSON.stringify(text));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx boot --disk --net --net-pcap: pvx-guest's selftest passes every area", async () => {
  const guest = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/disk.img`, new Uint8Array(8 << 20));
    const r = await pvx(
      "boot",
      guest,
      "--cmdline",
      "selftest",
      "--disk",
      `${dir}/disk.img`,
      "--net",
      "bridge=xenbr0",
      "--net-pcap",
      `${dir}/net.pcap`,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /selftest: (\d+) passed, 0 failed, 0 skipped/);
    const pcap = await Deno.readFile(`${dir}/net.pcap`);
    assert.equal(new DataView(pcap.buffer).getUint32(0, true), 0xa1b2c3d4, "pcap magic");
    assert.ok(pcap.length > 24, "frames captured");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
