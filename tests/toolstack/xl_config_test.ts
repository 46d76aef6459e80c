/** Tests of tools/_xl_config.ts: xl.cfg(5) syntax and the keys pvx boots from. */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../lib/errors.ts";
import { parseDiskSpec } from "../../lib/toolstack/disk_spec.ts";
import {
  loadXlConfig,
  parseXlConfig,
  parseXlSettings,
  type XlValue,
} from "../../lib/toolstack/xl_config.ts";

const RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 100_000 : 500;

/** Asserts an InputError whose message names `where` (file:line). */
function throwsAt(fn: () => unknown, where: string, detail?: RegExp): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof InputError, String(e));
    ok(e.message.includes(`"${where}"`), e.message);
    if (detail) ok(detail.test(e.message), e.message);
    return true;
  });
}

Deno.test("parseXlSettings() reads strings, numbers, lists, comments and separators", () => {
  const text = [
    "# a domain",
    `name = "web"   # trailing comment`,
    "memory=0x20; vcpus = 1",
    `extra = 'a "quoted" word'`,
    `cmdline = "tab\\there \\x41 \\\\ \\"q\\""`,
    "disk = [ 'd.img,xvda',",
    "         # a comment inside the list",
    `         "e.img,xvdb" , ]`,
    "vif = []",
    "",
  ].join("\n");
  const s = parseXlSettings(text, "w.cfg");
  deepStrictEqual(s.map((x) => [x.key, x.value, x.line]), [
    ["name", "web", 2],
    ["memory", 32, 3],
    ["vcpus", 1, 3],
    ["extra", 'a "quoted" word', 4],
    ["cmdline", 'tab\there A \\ "q"', 5],
    ["disk", ["d.img,xvda", "e.img,xvdb"], 6],
    ["vif", [], 9],
  ]);
});

Deno.test("parseXlSettings() appends with += to lists and strings", () => {
  const s = parseXlSettings(
    "vif = ['bridge=a']\nvif += ['bridge=b']\nextra = 'x'\nextra += ' y'\n",
    "p.cfg",
  );
  deepStrictEqual(s[1].value, ["bridge=a", "bridge=b"]);
  strictEqual(s[3].value, "x y");
  throwsAt(() => parseXlSettings("a = 'x'\na += [ 'y' ]", "p.cfg"), "p.cfg:2", /\+=/);
});

Deno.test("parseXlSettings() names file:line for each syntax error", async (t) => {
  const cases: [string, number, RegExp][] = [
    ["name = 'a\n", 1, /unterminated string/],
    ["\n\nname 'a'\n", 3, /expected "="/],
    ["name =\n", 1, /expected a value/],
    ["name = 'a' 'b'\n", 1, /end of the "name" setting/],
    ["disk = [ 'a'\n 'b' ]\n", 2, /expected "," or "]"/],
    ["disk = [ 'a',\n\n [ 'b' ] ]", 3, /nested lists/],
    ["disk = [ 'a',\n", 2, /end of file/],
    ["= 3\n", 1, /setting name/],
    ["memory = 12abc\n", 1, /bad number/],
    ['x = "\\q"\n', 1, /bad escape/],
    ["a = 1\nb = @\n", 2, /unexpected character "@"/],
  ];
  for (const [text, line, re] of cases) {
    await t.step(
      JSON.stringify(text),
      () => throwsAt(() => parseXlSettings(text, "s.cfg"), `s.cfg:${line}`, re),
    );
  }
});

/** Writes a value in xl syntax (the inverse of the parser, for the round-trip property). */
function render(v: XlValue): string {
  const str = (s: string) => `"${s.replace(/[\\"]/g, (c) => "\\" + c).replace(/\n/g, "\\n")}"`;
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return str(v);
  return `[\n  ${v.map(str).join(",\n  ")}${v.length ? ",\n" : ""}]`;
}

Deno.test("parseXlSettings() reads back what render() writes (property)", () => {
  const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/);
  const value: fc.Arbitrary<XlValue> = fc.oneof(
    fc.nat(),
    fc.string(),
    fc.array(fc.string(), { maxLength: 4 }),
  );
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(key, value), { selector: (x) => x[0], maxLength: 6 }),
      (kvs) => {
        const text = kvs.map(([k, v]) => `${k} = ${render(v)}  # c`).join("\n");
        const got = parseXlSettings(text, "r.cfg").map((s) => [s.key, s.value]);
        deepStrictEqual(got, kvs);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("parseXlSettings() throws only InputError on arbitrary text (property)", () => {
  const alphabet = fc.constantFrom(..."ab_=[],;#'\"\\+\n 0x9".split(""));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 60 })), (text) => {
      try {
        parseXlSettings(text, "f.cfg");
      } catch (e) {
        ok(e instanceof InputError, String(e));
        ok(/"f\.cfg:\d+"/.test(e.message), e.message);
      }
    }),
    { numRuns: RUNS },
  );
});

