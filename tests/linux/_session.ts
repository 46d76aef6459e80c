/**
 * One scripted Linux session for tests/linux/linux_boot_test.ts: boots Debian's kernel
 * (tests/fixtures/cache/linux, `deno task linux`) with its busybox initramfs (busybox init,
 * scripts/linux/inittab), an ext4 xvda and a vif on xenbr0, waits for the shell, then runs
 * each stage: a shell command with an end marker the shell has to compute (so the echo of
 * the typed line never matches), a host action between runs (xenstore-ls on the session's
 * XenStore socket), or a step that ends the domain (`reboot`: the session builds the domain
 * again on the same disk, as `pvx boot` does, and waits for the shell; `poweroff`, or a
 * xenstore-write of control/shutdown). Each stage records what it got, or, once the boot
 * stops short, where and why.
 * @module
 */
import { Machine } from "../../lib/hypervisor/machine/machine.ts";
import type { RunResult } from "../../lib/hypervisor/machine/machine.ts";
import { addrOf } from "../../lib/hypervisor/pv64/guest_access64.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { attachDevices } from "../../lib/toolstack/devices.ts";
import { Network } from "../../lib/toolstack/vif_attach.ts";
import { openTrace } from "../../lib/toolstack/outputs.ts";
import { openRingRecording } from "../../lib/toolstack/recording_file.ts";
import {
  type Kallsyms,
  parseSystemMap,
  readKallsyms,
  symbolize,
} from "../../scripts/linux/kallsyms.ts";

/** The fixture folder (PVX_LINUX_DIR overrides it). */
export const LINUX_DIR = Deno.env.get("PVX_LINUX_DIR")?.replace(/\/?$/, "/") ??
  new URL("../fixtures/cache/linux/", import.meta.url).pathname;

/** What a host action sees. */
export interface HostContext {
  /** The running domain's id. */
  domid: number;
  /** The XenStore socket of the session. */
  xenstoreSocket: string;
}

/** A step of the session, and what it got. */
export interface Stage {
  /** Short name (the test's). */
  name: string;
  /** The shell line typed. */
  command?: string;
  /** Or a host action, run while the guest is stopped; its result is the output. */
  host?: (h: HostContext) => Promise<string>;
  /** The step ends the domain this way (the run goes on until it does). */
  ends?: "reboot" | "poweroff";
  /** The console output after the typed line (up to the marker), or the host's result. */
  output?: string;
}

/** What one session did. */
export interface Session {
  /** The whole console text (every boot). */
  console: string;
  /** Whether the shell came up (the banner of scripts/linux/rcS and a prompt). */
  shell: boolean;
  /** Instructions and wall seconds to the first shell. */
  shellInstructions: number;
  shellSeconds: number;
  /** The stages, with output for those reached. */
  stages: Stage[];
  /** How the last run ended. */
  end: RunResult;
  /** Boots done (1 + reboots). */
  boots: number;
  /** Instructions retired in all (every boot). */
  instructions: number;
  /** Wall seconds of the session. */
  seconds: number;
  /** Where Linux stopped when it did not reach the end (one line), or null. */
  stoppedAt: string | null;
  /** The disk image after the session (a copy of the fixture's root.img). */
  disk: string;
  /** Replies the host endpoint (10.0.0.1) sent to ICMP echo requests. */
  echoReplies: number;
  /** The trace and ring recording of the first boot, when asked for. */
  trace?: string;
  recording?: string;
}

/** Options of {@link runSession}. */
export interface SessionOptions {
  /** Instruction budget for each boot to the shell. */
  bootBudget: number;
  /** Instruction budget per command. */
  commandBudget: number;
  /** Block compiler on (default) or off. */
  jit?: boolean;
  /** vcpus (default 2). */
  vcpus?: number;
  /** Where to put the disk copy and the XenStore socket (a temp dir). */
  dir: string;
  /** The stages. */
  stages: Stage[];
  /** The kernel command line (default {@link CMDLINE}). */
  cmdline?: string;
  /** Record a xentrace-format trace of the first boot here. */
  trace?: string;
  /** Record the ring traffic of the first boot here (pvx replay). */
  recordRings?: string;
}

/** The command line the session boots with. */
export const CMDLINE = "console=hvc0";

