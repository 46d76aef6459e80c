/**
 * The README's browser figures: the same guest compute loop (`init=spin`: pvx-guest's
 * user-mode LCG loop, 20 M iterations) run in Deno and in the page in headless chromium
 * through the same Session and console code (timed from init's start to its output),
 * and the time from Boot to the shell prompt of the default guest in the page (and from
 * `run()` to the prompt in Deno). `deno run -A web/bench.ts` (needs /usr/bin/chromium).
 * @module
 */
import { boot as run } from "../lib/toolstack/boot.ts";
import { MemorySink } from "../lib/console/testing.ts";
import type { Machine } from "../lib/hypervisor/mod.ts";
import { Browser, haveChromium } from "../tests/web/_cdp.ts";
import { buildWeb } from "./build.ts";
import { serveDist } from "./serve.ts";
import { PageConsole } from "./src/page_console.ts";
import { Session } from "./src/session.ts";

const IMAGE = new URL("../guest/pvx-guest.elf", import.meta.url).pathname;

/** One boot in Deno: wall ms, retired instructions, ms to the first `pvx$ ` when asked. */
async function denoBoot(cmdline: string, input = ""): Promise<{ ms: number; instr: number }> {
  const sink = new MemorySink(1 << 20, 1 << 18);
  if (input) sink.type(input);
  let m: Machine | undefined;
  const t0 = performance.now();
  await run({
    image: IMAGE,
    cmdline,
    console: sink,
    noReboot: true,
    log: () => {},
    onMachine: (x) => {
      m = x;
    },
  });
  const ms = performance.now() - t0;
  await sink.close();
  return { ms, instr: m ? m.instructions : 0 };
}

/**
 * The loop in Deno through the page's own Session and console (a terminal double that
 * timestamps output): ms from "console: ring active" (init starts) to "spin: " (it ends).
 */
async function denoLoop(cmdline: string): Promise<{ loopMs: number; instr: number }> {
  const image = await Deno.readFile(IMAGE);
  const dec = new TextDecoder();
  let text = "";
  const at = new Map<string, number>();
  const term = {
    write(d: Uint8Array, done: () => void) {
      text += dec.decode(d, { stream: true });
      for (const k of ["console: ring active", "spin: "]) {
        if (!at.has(k) && text.includes(k)) at.set(k, performance.now());
      }
      setTimeout(done, 0);
    },
    onData() {
      return { dispose() {} };
    },
  };
  const con = new PageConsole(term);
  const s = new Session({
    image,
    imageName: "pvx-guest",
    cmdline,
    memoryMiB: 64,
    vcpus: 1,
    disk: null,
    net: false,
    trace: false,
    recordRings: false,
    reboot: false,
    console: con,
    log: () => {},
  });
  const end = await s.done;
  await con.close();
  return {
    loopMs: (at.get("spin: ") ?? NaN) - (at.get("console: ring active") ?? NaN),
    instr: end.instructions,
  };
}

interface PageRun {
  endMs: number;
  promptMs: number;
  loopMs: number;
  instr: number;
}

async function pageBoot(b: Browser, cmdline: string, devices: boolean): Promise<PageRun> {
  await b.eval(`(() => {
    document.getElementById("cmdline").value = ${JSON.stringify(cmdline)};
    document.getElementById("kernel-source").value = "builtin";
    document.getElementById("disk-source").value = ${JSON.stringify(devices ? "blank" : "none")};
    for (const id of ["net", "trace"]) document.getElementById(id).checked = ${devices};
  })()`);
  await b.click("#boot");
  if (cmdline === "") {
    await b.waitFor("pvxPage.timeTo('pvx$ ') >= 0", "the prompt");
    await b.click("#terminal");
    await b.type("poweroff");
  }
  await b.waitFor("pvxPage.state === 'ended'", "the end", 300_000);
  return await b.eval<PageRun>(
    "({ endMs: pvxPage.endMs, promptMs: pvxPage.timeTo('pvx$ '), instr: pvxPage.end.instructions," +
      " loopMs: pvxPage.timeTo('spin: ') - pvxPage.timeTo('console: ring active') })",
  );
}

if (import.meta.main) {
  if (!haveChromium()) {
    console.error("pvx: /usr/bin/chromium is missing (apt-get install chromium)");
    Deno.exit(2);
  }
  const rounds = Number(Deno.args[0] ?? 3);
  const dShell: number[] = [];
  const dSpin: number[] = [];
  let dLoopInstr = 0;
  await buildWeb();
  const { server, url } = serveDist(0);
  const b = await Browser.launch(await url);
  const pPrompt: number[] = [];
  const pPromptDev: number[] = [];
  const pSpin: number[] = [];
  let pLoopInstr = 0;
  try {
    await b.waitFor("globalThis.pvxPage && document.readyState === 'complete'", "the page");
    // interleaved, so that the load of a shared machine weighs on both alike
    for (let i = 0; i < rounds; i++) {
      const shell = await denoBoot("", "poweroff\n");
      // the loop: from init's start to its output; its instructions: init=spin less init=hello
      const base = await denoLoop("init=hello");
      const spin = await denoLoop("init=spin");
      dShell.push(shell.ms);
      dSpin.push(spin.loopMs);
      dLoopInstr = spin.instr - base.instr;
      const pShell = await pageBoot(b, "", false);
      const pShellDev = await pageBoot(b, "", true);
      const pBase = await pageBoot(b, "init=hello", false);
      const pSpinRun = await pageBoot(b, "init=spin", false);
      pPrompt.push(pShell.promptMs);
      pPromptDev.push(pShellDev.promptMs);
      pSpin.push(pSpinRun.loopMs);
      pLoopInstr = pSpinRun.instr - pBase.instr;
    }
  } finally {
    await b.close();
    await server.shutdown();
  }
  const best = (a: number[]) => Math.min(...a);
  const mips = (instr: number, ms: number) => (instr / ms / 1000).toFixed(1);
  console.log(`rounds: ${rounds} (best of each)`);
  console.log(
    `compute loop (init=spin, ${(dLoopInstr / 1e6).toFixed(1)} M instructions): Deno ${
      best(dSpin).toFixed(0)
    } ms = ${mips(dLoopInstr, best(dSpin))} M instr/s; chromium ${best(pSpin).toFixed(0)} ms = ${
      mips(pLoopInstr, best(pSpin))
    } M instr/s`,
  );
  console.log(
    `default guest, Boot to the shell prompt in the page: ${best(pPrompt).toFixed(0)} ms ` +
      `(no devices), ${best(pPromptDev).toFixed(0)} ms (disk, vif, trace); ` +
      `Deno boot to prompt + poweroff: ${best(dShell).toFixed(0)} ms`,
  );
}
