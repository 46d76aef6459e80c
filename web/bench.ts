/**
 * The README's browser figures: the same guest compute loop (`init=spin`: pvx-guest's
 * user-mode LCG loop, 20 M iterations) run in Deno and in the page in headless chromium,
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

interface PageRun {
  endMs: number;
  promptMs: number;
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
    "({ endMs: pvxPage.endMs, promptMs: pvxPage.timeTo('pvx$ '), instr: pvxPage.end.instructions })",
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
      const spin = await denoBoot("init=spin");
      dShell.push(shell.ms);
      dSpin.push(spin.ms - shell.ms);
      dLoopInstr = spin.instr - shell.instr;
      const pShell = await pageBoot(b, "", false);
      const pShellDev = await pageBoot(b, "", true);
      const pSpinRun = await pageBoot(b, "init=spin", false);
      pPrompt.push(pShell.promptMs);
      pPromptDev.push(pShellDev.promptMs);
      pSpin.push(pSpinRun.endMs - pShell.endMs);
      pLoopInstr = pSpinRun.instr - pShell.instr;
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
