/**
 * The web page in a real browser (Debian's headless chromium over the DevTools protocol):
 * `deno task web`'s page boots the built-in guest, its selftest passes in the terminal,
 * typed commands answer (with the CLI's key handling: Enter, Backspace), `poweroff` ends
 * the run; the trace and capture it collected decode; bad files get the CLI's one-line
 * errors; an XTF test ends in SUCCESS. `PVX_WEB_SCREENSHOT=FILE` saves a screenshot.
 * Ignored, with the reason, when chromium is not installed.
 * @module
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  strictEqual,
} from "node:assert/strict";
import { Browser, haveChromium } from "./_cdp.ts";
import { buildWeb } from "../../web/build.ts";
import { serveDist } from "../../web/serve.ts";
import { decodeTrace } from "../../lib/trace/decode.ts";
import { TRC_PV_HYPERCALL_V2 } from "../../lib/abi/trace.ts";
import { readPcap } from "../../lib/netfront/pcap.ts";
import { xtfDir } from "./_xtf.ts";
import { pvx } from "../_pvx.ts";

const have = haveChromium();

Deno.test({
  name: `web page in headless chromium${have ? "" : " (ignored: /usr/bin/chromium missing)"}`,
  ignore: !have,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  await buildWeb();
  const { server, url } = serveDist(0);
  const b = await Browser.launch(await url);
  try {
    await b.waitFor("globalThis.pvxPage && document.readyState === 'complete'", "the page", 30_000);
    // the inspect report of the built-in guest shows before anything boots
    await b.waitFor(
      "document.getElementById('inspect').textContent.includes('pv32pae')",
      "inspect",
    );

    await t.step("the built-in guest boots, passes its selftest, answers, powers off", async () => {
      await b.click("#boot");
      await b.waitFor("pvxPage.screen().includes('pvx$ ')", "the shell prompt");
      await b.click("#terminal");
      await b.type("selftest");
      await b.waitFor("/selftest: \\d+ passed/.test(pvxPage.screen())", "the selftest", 120_000);
      const screen = await b.eval<string>("pvxPage.screen()");
      for (
        const area of ["descriptor tables", "MMU", "event channels", "block I/O", "network I/O"]
      ) {
        assert(screen.includes(`PASS ${area}`), `no PASS ${area} in:\n${screen}`);
      }
      assertMatch(screen, /selftest: 16 passed, 0 failed, 0 skipped/);
      // Backspace erases as on a terminal: "unamx" <BS> "e" is "uname"
      await b.type("unamx", false);
      await b.key("Backspace", 8);
      await b.type("e");
      await b.waitFor("pvxPage.screen().includes('pvx-guest on Xen 4.17.0-pvx')", "uname's answer");
      // the live views follow the guest
      const xs = await b.eval<string>("document.getElementById('xenstore').textContent");
      assertMatch(xs, /vbd/);
      assertMatch(xs, /vif/);
      const shot = Deno.env.get("PVX_WEB_SCREENSHOT");
      if (shot) await Deno.writeFile(shot, await b.screenshot());
      await b.type("poweroff");
      await b.waitFor("pvxPage.state === 'ended'", "the end of the run");
      const end = await b.eval<{ reason: string; exitCode: number }>("pvxPage.end");
      assertEquals([end.reason, end.exitCode], ["poweroff", 0]);
      assertMatch(await b.eval<string>("pvxPage.screen()"), /pvx: the guest powered off/);
    });

    await t.step(
      "the download buttons save the trace, its Perfetto JSON and the capture",
      async () => {
        const dir = await Deno.makeTempDir({ prefix: "pvx-web-dl-" });
        try {
          await b.send(
            "Browser.setDownloadBehavior",
            { behavior: "allow", downloadPath: dir },
            true,
          );
          const saved = async (button: string, name: string) => {
            await b.click(button);
            const path = `${dir}/${name}`;
            for (let i = 0; i < 200; i++) {
              try {
                const bytes = await Deno.readFile(path);
                if (bytes.length > 0) return bytes;
              } catch {
                // not yet
              }
              await new Promise((r) => setTimeout(r, 100));
            }
            throw new Error(`${button} saved no ${name}`);
          };
          const recs = decodeTrace(await saved("#dl-trace", "pvx-guest.xentrace"));
          assert(recs.some((r) => r.event === TRC_PV_HYPERCALL_V2), "no hypercall records");
          const json = JSON.parse(
            new TextDecoder().decode(await saved("#dl-perfetto", "pvx-guest.json")),
          );
          assert(json.traceEvents.length > 100, "a Perfetto trace with no events");
          const frames = readPcap(await saved("#dl-pcap", "pvx-guest.pcap"));
          // the selftest's ARP, 3 echoes and a UDP echo, each way
          assert(frames.length >= 10, `only ${frames.length} frames captured`);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step(
      "a disk kept in the browser's storage (OPFS) is saved when the guest stops",
      async () => {
        await b.eval(`(() => {
        document.getElementById("disk-source").value = "opfs";
        document.getElementById("cmdline").value = "selftest";
      })()`);
        await b.click("#boot");
        await b.waitFor("pvxPage.state === 'ended'", "the selftest's poweroff", 120_000);
        assertMatch(await b.eval<string>("pvxPage.screen()"), /PASS block I\/O/);
        const size = await b.eval<number>(
          "navigator.storage.getDirectory().then((d) => d.getFileHandle('pvx-disk.img'))" +
            ".then((h) => h.getFile()).then((f) => f.size)",
        );
        assertEquals(size, 4 << 20, await b.eval<string>("pvxPage.error"));
        await b.eval(`document.getElementById("cmdline").value = ""`);
      },
    );

    await t.step(
      "the page stays responsive while the guest computes; Stop ends a run",
      async () => {
        await b.eval(`(() => {
        document.getElementById("cmdline").value = "init=spin";
        document.getElementById("disk-source").value = "none";
      })()`);
        await b.click("#boot");
        await b.waitFor("pvxPage.state === 'ended'", "the compute loop's end", 120_000);
        const end = await b.eval<{ reason: string; instructions: number }>("pvxPage.end");
        assertMatch(await b.eval<string>("pvxPage.screen()"), /spin: [0-9a-f]+/);
        // a 25 ms page timer ran while the 80 M-instruction loop was still running: the emulator
        // yields (how far the loop had got depends on the machine's load, so any point before its
        // end counts)
        const mid = await b.eval<number[]>("pvxPage.samples");
        assert(
          mid.some((n) => n > 0 && n < end.instructions),
          `no page timer ran during the loop (samples ${mid}, ${end.instructions} instructions)`,
        );
        // Stop ends a run (the shell, waiting for keys)
        await b.eval(`document.getElementById("cmdline").value = ""`);
        await b.click("#boot");
        await b.waitFor("pvxPage.screen().includes('pvx$ ')", "the shell prompt");
        await b.click("#stop");
        await b.waitFor("pvxPage.state === 'ended'", "the stop");
        strictEqual(await b.eval<string>("pvxPage.end.reason"), "stopped");
        await b.eval(`document.getElementById("cmdline").value = ""`);
      },
    );

    await t.step("bad files get the CLI's one-line errors", async () => {
      const dir = await Deno.makeTempDir({ prefix: "pvx-web-" });
      try {
        const text = `${dir}/notes.txt`;
        await Deno.writeTextFile(text, "hello\n");
        await b.setFiles("#kernel-file", [text]);
        await b.waitFor("pvxPage.error !== ''", "an error");
        assertEquals(
          await b.eval<string>("document.getElementById('error').textContent"),
          await cliError(text),
        );
        const huge = `${dir}/huge.bin`;
        const f = await Deno.open(huge, { write: true, create: true });
        await f.truncate(300 << 20); // sparse
        f.close();
        await b.eval("pvxPage.error = ''");
        await b.setFiles("#kernel-file", [huge]);
        await b.waitFor("pvxPage.error !== ''", "an error");
        assertMatch(
          await b.eval<string>("pvxPage.error"),
          /^Cannot load image "huge.bin": .* limit$/,
        );
        // a 64-bit kernel (XTF's pv64 example) is no bad file: its report, and no error
        const xtf64 = xtfDir();
        const pv64 = xtf64 ? `${xtf64}/pv64/test-pv64-example` : "";
        if (pv64 !== "" && await exists(pv64)) {
          await b.eval("pvxPage.error = ''");
          await b.setFiles("#kernel-file", [pv64]);
          await b.waitFor(
            "document.getElementById('inspect').textContent.includes('pv64')",
            "the pv64 report",
          );
          assertEquals(await b.eval<string>("pvxPage.error"), "");
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    const xtf = xtfDir();
    await t.step({
      name: `an XTF test opened from disk ends in SUCCESS${
        xtf ? "" : " (ignored: no ../shared/xtf)"
      }`,
      ignore: !xtf,
      fn: async () => {
        await b.eval(`(() => {
          for (const [id, v] of [["memory", "128"], ["cmdline", ""]]) document.getElementById(id).value = v;
          for (const id of ["net", "trace", "record"]) document.getElementById(id).checked = false;
          document.getElementById("disk-source").value = "none";
          pvxPage.error = "";
        })()`);
        await b.setFiles("#kernel-file", [`${xtf}/pv32pae/test-pv32pae-example`]);
        await b.waitFor(
          "pvxPage.kernel?.name === 'test-pv32pae-example' && document.getElementById('inspect').textContent.includes('Boot summary')",
          "inspect",
        );
        assertEquals(await b.eval<string>("pvxPage.error"), "");
        await b.click("#boot");
        await b.waitFor("pvxPage.state === 'ended'", "the XTF test's end", 60_000);
        assertMatch(await b.eval<string>("pvxPage.screen()"), /Test result: SUCCESS/);
      },
    });
  } finally {
    await b.close();
    await server.shutdown();
  }
});

/** What `pvx boot FILE` prints on stderr (its first line), the path shown as the page shows it. */
async function cliError(path: string): Promise<string> {
  const r = await pvx("boot", path);
  strictEqual(r.code, 2, r.stderr);
  const name = path.slice(path.lastIndexOf("/") + 1);
  return r.stderr.split("\n")[0].replaceAll(`"${path}"`, `"${name}"`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}
