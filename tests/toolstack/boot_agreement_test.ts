/**
 * `pvx inspect` and `pvx boot` agree on what is bootable: the inspector's pvxBootRefusal
 * is null exactly when the loader accepts the image, and when both refuse the loader says
 * the inspector's sentence. Real images (Debian's grub i386/x86_64/PVH, GNU Mach, a Linux
 * vmlinuz, XTF pv32pae and pv64 tests) plus the CLI on a 64-bit XTF test.
 */
import { ok, strictEqual } from "node:assert/strict";
import { inspectImage } from "../../lib/toolstack/image_summary.ts";
import { loadPvKernel } from "../../lib/hypervisor/mod.ts";
import { fixture, REAL_IMAGES } from "../inspect/_fixtures.ts";

const XTF = "/work/shared/xtf";
const XTF_IMAGES = [`${XTF}/pv32pae/test-pv32pae-example`, `${XTF}/pv64/test-pv64-example`];
const exists = (p: string) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
};
const paths = [
  ...REAL_IMAGES.map((n) => fixture(n)).filter((p): p is string => p !== null),
  ...XTF_IMAGES.filter(exists),
];

Deno.test({
  name: "inspect's pvxBootRefusal matches the loader on every real image" +
    (paths.length > 0 ? "" : " (ignored: no fixture images and no XTF)"),
  ignore: paths.length === 0,
  fn() {
    let accepted64 = 0;
    for (const p of paths) {
      const bytes = Deno.readFileSync(p);
      const refusal = inspectImage(bytes, p).boot.pvxBootRefusal;
      let loadError: string | null = null;
      try {
        loadPvKernel(bytes, p);
      } catch (e) {
        loadError = (e as Error).message;
      }
      if (refusal === null) strictEqual(loadError, null, p);
      else {
        ok(loadError !== null && loadError.endsWith(refusal), `${p}: ${loadError}`);
      }
      if (refusal === null && inspectImage(bytes, p).elf.class === 64) accepted64++;
    }
    const any64 = paths.some((p) => p.includes("pv64"));
    ok(!any64 || accepted64 > 0, "a 64-bit PV image is accepted");
  },
});

const xtf64 = XTF_IMAGES[1];
Deno.test({
  name: "pvx inspect calls a 64-bit PV kernel bootable" +
    (exists(xtf64) ? "" : " (ignored: XTF pv64 missing)"),
  ignore: !exists(xtf64),
  fn() {
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const inspect = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, "inspect", xtf64],
      stdin: "null",
    }).outputSync();
    strictEqual(inspect.code, 0);
    const out = new TextDecoder().decode(inspect.stdout);
    ok(!out.includes("pvx boot: refused"), out);
  },
});