const INIT_BANNER = /pvx-linux: [^\n]*\n/;
// ash asks the terminal for the cursor position (ESC [ 6 n) after its prompt
// deno-lint-ignore no-control-regex
const PROMPT = /[#$] (?:\x1b\[6n)?$/;

let kallsyms: Kallsyms | null | undefined;

/** The fixture kernel's symbols (System.map from build.sh, else its own kallsyms). */
export async function linuxSymbols(): Promise<Kallsyms | null> {
  if (kallsyms !== undefined) return kallsyms;
  try {
    kallsyms = parseSystemMap(await Deno.readTextFile(LINUX_DIR + "System.map"));
  } catch {
    kallsyms = null;
  }
  kallsyms ??= readKallsyms(await Deno.readFile(LINUX_DIR + "vmlinuz"));
  return kallsyms;
}

/** The last non-empty console line, shortened. */
function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l !== "");
  const l = lines.at(-1) ?? "";
  return l.length > 100 ? l.slice(0, 97) + "..." : l;
}

/** " <- caller <- caller": the first kernel text addresses on vcpu 0's stack. */
function callers(m: Machine, k: Kallsyms): string {
  const v = m.domain.vcpus[0], c = v.cpu64!;
  const words = new Uint8Array(8 * 64);
  if (!v.access.copyFromGuest(addrOf(c.lo(4), c.hi(4)), words)) return "";
  const dv = new DataView(words.buffer);
  const out: string[] = [];
  for (let i = 0; i < 64 && out.length < 3; i++) {
    const name = symbolize(k, dv.getUint32(8 * i + 4, true), dv.getUint32(8 * i, true), "Tt");
    if (name && !name.endsWith("+0x0")) out.push(name);
  }
  return out.map((n) => ` <- ${n}`).join("");
}

/** One line saying where vcpu 0 is and why the run ended. */
async function describeStop(m: Machine, r: RunResult, text: string, debug: string[]) {
  const v = m.domain.vcpus[0];
  const hi = v.cpu64 ? v.cpu64.ripHi >>> 0 : 0, lo = v.cpu.eip >>> 0;
  const k = await linuxSymbols();
  const rip = `${hi.toString(16)}${lo.toString(16).padStart(8, "0")}`;
  let where = (k && symbolize(k, hi, lo)) ?? `rip ${rip}`;
  if (k && v.cpu64) where += callers(m, k);
  const why = r.reason === "limit"
    ? `instruction budget spent (${(r.instructions / 1e6).toFixed(0)} M)`
    : r.reason === "crash"
    ? (debug.findLast((l) => l.includes("crash")) ?? "crash").replace(/^d\d+: /, "")
      .replace(/ \(rip 0x[-0-9a-f]+\)/, "")
    : r.reason;
  return `${where} (${why}; last line ${JSON.stringify(lastLine(text))})`;
}

