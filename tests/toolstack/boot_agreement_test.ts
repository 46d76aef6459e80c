/**
 * `pvx inspect` and `pvx boot` agree on what is bootable: the inspector's pvxBootRefusal
 * is null exactly when the loader accepts the image, and when both refuse the loader says
 * the inspector's sentence. Real images (Debian's grub i386/x86_64/PVH, GNU Mach, a Linux
 * vmlinuz, XTF pv32pae and pv64 tests) plus the CLI on a 64-bit XTF test.
 */
import { ok, strictEqual } from "node:assert/strict";
import { inspectImage } from "../../lib/toolstack/image_summary.ts";
import { loadKernelImage, NO_LONG_MODE } from "../../lib/hypervisor/mod.ts";
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
    let refused64 = 0;
    for (const p of paths) {
      const bytes = Deno.readFileSync(p);
      const refusal = inspectImage(bytes, p).boot.pvxBootRefusal;
      let loadError: string | null = null;
      try {
        loadKernelImage(bytes, p);
      } catch (e) {
        loadError = (e as Error).message;
      }
      if (refusal === null) strictEqual(loadError, null, p);
      else {
        ok(loadError !== null && loadError.endsWith(refusal), `${p}: ${loadError}`);
      }
      if (refusal === NO_LONG_MODE) refused64++;
    }
    const any64 = paths.some((p) => p.includes("x86_64") || p.includes("pv64"));
    ok(!any64 || refused64 > 0, "a 64-bit image is refused for want of long mode");
  },
});

const xtf64 = XTF_IMAGES[1];
Deno.test({
  name: "pvx boot and pvx inspect say the same sentence about a 64-bit kernel" +
    (exists(xtf64) ? "" : " (ignored: XTF pv64 missing)"),
  ignore: !exists(xtf64),
  fn() {
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), { args: ["run", "-A", cli, ...args], stdin: "null" })
        .outputSync();
    const boot = run("boot", xtf64);
    strictEqual(boot.code, 2);
    const err = new TextDecoder().decode(boot.stderr).trim();
    strictEqual(err.split("\n").length, 1, err);
    ok(err.includes(NO_LONG_MODE), err);
    const inspect = run("inspect", xtf64);
    strictEqual(inspect.code, 0);
    ok(new TextDecoder().decode(inspect.stdout).includes(`pvx boot: refused: ${NO_LONG_MODE}`));
  },
});
