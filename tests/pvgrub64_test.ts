/**
 * Issue #17's acceptance for 64-bit PV: Debian's pvgrub for x86_64 (`grub-x86_64-xen.bin`,
 * fetched by .ci/setup.d/inspect.sh into tests/fixtures/cache/) on pvx.
 *
 * - it reaches `grub>` and answers commands typed on its PV console (`ls`, `set`/`echo`,
 *   `cat` of a file on the PV disk);
 * - it reads /boot/grub/grub.cfg from an ext2 disk and from an ext4 disk (extents, 64bit,
 *   flex_bg, metadata_csum: checked with dumpe2fs) and chain-loads XTF's 64-bit example
 *   kernel from it, whose output must end in `Test result: SUCCESS`;
 * - it chain-loads pvx's own 64-bit guest (`selftest` on grub's command line) from the disk,
 *   and the guest's selftest gives the same lines as a direct `pvx boot` of the same image
 *   with the same disk (a differential check: grub as the loader, and the vbd it used
 *   first, change nothing the guest can tell).
 *
 * Costs (64-bit grub runs ~24 M instructions to its prompt): the console test ~30 M
 * instructions in-process; each disk test is one `pvx boot` of ~30-40 M instructions
 * (~5 s of CPU each at 64-bit speed); the pvx-guest64 test adds a direct boot of ~8 M.
 * Debian's Linux through grub (its ELF with the .bss tails trimmed: 35 MiB for grub to read,
 * ~0.8 G instructions, ~80 s of CPU) runs only under PVX_FUZZ=full; it checks that grub hands
 * over, i.e. the kernel gets as far as when booted directly.
 * @module
 */
import assert from "node:assert/strict";
import { needs } from "./_tools.ts";
import { pvx } from "./_pvx.ts";
import { Machine } from "../lib/hypervisor/machine/machine.ts";
import { MemorySink } from "../lib/console/testing.ts";
import { attachDevices } from "../lib/toolstack/devices.ts";
import { buildExtImage, extFeatures, type ExtKind, haveMke2fs } from "./fixtures/ext_image.ts";
import { trimElf64 } from "./fixtures/elf_trim.ts";
import { unwrapImage } from "../lib/hypervisor/mod.ts";

const GRUB = new URL("./fixtures/cache/inspect/grub-x86_64-xen.bin", import.meta.url).pathname;
const XTF = `${Deno.env.get("PVX_XTF_DIR") ?? "/work/shared/xtf"}/pv64/test-pv64-example`;
const GUEST64 = new URL("../guest/pvx-guest64.elf", import.meta.url).pathname;
const have = (p: string) => Deno.stat(p).then(() => true, () => false);
const NO_GRUB = !await have(GRUB) && "grub-x86_64-xen.bin missing: bash .ci/setup.d/inspect.sh";
const NO_E2FS = !await haveMke2fs() && "mke2fs/dumpe2fs (e2fsprogs) missing";
const NO_XTF = !await have(XTF) && `${XTF} missing (XTF pv64 build, PVX_XTF_DIR)`;
const VMLINUZ = new URL("./fixtures/cache/linux/vmlinuz", import.meta.url).pathname;
const NO_LINUX = !await have(VMLINUZ) && "Debian's vmlinuz missing (tests/fixtures/cache/linux)";
const NOT_FULL = Deno.env.get("PVX_FUZZ") !== "full" &&
  "grub reading Linux costs ~0.8 G instructions: PVX_FUZZ=full";
const NO_GUEST64 = !await have(GUEST64) && "guest/pvx-guest64.elf missing: make -C guest";

/**
 * `pvx boot` of grub64. Console input is closed: `--on-eof wait` keeps pvx from asking grub
 * (which never answers) to power off, so the chain-loaded kernel ends the run.
 */
const boot = ["boot", GRUB, "--on-eof", "wait"];

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function inTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "pvgrub64-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The guest console text without GRUB's cursor and colour escapes. */
function plain(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
}