/** The sink's text, decoded incrementally (the run's stop conditions read it per slice). */
class ConsoleText {
  #text = "";
  #seen = 0;
  readonly #dec = new TextDecoder();
  constructor(readonly sink: MemorySink) {}
  get(): string {
    const c = this.sink.chunks;
    while (this.#seen < c.length) this.#text += this.#dec.decode(c[this.#seen++], { stream: true });
    return this.#text;
  }
}

/** Whether the shell's banner and a prompt after it are in the text from `from` on. */
function atShell(text: string, from: number): boolean {
  const t = text.slice(from), b = t.search(INIT_BANNER);
  return b >= 0 && PROMPT.test(t);
}

/**
 * Runs the session.
 * @returns what happened; throws only when the fixture cannot be read
 */
export async function runSession(o: SessionOptions): Promise<Session> {
  const disk = `${o.dir}/root.img`, sock = `${o.dir}/xs.sock`;
  await Deno.copyFile(LINUX_DIR + "root.img", disk);
  const image = await Deno.readFile(LINUX_DIR + "vmlinuz");
  const ramdisk = await Deno.readFile(LINUX_DIR + "initrd.img");
  const sink = new MemorySink(1 << 24, 1 << 16);
  const con = new ConsoleText(sink);
  const text = () => con.get();
  const debug: string[] = [];
  const network = new Network();
  const trace = o.trace ? openTrace(o.trace) : undefined;
  const rec = o.recordRings
    ? openRingRecording(o.recordRings, { image: "vmlinuz", cmdline: o.cmdline ?? CMDLINE })
    : undefined;
  const t0 = performance.now();
  const out: Session = {
    console: "",
    shell: false,
    shellInstructions: 0,
    shellSeconds: 0,
    stages: o.stages.map((s) => ({ ...s })),
    end: { reason: "limit", shutdownCode: -1, instructions: 0 },
    boots: 0,
    instructions: 0,
    seconds: 0,
    stoppedAt: null,
    disk,
    echoReplies: 0,
    trace: o.trace,
    recording: o.recordRings,
  };
  let done = 0; // instructions of the boots before this one
  const boot = async () => {
    const first = out.boots++ === 0;
    const m = new Machine({
      image,
      imageName: "vmlinuz",
      ramdisk,
      cmdline: o.cmdline ?? CMDLINE,
      memoryMiB: 512,
      vcpus: o.vcpus ?? 2,
      console: sink,
      debug: (s) => debug.push(s),
      idleTimeoutMs: 20_000,
      jit: o.jit ?? true,
      tracer: first ? trace?.writer : undefined,
    });
    if (first && trace) {
      trace.machine = m;
      trace.writer.switchTo(m.domain.domid, 0);
    }
    const dev = await attachDevices(m, {
      sink,
      disks: [`${disk},xvda`],
      nets: ["bridge=xenbr0"],
      network,
      name: "pvx-linux",
      xenstoreSocket: sock,
      recording: first ? rec : undefined,
    });
    return { m, dev };
  };
  let { m, dev } = await boot();
  // PVX_LINUX_LOG=FILE: the console so far, rewritten every 10 s (to follow a long session)
  const logFile = Deno.env.get("PVX_LINUX_LOG");
  const logTimer = logFile ? setInterval(() => Deno.writeTextFileSync(logFile, text()), 10_000) : 0;
  try {
    let from = text().length;
    let r = await m.run(() => atShell(text(), from), o.bootBudget);
    out.shell = r.reason === "until";
    out.shellInstructions = r.instructions;
    out.shellSeconds = (performance.now() - t0) / 1000;
    let n = 0, ended = false;
    for (const s of out.shell ? out.stages : []) {
      from = text().length;
      if (s.host && !s.ends) {
        s.output = await s.host({ domid: m.domain.domid, xenstoreSocket: sock });
        continue;
      }
      if (s.ends) {
        if (s.host) await s.host({ domid: m.domain.domid, xenstoreSocket: sock });
        else sink.type(`${s.command}\n`);
        r = await m.run(undefined, o.commandBudget);
        s.output = text().slice(from);
        if (r.reason !== s.ends) break;
        if (s.ends === "poweroff") {
          ended = true;
          break;
        }
        done += r.instructions;
        await dev.detach();
        ({ m, dev } = await boot());
        from = text().length;
        r = await m.run(() => atShell(text(), from), o.bootBudget);
        if (r.reason !== "until") break;
        continue;
      }
      const marker = `@@${1000 + n}@@`;
      sink.type(`${s.command}; echo @@$((${1000 + n}))@@\n`);
      n++;
      r = await m.run(() => text().indexOf(marker, from) >= 0, o.commandBudget);
      if (r.reason !== "until") break;
      const seg = text().slice(from, text().indexOf(marker, from));
      const firstNl = seg.indexOf("\n");
      s.output = firstNl >= 0 ? seg.slice(firstNl + 1) : "";
    }
    if (out.shell && r.reason === "until" && !ended) {
      sink.type("poweroff\n");
      r = await m.run(undefined, o.commandBudget);
    }
    out.end = r;
    if (r.reason !== "poweroff") out.stoppedAt = await describeStop(m, r, text(), debug);
  } finally {
    clearInterval(logTimer);
    if (logFile) Deno.writeTextFileSync(logFile, text());
    out.instructions = done + out.end.instructions;
    out.seconds = (performance.now() - t0) / 1000;
    out.echoReplies = network.responders.get("xenbr0")?.stats.echoReplies ?? 0;
    await dev.detach();
    await sink.close();
    rec?.close();
    if (trace) {
      trace.writer.flush();
      trace.file.close();
    }
    out.console = text();
  }
  return out;
}
