/**
 * Issue #18, "the same from an xl config": Debian's Linux booted by `pvx boot FILE.cfg`
 * (kernel, ramdisk, root + extra, memory, vcpus, disk, vif) through the multi-domain path.
 * The fixture's linux.cfg (written by scripts/linux/build.sh) is read as xl reads it, and a
 * copy with earlyprintk boots for a bounded number of instructions: Linux must print the
 * command line xl builds ("root=ROOT EXTRA") and find Xen PV. Cost: 40 M instructions.
 * @module
 */
import assert from "node:assert/strict";
import { exists } from "../_tools.ts";
import { LINUX_DIR } from "./_session.ts";
import { parseXlConfig } from "../../lib/toolstack/xl_config.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const HAVE = ["vmlinuz", "initrd.img", "root.img"].every((f) => exists(LINUX_DIR + f));
const HAVE_CFG = exists(LINUX_DIR + "linux.cfg");

Deno.test({
  name: "linux: build.sh's linux.cfg gives xl's kernel, ramdisk, command line, disk and vif" +
    (HAVE_CFG ? "" : " (ignored: Linux fixture missing: deno task linux)"),
  ignore: !HAVE_CFG,
  async fn() {
    const file = LINUX_DIR + "linux.cfg";
    const d = parseXlConfig(await Deno.readTextFile(file), file);
    assert.equal(d.kernel, LINUX_DIR + "vmlinuz");
    assert.equal(d.ramdisk, LINUX_DIR + "initrd.img");
    assert.equal(d.cmdline, "root=/dev/xvda console=hvc0");
    assert.equal(d.memoryMiB, 512);
    assert.equal(d.vcpus, 2);
    assert.equal(d.disks.length, 1);
    assert.match(d.disks[0], /vdev=xvda/);
    assert.ok(d.disks[0].includes(LINUX_DIR + "root.img"), d.disks[0]);
    assert.deepEqual(d.vifs, ["bridge=xenbr0"]);
    assert.deepEqual(d.warnings, []);
  },
});

Deno.test({
  name: "linux: pvx boot FILE.cfg boots Debian's kernel with xl's root= and extra" +
    (HAVE ? "" : " (ignored: Linux fixture missing: deno task linux)"),
  ignore: !HAVE,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "pvx-linux-xl-" });
    try {
      await Deno.copyFile(LINUX_DIR + "root.img", `${dir}/root.img`);
      const cfg = `${dir}/linux.cfg`;
      await Deno.writeTextFile(
        cfg,
        [
          `name = "xl-linux"`,
          `kernel = "${LINUX_DIR}vmlinuz"`,
          `ramdisk = "${LINUX_DIR}initrd.img"`,
          `root = "/dev/xvda"`,
          `extra = "console=hvc0 earlyprintk=xen"`,
          `memory = 512`,
          `vcpus = 2`,
          `disk = [ "format=raw, vdev=xvda, access=rw, target=root.img" ]`,
          `vif = [ "bridge=xenbr0" ]`,
          "",
        ].join("\n"),
      );
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "boot", cfg, "--max-instructions", "40000000"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
      assert.match(text, /xl-linux \| \[ *[\d.]+\] Linux version 6\.1\.\d+-\d+-amd64/, text);
      assert.match(text, /Command line: root=\/dev\/xvda console=hvc0 earlyprintk=xen/, text);
      assert.match(text, /Hypervisor detected: Xen PV/, text);
      assert.match(text, /stopped after 40000000 instructions/, text);
      assert.equal(o.code, 1, text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