Deno.test("parseXlConfig() maps the keys, resolving paths against the file's directory", () => {
  const d = parseXlConfig(
    [
      "name = 'web'",
      "type = 'pv'",
      "kernel = '../k/vmlinuz'",
      "ramdisk = '/abs/initrd.img'",
      "memory = 48",
      "vcpus = 1",
      "root = '/dev/xvda1 ro'",
      "extra = 'console=hvc0'",
      "disk = [ 'format=raw, vdev=xvda, access=ro, target=disk.img', 'tap:aio:/x/y.img,xvdb,w' ]",
      "vif = [ 'mac=00:16:3e:00:00:0a, bridge=xenbr1' ]",
      "on_poweroff = 'preserve'",
      "on_reboot = 'destroy'",
      "on_crash = 'coredump-restart'",
    ].join("\n"),
    "/vm/cfg/web.cfg",
  );
  strictEqual(d.name, "web");
  strictEqual(d.kernel, "/vm/k/vmlinuz");
  strictEqual(d.ramdisk, "/abs/initrd.img");
  strictEqual(d.memoryMiB, 48);
  strictEqual(d.cmdline, "root=/dev/xvda1 ro console=hvc0");
  deepStrictEqual(d.vifs, ["mac=00:16:3e:00:00:0a, bridge=xenbr1"]);
  strictEqual(d.onPoweroff, "preserve");
  strictEqual(d.onReboot, "destroy");
  strictEqual(d.onCrash, "restart");
  ok(d.warnings.some((w) => /web\.cfg:13: on_crash "coredump-restart" runs as "restart"/.test(w)));
  const disks = d.disks.map((s, i) => parseDiskSpec(s, i));
  deepStrictEqual(disks.map((x) => [x.target, x.vdev, x.readonly]), [
    ["/vm/cfg/disk.img", "xvda", true],
    ["/x/y.img", "xvdb", false],
  ]);
});

Deno.test("parseXlConfig() keeps every disk field through the resolved spec (property)", () => {
  const spec = fc.record({
    file: fc.stringMatching(/^[a-z][a-z0-9_.]{0,8}$/),
    vdev: fc.constantFrom("xvda", "xvdb", "hdc", "sdb", "xvdz"),
    ro: fc.boolean(),
    cdrom: fc.boolean(),
    snapshot: fc.boolean(),
    discard: fc.boolean(),
  });
  fc.assert(
    fc.property(spec, (s) => {
      const text = [
        s.file,
        "raw",
        s.vdev,
        s.ro || s.cdrom ? "ro" : "rw",
        ...(s.cdrom ? ["cdrom"] : []),
        ...(s.snapshot ? ["snapshot"] : []),
        s.discard ? "discard" : "no-discard",
      ].join(",");
      const want = parseDiskSpec(text);
      const d = parseXlConfig(`kernel = 'k'\ndisk = [ '${text}' ]`, "/d/x.cfg");
      deepStrictEqual(parseDiskSpec(d.disks[0]), { ...want, target: `/d/${s.file}` });
    }),
    { numRuns: RUNS },
  );
});

Deno.test("parseXlConfig() builds the command line as xl does", () => {
  const cmd = (body: string) => {
    const d = parseXlConfig(`kernel = 'k'\n${body}`, "c.cfg");
    return [d.cmdline, d.warnings.length];
  };
  deepStrictEqual(cmd("root = '/dev/xvda'"), ["root=/dev/xvda", 0]);
  deepStrictEqual(cmd("extra = 'selftest'"), ["selftest", 0]);
  deepStrictEqual(cmd("cmdline = 'a b'\nextra = 'c'"), ["a b", 1]);
  deepStrictEqual(cmd(""), [undefined, 0]);
});

Deno.test("parseXlConfig() defaults: name from the file, xl's on_* actions", () => {
  const d = parseXlConfig('kernel = "/k"', "/etc/xen/db-1.cfg");
  strictEqual(d.name, "db-1");
  deepStrictEqual([d.onPoweroff, d.onReboot, d.onCrash], ["destroy", "restart", "destroy"]);
  deepStrictEqual([d.disks, d.vifs, d.memoryMiB], [[], [], undefined]);
});

