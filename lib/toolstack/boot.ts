/**
 * `pvx boot IMAGE`: builds a PV domain from a kernel image and runs it with what a
 * toolstack gives a domU: xenstore, the PV console (and console_io) on the terminal, and
 * vbds for `--disk`. Exit code 0 when the guest powers off (or reboots with
 * `--no-reboot`), 1 when it crashes (register and stack dump on stderr), stops on the
 * instruction limit or hangs, 2 on bad input. A reboot builds the domain again.
 *
 * Options live in one object ({@link BootOptions}) so further subsystems (networks,
 * traces, ring recording) add fields and an attach step without touching the run loop.
 * @module
 */
import { InputError } from "../errors.ts";
import { Machine, type RunResult } from "../hypervisor/mod.ts";
import { Network } from "./vif_attach.ts";
import type { RingRecording } from "../replay/mod.ts";
import { openRingRecording } from "./recording_file.ts";
import { defaultGuestCmdline, readDefaultGuest } from "./default_guest.ts";
import { attachDevices } from "./devices.ts";
import { exitCodeForOutcome } from "./exit_code.ts";
import { runDomains } from "./multi_domain.ts";
import type { BootOptions } from "./options.ts";
import { type OpenPcap, openPcap, type OpenTrace, openTrace } from "./outputs.ts";
import { readInput } from "./read_input.ts";
import { openConsole, type StdioConsole } from "./terminal.ts";
import { checkBootOptions } from "./boot_checks.ts";
import { EndOfInput, type OnEof } from "./end_of_input.ts";
import { GdbStub } from "../gdbstub/mod.ts";
import { listenSocket } from "./listen_socket.ts";
import { jitOptionsFromEnv } from "./jit_env.ts";

export type { BootOptions } from "./options.ts";

/** The name `pvx boot` gives its built-in guest in logs and recordings. */
export const DEFAULT_GUEST_NAME = "pvx-guest (built in)";

/**
 * Runs `pvx boot`.
 * @returns the exit code
 * @example
 * ```ts
 * const code = await boot({ image: "hello.elf", memory: 16, disks: ["disk.img,xvda"] });
 * ```
 */
export async function boot(opts: BootOptions): Promise<number> {
  checkBootOptions(opts);
  // PVX_JIT / PVX_JIT_DUMP, under the caller's own machine options (--no-jit)
  opts = { ...opts, machine: { ...jitOptionsFromEnv(), ...opts.machine } };
  if (opts.domains?.length || opts.image?.endsWith(".cfg")) {
    return await runDomains(opts);
  }
  const log = opts.log ?? ((s: string) => console.error(s));
  if (opts.maxInstructions !== undefined && !(opts.maxInstructions > 0)) {
    throw new InputError(`Cannot boot: --max-instructions must be a positive number`);
  }
  let image: Uint8Array;
  if (opts.image === undefined) {
    image = await readDefaultGuest();
    // a terminal or a --console-input script gets the shell; other runs the selftest
    const interactive = Deno.stdin.isTerminal() ||
      opts.consoleOptions?.inputFile !== undefined;
    opts = {
      ...opts,
      image: DEFAULT_GUEST_NAME,
      cmdline: defaultGuestCmdline(interactive, opts.cmdline),
    };
  } else image = await readInput(opts.image, "image");
  // a ramdisk must fit in the guest's memory: refuse a bigger one before reading it
  const mem = Number.isInteger(opts.memory) ? opts.memory! : 64;
  const ramdisk = opts.ramdisk
    ? await readInput(opts.ramdisk, "ramdisk", undefined, Math.min(mem, 1536) << 20)
    : undefined;
  const trace = opts.trace !== undefined ? openTrace(opts.trace, opts.traceClasses) : undefined;
  const pcap = opts.netPcap !== undefined ? openPcap(opts.netPcap) : undefined;
  const network = new Network(pcap?.writer ?? null);
  try {
    const rec = opts.recordRings !== undefined
      ? openRingRecording(opts.recordRings, { image: opts.image, cmdline: opts.cmdline ?? "" })
      : undefined;
    try {
      return await bootLoop(opts, image, ramdisk, { trace, pcap, network }, log, rec);
    } finally {
      rec?.close();
    }
  } finally {
    if (trace) {
      trace.writer.flush();
      trace.file.close();
    }
    pcap?.file.close();
  }
}

/** Per-process outputs shared by every boot of a run (reboots keep them). */
interface RunOutputs {
  trace: OpenTrace | undefined;
  pcap: OpenPcap | undefined;
  network: Network;
}

