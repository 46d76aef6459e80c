/**
 * One scripted Linux session for tests/linux/linux_boot_test.ts: boots Debian's kernel
 * (tests/fixtures/cache/linux, `deno task linux`) with its busybox initramfs, an ext4 xvda
 * and a vif on xenbr0, waits for the shell of scripts/linux/init, runs each command with
 * an end marker the shell has to compute (so the echo of the typed line never matches),
 * then exits the shell (init powers off). Each stage records what Linux printed for it,
 * or, once the boot stops short, where and why.
 * @module
 */
import { Machine } from "../../lib/hypervisor/machine/machine.ts";
import type { RunResult } from "../../lib/hypervisor/machine/machine.ts";
import { addrOf } from "../../lib/hypervisor/pv64/guest_access64.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { attachDevices } from "../../lib/toolstack/devices.ts";
import { Network } from "../../lib/toolstack/vif_attach.ts";
import {
  type Kallsyms,
  parseSystemMap,
  readKallsyms,
  symbolize,
} from "../../scripts/linux/kallsyms.ts";

/** The fixture folder. */
export const LINUX_DIR = new URL("../fixtures/cache/linux/", import.meta.url).pathname;

/** A command run at the shell, and what the session got back. */
export interface Stage {
  /** Short name (the test's). */
  name: string;
  /** The shell line typed. */
  command: string;
  /** The console output between the typed line and the end marker. */
  output?: string;
}

/** What one session did. */
export interface Session {
  /** The whole console text. */
  console: string;
  /** Whether the banner of scripts/linux/init ("pvx-linux: ...") and a prompt appeared. */
  shell: boolean;
  /** The stages, with output for those reached. */
  stages: Stage[];
  /** How the last run ended. */
  end: RunResult;
  /** Instructions retired in all. */
  instructions: number;
  /** Wall seconds of the session. */
  seconds: number;
  /** Where Linux stopped when it did not reach the end (one line), or null. */
  stoppedAt: string | null;
  /** The disk image after the session (a copy of the fixture's root.img). */
  disk: string;
  /** Replies the host endpoint (10.0.0.1) sent to ICMP echo requests. */
  echoReplies: number;
}

/** Options of {@link runSession}. */
export interface SessionOptions {
  /** Instruction budget for the boot to the shell. */
  bootBudget: number;
  /** Instruction budget per command. */
  commandBudget: number;
  /** Block compiler on (default) or off. */
  jit?: boolean;
  /** vcpus (default 2). */
  vcpus?: number;
  /** Where to put the disk copy (a temp dir). */
  dir: string;
  /** The commands. */
  stages: Stage[];
}

const INIT_BANNER = /pvx-linux: [^\n]*\n/;
const PROMPT = /[#$] $/;

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

/**
 * Runs the session.
 * @returns what happened; throws only when the fixture cannot be read
 */
export async function runSession(o: SessionOptions): Promise<Session> {
  const disk = `${o.dir}/root.img`;
  await Deno.copyFile(LINUX_DIR + "root.img", disk);
  const sink = new MemorySink(1 << 24, 1 << 16);
  const debug: string[] = [];
  const network = new Network();
  const m = new Machine({
    image: await Deno.readFile(LINUX_DIR + "vmlinuz"),
    imageName: "vmlinuz",
    ramdisk: await Deno.readFile(LINUX_DIR + "initrd.img"),
    cmdline: "console=hvc0 earlyprintk=xen",
    memoryMiB: 512,
    vcpus: o.vcpus ?? 2,
    console: sink,
    debug: (s) => debug.push(s),
    idleTimeoutMs: 20_000,
    jit: o.jit ?? true,
  });
  const dev = await attachDevices(m, {
    sink,
    disks: [`${disk},xvda`],
    nets: ["bridge=xenbr0"],
    network,
    name: "pvx-linux",
  });
  const t0 = performance.now();
  const out: Session = {
    console: "",
    shell: false,
    stages: o.stages.map((s) => ({ ...s })),
    end: { reason: "limit", shutdownCode: -1, instructions: 0 },
    instructions: 0,
    seconds: 0,
    stoppedAt: null,
    disk,
    echoReplies: 0,
  };
  try {
    const text = () => sink.text();
    let r = await m.run(() => {
      const t = text(), b = t.search(INIT_BANNER);
      return b >= 0 && PROMPT.test(t);
    }, o.bootBudget);
    out.shell = r.reason === "until";
    let n = 0;
    for (const s of out.shell ? out.stages : []) {
      const marker = `@@${1000 + n}@@`;
      const from = text().length;
      sink.type(`${s.command}; echo @@$((${1000 + n}))@@\n`);
      n++;
      r = await m.run(() => text().indexOf(marker, from) >= 0, o.commandBudget);
      if (r.reason !== "until") break;
      const seg = text().slice(from, text().indexOf(marker, from));
      const firstNl = seg.indexOf("\n");
      s.output = firstNl >= 0 ? seg.slice(firstNl + 1) : "";
    }
    if (out.shell && r.reason === "until") {
      sink.type("exit\n");
      r = await m.run(undefined, o.commandBudget);
    }
    out.end = r;
    if (r.reason !== "poweroff") out.stoppedAt = await describeStop(m, r, text(), debug);
  } finally {
    out.instructions = out.end.instructions;
    out.seconds = (performance.now() - t0) / 1000;
    out.echoReplies = network.responders.get("xenbr0")?.stats.echoReplies ?? 0;
    await dev.detach();
    await sink.close();
    out.console = sink.text();
  }
  return out;
}