Deno.test("parseXlConfig() takes xl's names (XTF's test-ENV-NAME~VAR) and vcpus", () => {
  const d = parseXlConfig("kernel = 'k'\nvcpus = 2", "/x/test-pv32pae-pv-iopl~hypercall.cfg");
  deepStrictEqual([d.name, d.vcpus], ["test-pv32pae-pv-iopl~hypercall", 2]);
  strictEqual(parseXlConfig("kernel = 'k'\nvcpus = 2\nmaxvcpus = 4", "a.cfg").vcpus, 4);
  strictEqual(parseXlConfig("kernel = 'k'", "a.cfg").vcpus, 1);
});

Deno.test("parseXlConfig() warns about unknown keys, naming file:line", () => {
  const d = parseXlConfig("kernel = 'k'\n\nusbctrl = [ 'x' ]\nuuid = 'u'\n", "u.cfg");
  deepStrictEqual(d.warnings, ['u.cfg:3: unknown setting "usbctrl" ignored']);
});

Deno.test("parseXlConfig() rejects what pvx cannot boot, naming file:line", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["kernel = 'k'\ntype = 'hvm'", "b.cfg:2", /type "hvm" is not supported/],
    ["kernel = 'k'\ntype = 'pvh'", "b.cfg:2", /pvx boots PV domains/],
    ["kernel = 'k'\nbuilder = 'hvm'", "b.cfg:2", /builder "hvm"/],
    ["kernel = 'k'\nvcpus = 33", "b.cfg:2", /from 1 to 32/],
    ["kernel = 'k'\nmaxvcpus = 0", "b.cfg:2", /from 1 to 32/],
    ["kernel = 'k'\nmemory = 2", "b.cfg:2", /memory/],
    ["kernel = 'k'\nmemory = '64M'", "b.cfg:2", /whole number/],
    ["kernel = 'k'\nname = 'a b'", "b.cfg:2", /bad domain name/],
    ["kernel = 'k'\nname = 'a/b'", "b.cfg:2", /bad domain name/],
    ["kernel = 3", "b.cfg:1", /must be a string/],
    ["kernel = 'k'\ndisk = 'a.img'", "b.cfg:2", /must be a list/],
    ["kernel = 'k'\ndisk = [ 'a.img,xvda,qcow2' ]", "b.cfg:2", /qcow2/],
    ["kernel = 'k'\n\nvif = [ 'mac=01:00:00:00:00:01' ]", "b.cfg:3", /multicast/],
    ["kernel = 'k'\non_crash = 'explode'", "b.cfg:2", /on_crash/],
    ["name = 'x'", "b.cfg", /no kernel/],
  ];
  for (const [text, where, re] of cases) {
    await t.step(
      where + " " + re.source,
      () => throwsAt(() => parseXlConfig(text, "b.cfg"), where, re),
    );
  }
});

Deno.test("loadXlConfig() reads a file and names a missing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.cfg`, "kernel = 'guest.elf'\nmemory = 16\n");
    const d = await loadXlConfig(`${dir}/a.cfg`);
    strictEqual(d.kernel, `${dir}/guest.elf`);
    strictEqual(d.memoryMiB, 16);
    await loadXlConfig(`${dir}/nope.cfg`).then(
      () => ok(false, "no error"),
      (e) => {
        ok(e instanceof InputError);
        ok(/Cannot read xl config ".*nope\.cfg": no such file/.test(e.message), e.message);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("xl config: gdb = PORT | unix:PATH and gdb_wait (pvx keys), checked", () => {
  const k = 'kernel = "k.elf"\n';
  const a = parseXlConfig(k + 'gdb = "1234"\ngdb_wait = 1\n', "/d/a.cfg");
  strictEqual(a.gdb, "1234");
  strictEqual(a.gdbWait, true);
  deepStrictEqual(a.warnings, []);
  strictEqual(parseXlConfig(k + "gdb = 4321\n", "/d/a.cfg").gdb, "4321");
  strictEqual(parseXlConfig(k + 'gdb = "unix:/tmp/s"\n', "/d/a.cfg").gdb, "unix:/tmp/s");
  const none = parseXlConfig(k, "/d/a.cfg");
  strictEqual(none.gdb, undefined);
  strictEqual(none.gdbWait, false);
  throwsAt(() => parseXlConfig(k + 'gdb = "port"\n', "/d/a.cfg"), "/d/a.cfg:2", /unix:PATH/);
  throwsAt(() => parseXlConfig(k + "gdb = 70000\n", "/d/a.cfg"), "/d/a.cfg:2");
  throwsAt(() => parseXlConfig(k + "gdb_wait = 2\n", "/d/a.cfg"), "/d/a.cfg:2");
});
