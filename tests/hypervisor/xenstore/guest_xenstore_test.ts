/**
 * XenStore as a real guest uses it: Debian's pvgrub (grub-i386-xen.bin, fetched by
 * .ci/setup.d/inspect.sh) reads the domain's store through its own xenstore ring
 * (`xen_ls`, `xen_cat`), including a key that Debian's xenstore-write changed through
 * the socket while the guest sat at its prompt. Skipped when the image is absent.
 */
import { ok, strictEqual } from "node:assert/strict";
import { MemorySink } from "../../../lib/console/testing.ts";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { attachDevices } from "../../../lib/toolstack/devices.ts";

const GRUB = new URL("../../fixtures/cache/inspect/grub-i386-xen.bin", import.meta.url).pathname;
const present = await Deno.stat(GRUB).then(() => true, () => false);
const haveWrite = await Deno.stat("/usr/bin/xenstore-write").then(() => true, () => false);
if (!present) console.warn(`skipping the pvgrub XenStore test: ${GRUB} is absent`);

/** Screen text: ANSI escapes and CRs removed. */
function plain(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
}

Deno.test({
  name: "pvgrub lists and reads the domain's XenStore over its ring, seeing xenstore-write",
  ignore: !present,
  async fn() {
    const sink = new MemorySink(1 << 20, 1 << 18);
    const m = new Machine({ image: await Deno.readFile(GRUB), memoryMiB: 64, console: sink });
    const sock = Deno.makeTempDirSync({ prefix: "pvx-xs-" }) + "/xs.sock";
    const dev = await attachDevices(m, { sink, name: "pvgrub", xenstoreSocket: sock });
    try {
      const prompts = () => plain(sink.text()).split("grub> ").length - 1;
      const step = async (n: number) => {
        const r = await m.run(() => prompts() >= n, 300_000_000);
        strictEqual(r.reason, "until", `no prompt ${n}: ${plain(sink.text()).slice(-400)}`);
      };
      await step(1);
      sink.type("xen_ls /local/domain/1\r");
      await step(2);
      ok(
        /xen_ls \/local\/domain\/1\nvm\nname\ndomid\ndevice\ncontrol\n[\s\S]*console\n/.test(
          plain(sink.text()),
        ),
        plain(sink.text()),
      );
      let name = "pvgrub";
      if (haveWrite) {
        name = "renamed-by-xenstore-write";
        const o = await new Deno.Command("xenstore-write", {
          args: ["/local/domain/1/name", name],
          env: { XENSTORED_PATH: sock },
        }).output();
        ok(o.success, "xenstore-write failed");
      }
      sink.type("xen_cat /local/domain/1/name\r");
      await step(3);
      ok(
        plain(sink.text()).includes(`xen_cat /local/domain/1/name\n${name}\n`),
        plain(sink.text()),
      );
      // the guest may read only what libxl lets it: dom0's own nodes are refused
      sink.type("xen_cat /local/domain/0/backend\r");
      await step(4);
      ok(
        plain(sink.text()).split("grub> ")[3].includes("/local/domain/0/backend': EACCES"),
        plain(sink.text()),
      );
    } finally {
      await dev.detach();
      await sink.close();
    }
  },
});