Deno.test({
  ...needs(
    "grub-x86_64-xen.bin reaches grub> and answers ls, set/echo and cat typed on its console",
    NO_GRUB,
    NO_E2FS,
  ),
  async fn() {
    await inTemp(async (dir) => {
      // a disk without grub.cfg: grub finds nothing to run and stops at its prompt
      const disk = `${dir}/disk.img`;
      await buildExtImage(disk, "ext2", { "hello.txt": "hello from xvda\n" }, 2048);
      const sink = new MemorySink(1 << 20, 1 << 18);
      const m = new Machine({ image: await Deno.readFile(GRUB), memoryMiB: 64, console: sink });
      const devices = await attachDevices(m, { sink, disks: [disk] });
      try {
        const prompts = () => sink.text().split("grub> ").length - 1;
        const answer = async (line: string) => {
          const n = prompts();
          sink.type(`${line}\r`);
          const r = await m.run(() => prompts() > n, 100_000_000);
          assert.equal(r.reason, "until", `${line}: ${JSON.stringify(sink.text().slice(-300))}`);
          // what grub printed after echoing the line, up to its next prompt
          const out = plain(sink.text().split("grub> ")[n]);
          return out.slice(out.indexOf("\n") + 1);
        };
        const r = await m.run(() => prompts() >= 1, 200_000_000);
        assert.equal(r.reason, "until", `no grub>: ${JSON.stringify(sink.text().slice(-300))}`);
        assert.match(sink.text(), /GNU GRUB/);
        assert.match(await answer("ls"), /\(xen\/xvda\)/);
        assert.match(await answer("ls (xen/xvda)/"), /lost\+found\/ hello\.txt/);
        // the typed line is `echo grub$x`: only grub's expansion prints "grub64"
        await answer("set x=64");
        assert.match(await answer("echo grub$x"), /^grub64\n/);
        assert.match(await answer("cat (xen/xvda)/hello.txt"), /hello from xvda/);
      } finally {
        await devices.detach();
        await sink.close();
      }
    });
  },
});

/**
 * Boots grub64 with `pvx boot --disk` on a `kind` image whose grub.cfg lists the disk,
 * cats a file and chain-loads XTF's pv64 example; returns the plain console text.
 */
async function chainXtf(kind: ExtKind): Promise<void> {
  await inTemp(async (dir) => {
    const disk = `${dir}/${kind}.img`;
    await buildExtImage(disk, kind, {
      "hello.txt": `hello from ${kind}\n`,
      "boot/xtf64": await Deno.readFile(XTF),
      "boot/grub/grub.cfg": `echo cfg-from-${kind}\nls (xen/xvda)/\ncat (xen/xvda)/hello.txt\n` +
        "linux /boot/xtf64\nboot\n",
    }, 8192);
    const features = await extFeatures(disk);
    if (kind === "ext4") {
      for (const f of ["extent", "64bit", "flex_bg", "metadata_csum", "has_journal"]) {
        assert.ok(features.includes(f), `ext4 image without ${f}: ${features.join(" ")}`);
      }
    } else {
      assert.ok(!features.includes("extent"), features.join(" "));
    }
    const run = await pvx(...boot, "--disk", disk, "--max-instructions", "300000000");
    const text = plain(run.stdout);
    assert.match(text, /Reading \(xen\/xvda\)\/boot\/grub\/grub\.cfg/);
    assert.match(text, new RegExp(`cfg-from-${kind}\n`));
    assert.match(text, /lost\+found\/ (boot\/ hello\.txt|hello\.txt boot\/)/);
    assert.match(text, new RegExp(`hello from ${kind}\n`));
    assert.match(
      text,
      /--- Xen Test Framework ---\nEnvironment: PV 64bit \(Long mode 4 levels\)\n/,
    );
    assert.match(text, /Hello World\nTest result: SUCCESS\n$/);
    assert.equal(run.code, 0, run.stderr);
  });
}

Deno.test({
  ...needs(
    "pvx boot --disk ext2: grub64 reads grub.cfg and chain-loads XTF's pv64 example (SUCCESS)",
    NO_GRUB,
    NO_E2FS,
    NO_XTF,
  ),
  fn: () => chainXtf("ext2"),
});

Deno.test({
  ...needs(
    "pvx boot --disk ext4 (extents, 64bit, csum): grub64 reads grub.cfg, chain-loads XTF pv64",
    NO_GRUB,
    NO_E2FS,
    NO_XTF,
  ),
  fn: () => chainXtf("ext4"),
});

Deno.test({
  ...needs(
    "pvx boot --disk ext4: grub64 chain-loads pvx-guest64.elf selftest, same lines as a direct boot",
    NO_GRUB,
    NO_E2FS,
    NO_GUEST64,
  ),
  async fn() {
    await inTemp(async (dir) => {
      const viaGrub = `${dir}/grub.img`, direct = `${dir}/direct.img`;
      await buildExtImage(viaGrub, "ext4", {
        "boot/pvx-guest64.elf": await Deno.readFile(GUEST64),
        "boot/grub/grub.cfg": "linux /boot/pvx-guest64.elf selftest\nboot\n",
      }, 8192);
      await Deno.copyFile(viaGrub, direct);
      const limit = ["--max-instructions", "300000000"];
      const a = await pvx(...boot, "--disk", viaGrub, ...limit);
      const b = await pvx(
        "boot",
        GUEST64,
        "--cmdline",
        "selftest",
        "--on-eof",
        "wait",
        "--disk",
        direct,
        ...limit,
      );
      const selftest = (s: string) => {
        const t = plain(s);
        return t.slice(t.indexOf("selftest: 16 areas"));
      };
      const text = plain(a.stdout);
      assert.match(text, /Reading \(xen\/xvda\)\/boot\/grub\/grub\.cfg/);
      // grub put its command line in start_info, and the guest found grub's vbd again
      assert.match(text, /pvx-guest: booting \(xen-3\.0-x86_64\), cmdline "selftest"\n/);
      assert.match(text, /blkfront: device\/vbd\/51712, 16384 sectors of 512 bytes/);
      assert.match(b.stdout, /selftest: \d+ passed/, b.stdout + b.stderr);
      assert.equal(selftest(text), selftest(b.stdout));
      assert.match(selftest(text), /PASS block I\/O\n/);
      assert.equal(a.code, b.code, a.stderr);
    });
  },
});

