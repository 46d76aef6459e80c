import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  defaultVdev,
  DiskSpecError,
  parseDiskSpec,
  parseDiskSpecs,
  vdevToDevid,
} from "../../lib/toolstack/disk_spec.ts";
import { InputError } from "../../lib/errors.ts";

Deno.test("vdevToDevid() follows xen-vbd-interface(7)", async (t) => {
  const cases: [string, number | undefined][] = [
    ["xvda", (202 << 8) | 0],
    ["xvdb", (202 << 8) | (1 << 4)],
    ["xvda1", (202 << 8) | 1],
    ["xvdp15", (202 << 8) | (15 << 4) | 15],
    ["xvdq", (1 << 28) | (16 << 8)],
    ["xvda16", (1 << 28) | 16],
    ["xvdaa", (1 << 28) | (26 << 8)],
    ["hda", 3 << 8],
    ["hdb", (3 << 8) | 64],
    ["hdc", 22 << 8],
    ["hdd2", (22 << 8) | 64 | 2],
    ["sda", 8 << 8],
    ["sdb3", (8 << 8) | 16 | 3],
    ["d0p1", (202 << 8) | 1],
    ["d17", (1 << 28) | (17 << 8)],
    ["51712", 51712],
    ["hde", undefined],
    ["sdq", undefined],
    ["hda64", undefined],
    ["xvda256", undefined],
    ["xvda01", undefined],
    ["vda", undefined],
    ["", undefined],
  ];
  for (const [vdev, want] of cases) {
    await t.step(`${vdev || "(empty)"} -> ${want}`, () => strictEqual(vdevToDevid(vdev), want));
  }
});

Deno.test("parseDiskSpec() reads xl's key=value form, target last with commas", () => {
  const d = parseDiskSpec("format=raw, vdev=xvdb, access=ro, target=/img/a,b.img");
  deepStrictEqual(d, {
    target: "/img/a,b.img",
    format: "raw",
    vdev: "xvdb",
    devid: (202 << 8) | 16,
    readonly: true,
    devtype: "disk",
    snapshot: false,
    discard: true,
  });
});

Deno.test("parseDiskSpec() reads the xl positional forms", () => {
  const a = parseDiskSpec("/dev/vg/guest-volume,,hda");
  strictEqual(a.target, "/dev/vg/guest-volume");
  strictEqual(a.vdev, "hda");
  strictEqual(a.readonly, false);
  const b = parseDiskSpec("/dev/vg/guest-volume,raw,hda,rw");
  strictEqual(b.devid, a.devid);
  const c = parseDiskSpec("/root/image.iso,,hdc,,cdrom");
  strictEqual(c.devtype, "cdrom");
  strictEqual(c.readonly, true);
  const d = parseDiskSpec("raw:/root/image.iso,hdc:cdrom,ro");
  strictEqual(d.target, "/root/image.iso");
  strictEqual(d.vdev, "hdc");
  strictEqual(d.devtype, "cdrom");
});

Deno.test("parseDiskSpec() reads the short form PATH[,VDEV][,ro] with defaults", () => {
  const a = parseDiskSpec("disk.img");
  strictEqual(a.vdev, "xvda");
  strictEqual(a.readonly, false);
  const b = parseDiskSpec("disk.img", 1);
  strictEqual(b.vdev, "xvdb");
  const c = parseDiskSpec("disk.img,xvdc,ro");
  strictEqual(c.vdev, "xvdc");
  strictEqual(c.readonly, true);
  const d = parseDiskSpec("disk.img,ro");
  strictEqual(d.vdev, "xvda");
  strictEqual(d.readonly, true);
  const e = parseDiskSpec("disk.img,xvda,snapshot,no-discard");
  strictEqual(e.snapshot, true);
  strictEqual(e.discard, false);
  strictEqual(defaultVdev(26), "xvdaa");
});

Deno.test("parseDiskSpec() rejects bad specs with a DiskSpecError naming the problem", async (t) => {
  const bad: [string, RegExp][] = [
    ["", /no target/],
    ["format=qcow2,target=a.img", /format "qcow2" is not supported/],
    ["a.img,vdev=xvda,vdev=xvdb", /vdev given twice/],
    ["a.img,xvdz9999", /unknown vdev/],
    ["a.img,vdev=vda", /unknown vdev "vda"/],
    ["a.img,access=rx", /access must be ro or rw/],
    ["a.img,colour=blue", /unknown key "colour"/],
    ["a.img,script=block", /script= is not supported/],
    ["a.img,devtype=cdrom,access=rw", /cdrom cannot be read-write/],
    ["a.img,raw,xvda,rw,extra", /unexpected "extra"/],
    ["a.img,backend=3", /only backend=0/],
  ];
  for (const [spec, re] of bad) {
    await t.step(spec || "(empty)", () => {
      throws(() => parseDiskSpec(spec), (e: unknown) => {
        return e instanceof DiskSpecError && e instanceof InputError && re.test(e.message);
      });
    });
  }
});

Deno.test("parseDiskSpecs() numbers disks and rejects a repeated virtual device", () => {
  const ds = parseDiskSpecs(["a.img", "b.img,ro"]);
  deepStrictEqual(ds.map((d) => d.vdev), ["xvda", "xvdb"]);
  throws(() => parseDiskSpecs(["a.img", "b.img,xvda"]), /same virtual device 51712/);
  throws(() => parseDiskSpecs(["a.img,d0", "b.img,xvda"]), DiskSpecError);
});