async function bootLoop(
  opts: BootOptions,
  image: Uint8Array,
  ramdisk: Uint8Array | undefined,
  outputs: RunOutputs,
  log: (line: string) => void,
  recording?: RingRecording,
): Promise<number> {
  if (opts.gdbWait && opts.gdb === undefined) {
    throw new InputError("Cannot boot: --gdb-wait needs --gdb PORT");
  }
  const gdb = opts.gdb !== undefined
    ? GdbStub.start({ endpoint: opts.gdb, listen: listenSocket, wait: opts.gdbWait, log })
    : undefined;
  try {
    // One console for the whole run: input and output survive reboots.
    const own = opts.console ? undefined : await openConsole(opts.consoleOptions);
    try {
      return await bootEach(opts, image, ramdisk, outputs, log, recording, own, gdb);
    } finally {
      await own?.close();
    }
  } finally {
    await gdb?.close();
  }
}

async function bootEach(
  opts: BootOptions,
  image: Uint8Array,
  ramdisk: Uint8Array | undefined,
  outputs: RunOutputs,
  log: (line: string) => void,
  recording: RingRecording | undefined,
  own: StdioConsole | undefined,
  gdb: GdbStub | undefined,
): Promise<number> {
  const { trace, pcap, network } = outputs;
  const sink = opts.console ?? own!;
  const onEof: OnEof = opts.onEof ??
    (own && own.inputKind === "stream" && opts.consoleOptions?.inputFile === undefined
      ? "poweroff"
      : "wait");
  for (;;) {
    const m = new Machine({
      image,
      imageName: opts.image,
      memoryMiB: opts.memory,
      vcpus: opts.vcpus,
      translated: opts.translated,
      cmdline: opts.cmdline,
      ramdisk,
      realtime: opts.realtime,
      instructionsPerSecond: opts.instructionsPerSecond,
      // idle time follows the host clock while input can come from outside
      paced: () =>
        sink.inputFromOutside === true || opts.xenstoreSocket !== undefined ||
        (onEof === "wait" && sink.inputEnded === true && own?.inputKind !== "none"),
      maxInstructions: opts.maxInstructions,
      // A bounded (batch) run also gives up on a guest idle with nothing that can wake it.
      idleTimeoutMs: opts.maxInstructions !== undefined ? 10_000 : undefined,
      tracer: gdb ? gdb.tracer(trace?.writer) : trace?.writer,
      ...opts.machine,
    });
    if (trace) {
      trace.machine = m;
      trace.writer.switchTo(m.domain.domid, 0);
    }
    if (pcap) pcap.machine = m;
    const dev = await attachDevices(m, {
      sink,
      xenstoreSocket: opts.xenstoreSocket,
      disks: opts.disks,
      nets: opts.nets,
      network,
      recording,
    });
    const eof = new EndOfInput(onEof, m, () => ({
      sink,
      inputConsumed: dev.console.inputConsumed,
      outBytes: dev.console.stats.outBytes,
    }), () => dev.store);
    let r: RunResult | "detached" | "killed";
    try {
      await opts.onMachine?.(m, dev);
      const running = gdb ? gdb.run(m, dev.store, eof.until) : m.run(eof.until);
      r = await Promise.race([running, dev.detached.then(() => "detached" as const)]);
      if (r === "detached") {
        if (gdb) gdb.debugger.kill();
        else m.stop();
        await running;
      }
    } finally {
      await dev.detach();
    }
    if (r !== "detached" && r !== "killed" && r.reason === "until" && eof.outcome) {
      log(
        eof.outcome === "detached"
          ? "pvx: end of console input (--on-eof detach); the guest is stopped"
          : "pvx: end of console input: the guest did not power off when asked; it is stopped",
      );
      return exitCodeForOutcome("detached");
    }
    const code = report(r, opts.noReboot ?? false, log);
    if (code !== undefined) return code;
  }
}

/** Prints the outcome; returns the exit code, or undefined to boot again. */
function report(
  r: RunResult | "detached" | "killed",
  noReboot: boolean,
  log: (line: string) => void,
): number | undefined {
  if (r === "detached") {
    log("pvx: console detached; the guest is stopped");
    return exitCodeForOutcome(r);
  }
  if (r === "killed") {
    log("pvx: gdb killed the domain");
    return exitCodeForOutcome(r);
  }
  switch (r.reason) {
    case "poweroff":
      return exitCodeForOutcome(r.reason);
    case "reboot":
      if (noReboot) {
        log("pvx: the guest rebooted (--no-reboot)");
        return exitCodeForOutcome(r.reason);
      }
      log("pvx: the guest rebooted; restarting it");
      return undefined;
    case "crash":
      if (r.dump) log(r.dump);
      log("pvx: the guest crashed");
      return exitCodeForOutcome(r.reason);
    case "limit":
      log(`pvx: stopped after ${r.instructions} instructions (--max-instructions)`);
      return exitCodeForOutcome(r.reason);
    case "hung":
      log("pvx: the guest blocked with no timer and no device to wake it");
      return exitCodeForOutcome(r.reason);
    default:
      log(`pvx: the guest shut down (${r.reason})`);
      return exitCodeForOutcome(r.reason);
  }
}