Deno.test({
  ...needs(
    "pvx boot --disk ext4: grub64 loads Debian's Linux and hands over (same outcome as direct)",
    NO_GRUB,
    NO_E2FS,
    NO_LINUX,
    NOT_FULL,
  ),
  async fn() {
    await inTemp(async (dir) => {
      // grub would spend ~3.7 G instructions unpacking the bzImage's xz payload: give it the
      // inner ELF, with the zero tails of its segments (.bss) out of the file
      const vmlinux = trimElf64(unwrapImage(await Deno.readFile(VMLINUZ)).elf);
      await Deno.writeFile(`${dir}/vmlinux`, vmlinux);
      const disk = `${dir}/linux.img`;
      const cmdline = "console=hvc0 earlyprintk=xen";
      await buildExtImage(disk, "ext4", {
        "boot/vmlinux": vmlinux,
        "boot/grub/grub.cfg": `linux /boot/vmlinux ${cmdline}\nboot\n`,
      }, 49152);
      const common = ["--memory", "256", "--on-eof", "wait"];
      const a = await pvx(...boot, ...common, "--disk", disk, "--max-instructions", "1500000000");
      const b = await pvx(
        "boot",
        `${dir}/vmlinux`,
        ...common,
        "--cmdline",
        cmdline,
        "--max-instructions",
        "300000000",
      );
      const text = plain(a.stdout);
      assert.match(text, /Reading \(xen\/xvda\)\/boot\/grub\/grub\.cfg/);
      // Linux's banner and the command line grub gave it, or the crash of a kernel not
      // yet running that far on pvx: the same through grub as booted directly
      const first = (s: string) =>
        plain(s).split("\n").filter((l) =>
          /Linux version|Command line:|domain 1 crashed|^\(XEN\) d1v0 RIP/.test(l)
        ).slice(0, 2);
      assert.ok(first(b.stdout).length > 0, b.stdout.slice(-2000) + b.stderr);
      assert.deepEqual(first(text), first(b.stdout), text.slice(-2000));
    });
  },
});

Deno.test({
  ...needs("trimElf64 keeps each segment's memory image and the notes", NO_GUEST64, NO_XTF),
  async fn() {
    /** The bytes each PT_LOAD puts in memory (file bytes then zeros to p_memsz), and the notes. */
    const loads = (elf: Uint8Array) => {
      const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
      const phoff = Number(dv.getBigUint64(0x20, true));
      const out: { type: number; vaddr: bigint; bytes: Uint8Array }[] = [];
      for (let i = 0; i < dv.getUint16(0x38, true); i++) {
        const ph = phoff + i * dv.getUint16(0x36, true);
        const off = Number(dv.getBigUint64(ph + 8, true));
        const filesz = Number(dv.getBigUint64(ph + 32, true));
        const memsz = dv.getUint32(ph, true) === 1 ? Number(dv.getBigUint64(ph + 40, true)) : 0;
        const bytes = new Uint8Array(Math.max(memsz, filesz));
        bytes.set(elf.subarray(off, off + filesz));
        out.push({ type: dv.getUint32(ph, true), vaddr: dv.getBigUint64(ph + 16, true), bytes });
      }
      return out;
    };
    for (const path of [GUEST64, XTF]) {
      const elf = await Deno.readFile(path);
      const trimmed = trimElf64(elf);
      assert.ok(trimmed.length < elf.length, path);
      assert.deepEqual(loads(trimmed), loads(elf), path);
    }
  },
});

Deno.test({
  ...needs("grub64's boot to grub> is deterministic: same instruction count, same bytes", NO_GRUB),
  async fn() {
    const image = await Deno.readFile(GRUB);
    const once = async () => {
      const sink = new MemorySink(1 << 20, 1 << 18);
      const m = new Machine({ image, memoryMiB: 64, console: sink });
      const devices = await attachDevices(m, { sink });
      // a fixed budget past the prompt (~24 M): a stop on the sink's text would depend on
      // when the host drains it
      const r = await m.run(undefined, 26_000_000);
      await devices.detach();
      await sink.close();
      return { n: r.instructions, text: sink.text(), ns: m.host.clock.nowNs() };
    };
    const a = await once(), b = await once();
    assert.match(a.text, /grub> /);
    assert.deepEqual(a, b);
  },
});
