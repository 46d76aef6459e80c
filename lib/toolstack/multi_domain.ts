/**
 * `pvx boot --domain A.cfg --domain B.cfg`: several xl-config domains in one process, one
 * Machine each (domids 1, 2 ...), vifs on one shared Network, name-prefixed consoles,
 * taking turns in virtual time so that traffic between them is deterministic.
 * @module
 */
import { InputError } from "../errors.ts";
import { Machine, type RunResult, type SliceHook } from "../hypervisor/mod.ts";
import { nextDeadline } from "../hypervisor/mod.ts";
import type { ConsoleSink } from "../console/mod.ts";
import { openConsole } from "./terminal.ts";
import { Network } from "./vif_attach.ts";
import { openPcap, type OpenTrace, openTrace } from "./outputs.ts";
import type { XentraceWriter } from "../hypervisor/mod.ts";
import { parseVifSpec } from "./vif_spec.ts";
import { formatMac } from "../netfront/mod.ts";
import type { BootOptions } from "./options.ts";
import { attachDevices, type AttachedDevices } from "./devices.ts";
import { readInput } from "./read_input.ts";
import { exitCodeForOutcome, succeeded } from "./exit_code.ts";
import { loadXlConfig, type XlAction, type XlDomainConfig } from "./xl_config.ts";
import { DomainGdb } from "./domain_gdb.ts";

const NL = 0x0a;
/** A partial line longer than this is written out without waiting for its newline. */
const MAX_PARTIAL = 4096;

/**
 * A console sink that writes each line of one domain's output, prefixed, to a shared
 * sink. Lines are passed on whole (a partial line waits for its newline, up to 4 KiB),
 * so two domains' output never mixes inside a line; order within a domain is kept.
 * It takes no input.
 */
export class PrefixSink implements ConsoleSink {
  readonly #inner: ConsoleSink;
  readonly #prefix: Uint8Array;
  #partial: Uint8Array[] = [];
  #partialLen = 0;
  /** Whether the next byte passed on starts a line (and gets the prefix). */
  #atStart = true;
  readonly detached: Promise<void> = new Promise(() => {});

  /**
   * @param inner the shared sink (not closed by {@link close})
   * @param prefix written before each line, e.g. "web | "
   */
  constructor(inner: ConsoleSink, prefix: string) {
    this.#inner = inner;
    this.#prefix = new TextEncoder().encode(prefix);
  }

  /** Queues guest output. @returns the shared sink's back-pressure answer */
  write(bytes: Uint8Array): boolean {
    let ok = true;
    let from = 0;
    for (;;) {
      const nl = bytes.indexOf(NL, from);
      if (nl < 0) break;
      ok = this.#emit(bytes.subarray(from, nl + 1), true) && ok;
      from = nl + 1;
    }
    if (from < bytes.length) {
      this.#partial.push(bytes.slice(from));
      this.#partialLen += bytes.length - from;
      if (this.#partialLen > MAX_PARTIAL) ok = this.#emit(new Uint8Array(0), false) && ok;
    }
    return ok;
  }

  /** Passes held bytes plus `tail` on as one chunk; `ends` when it ends a line. */
  #emit(tail: Uint8Array, ends: boolean): boolean {
    const pre = this.#atStart ? this.#prefix.length : 0;
    const out = new Uint8Array(pre + this.#partialLen + tail.length);
    if (pre) out.set(this.#prefix, 0);
    let o = pre;
    for (const c of this.#partial) {
      out.set(c, o);
      o += c.length;
    }
    out.set(tail, o);
    this.#partial = [];
    this.#partialLen = 0;
    this.#atStart = ends;
    return this.#inner.write(out);
  }

  /** Output queued in the shared sink. */
  get backlog(): number {
    return this.#inner.backlog;
  }

  /** Resolves when the shared sink has drained. */
  drained(): Promise<void> {
    return this.#inner.drained();
  }

  /** No input: always empty. */
  takeInput(_max: number): Uint8Array {
    return new Uint8Array(0);
  }

  /** No input: always empty. */
  read(_max: number): Uint8Array {
    return new Uint8Array(0);
  }

  /** No input ever arrives. */
  onInput(_cb: () => void): void {}

  /** Passes on a held partial line (ending it), without closing the shared sink. */
  close(): Promise<void> {
    if (this.#partialLen > 0 || !this.#atStart) this.#emit(Uint8Array.of(NL), true);
    return Promise.resolve();
  }
}

/** How far (ns of guest time) a domain may run ahead of the others' next event. */
const LOOKAHEAD_NS = 1_000_000;

/** Per-process state shared by the domains. */
interface Shared {
  network: Network;
  sink: ConsoleSink;
  opts: BootOptions;
  log: (line: string) => void;
  /** The domains still running. */
  live: DomainRunner[];
  /** The width names are padded to in console prefixes. */
  width: number;
  /** `--trace`: one writer for every domain (its clock is the running domain's). */
  tracer?: XentraceWriter;
  /** Called with the domain about to run (or attach its devices): the trace's context. */
  turn?: (r: DomainRunner) => void;
}

/**
 * The config files of a `pvx boot` with domains: the image argument when it ends in
 * `.cfg`, then each `--domain`.
 * @throws InputError when an image and `--domain` are both given, or options that work
 *   for one domain only are
 */
export function domainFiles(opts: BootOptions): string[] {
  const image = opts.image as string | undefined;
  const files = [...(image?.endsWith(".cfg") ? [image] : []), ...(opts.domains ?? [])];
  if (image && !image.endsWith(".cfg") && files.length > 0) {
    throw new InputError(
      `Cannot boot "${image}" with --domain: give the kernel in a config file instead`,
    );
  }
  const single: [unknown, string][] = [
    [opts.disks?.length, "--disk"],
    [opts.nets?.length, "--net"],
    [opts.memory, "--memory"],
    [opts.vcpus, "--vcpus"],
    [opts.cmdline, "--cmdline"],
    [opts.ramdisk, "--ramdisk"],
    [opts.recordRings, "--record-rings"],
    [opts.xenstoreSocket, "--xenstore-socket"],
    [opts.consoleOptions?.inputFile, "--console-input"],
    [opts.gdb, '--gdb (gdb = "PORT")'],
  ];
  for (const [v, flag] of single) {
    if (v) throw new InputError(`Cannot use ${flag} with config files: set it in the file`);
  }
  return files;
}

/** Rejects two domains with the same name or the same vif MAC. */
function checkDistinct(cfgs: readonly XlDomainConfig[]): void {
  const names = new Map<string, string>();
  const macs = new Map<string, string>();
  for (const c of cfgs) {
    const other = names.get(c.name);
    if (other) {
      throw new InputError(`Cannot boot two domains named "${c.name}" ("${other}", "${c.file}")`);
    }
    names.set(c.name, c.file);
    for (const v of c.vifs) {
      const mac = parseVifSpec(v).mac;
      if (!mac) continue;
      const m = formatMac(mac);
      const o = macs.get(m);
      if (o) throw new InputError(`Cannot boot: MAC ${m} is given to "${o}" and "${c.name}"`);
      macs.set(m, c.name);
    }
  }
}

/**
 * One domain: its config, its current machine and devices, and the scheduling state of
 * the virtual-time round robin (see {@link runDomains}).
 */
class DomainRunner {
  readonly cfg: XlDomainConfig;
  readonly domid: number;
  readonly #kernel: Uint8Array;
  readonly #ramdisk: Uint8Array | undefined;
  readonly #s: Shared;
  m: Machine | null = null;
  #dev: AttachedDevices | null = null;
  #sink: PrefixSink | null = null;
  /** Set by the slice hook when the guest is blocked and may not skip ahead yet. */
  #mustYield = false;
  /** The guest was seen blocked with no host work; it waits for {@link idleUntil}. */
  #idle = false;
  #idleUntil = Infinity;
  /** Whether the last boot ended well (set when the domain is done). */
  ok = false;
  /** Its gdb stub (xl `gdb = "PORT"`), made at the first start and kept across reboots. */
  gdb: DomainGdb | null = null;

  constructor(
    cfg: XlDomainConfig,
    domid: number,
    kernel: Uint8Array,
    ramdisk: Uint8Array | undefined,
    s: Shared,
  ) {
    this.cfg = cfg;
    this.domid = domid;
    this.#kernel = kernel;
    this.#ramdisk = ramdisk;
    this.#s = s;
  }

  say(msg: string): void {
    this.#s.log(`pvx: ${this.cfg.name}: ${msg}`);
  }

  /** Builds the machine and attaches its devices (console prefixed, vifs on the network). */
  async start(): Promise<void> {
    const { cfg, opts } = { cfg: this.cfg, opts: this.#s.opts };
    if (cfg.gdb !== undefined && this.gdb === null) {
      const wait = cfg.gdbWait === true || opts.gdbWait === true;
      this.gdb = new DomainGdb(cfg.gdb, wait, (line) => this.say(line.replace(/^pvx: /, "")));
    }
    const m = new Machine({
      image: this.#kernel,
      imageName: cfg.kernel,
      memoryMiB: cfg.memoryMiB,
      vcpus: cfg.vcpus,
      cmdline: cfg.cmdline,
      ramdisk: this.#ramdisk,
      realtime: opts.realtime,
      maxInstructions: opts.maxInstructions,
      tracer: this.gdb ? this.gdb.tracer(this.#s.tracer) : this.#s.tracer,
      ...opts.machine,
      domid: this.domid,
    });
    this.m = m;
    this.#s.turn?.(this);
    const sink = new PrefixSink(this.#s.sink, `${cfg.name.padEnd(this.#s.width)} | `);
    const dev = await attachDevices(m, {
      sink,
      disks: cfg.disks,
      nets: cfg.vifs,
      network: this.#s.network,
      name: cfg.name,
    });
    this.#dev = dev;
    this.#sink = sink;
    this.#idle = false;
    if (!m.host.clock.realtime) this.#gate(m, dev);
    this.gdb?.attach(m, dev.store);
    await opts.onMachine?.(m, dev);
  }

  /**
   * Wraps the machine's slice hook (the device host) so that a blocked guest skips ahead
   * in time only as far as the other domains' next event allows: otherwise the hook asks
   * for one more round, and {@link until} ends the run so the scheduler can pick another.
   */
  #gate(m: Machine, dev: AttachedDevices): void {
    const inner = dev.deviceHost;
    const v = m.domain.vcpus[0];
    const holdIdle = (blocked: boolean) => this.#holdIdle(m, blocked);
    const hook: SliceHook = {
      get hasPendingWork() {
        return inner.hasPendingWork || holdIdle(v.blocked || !v.online);
      },
      runDeferred: () => inner.runDeferred(),
    };
    m.sliceHook = hook;
  }

  /** Whether a blocked guest must wait for the others instead of skipping time. */
  #holdIdle(m: Machine, blocked: boolean): boolean {
    if (!blocked) {
      this.#idle = false;
      return false;
    }
    const deadline = nextDeadline(m.domain);
    this.#idle = true;
    this.#idleUntil = deadline;
    if (deadline !== Infinity && deadline <= this.#othersNext() + LOOKAHEAD_NS) return false;
    this.#mustYield = true;
    return true;
  }

  /** The earliest guest time at which another domain may act (send a frame). */
  #othersNext(): number {
    let t = Infinity;
    for (const r of this.#s.live) if (r !== this) t = Math.min(t, r.nextEventNs());
    return t;
  }

  /** The guest time of this domain's next action: now when runnable, else its timer. */
  nextEventNs(): number {
    const m = this.m;
    if (!m || this.gdb?.paused) return Infinity; // gdb holds it: the others run on
    if (!this.#idle || this.#dev!.deviceHost.hasPendingWork) return m.host.clock.nowNs();
    return this.#idleUntil;
  }

  /** The stop condition of a scheduled run: asked to yield, or too far ahead. */
  readonly until = (): boolean =>
    this.#mustYield || this.m!.host.clock.nowNs() > this.#othersNext() + LOOKAHEAD_NS ||
    (this.gdb?.until() ?? false);

  /** Runs the machine until it yields to the scheduler (virtual time) or ends. */
  runSome(): Promise<RunResult> {
    this.#mustYield = false;
    this.#idle = false;
    return this.gdb ? this.gdb.runTurn(this.m!, this.until) : this.m!.run(this.until);
  }

  /** Runs the machine on its own (real time) until it ends. */
  runFree(): Promise<RunResult> {
    return this.gdb ? this.gdb.runFree(this.m!) : this.m!.run();
  }

  /** Detaches the devices and flushes the console after a run. */
  async stopDevices(): Promise<void> {
    const dev = this.#dev;
    const sink = this.#sink;
    this.m = null;
    this.#dev = null;
    this.#sink = null;
    await dev?.detach();
    await sink?.close();
  }

  /**
   * Reports how a boot ended and applies the config's action.
   * @returns "restart", or whether the domain ended well
   */
  outcome(r: RunResult): boolean | "restart" {
    const cfg = this.cfg;
    if (this.gdb?.killed) {
      this.say("killed by gdb");
      return succeeded("killed");
    }
    const act = (a: XlAction, ok: boolean, what: string): boolean | "restart" => {
      if (a === "restart") {
        this.say(`${what}; restarting it`);
        return "restart";
      }
      this.say(`${what}${a === "preserve" ? " (preserved: stopped until the others end)" : ""}`);
      return ok;
    };
    switch (r.reason) {
      case "poweroff":
        return act(cfg.onPoweroff, succeeded(r.reason), "powered off");
      case "reboot":
        return act(
          this.#s.opts.noReboot ? "destroy" : cfg.onReboot,
          succeeded(r.reason),
          "rebooted",
        );
      case "crash":
        if (r.dump) this.#s.log(r.dump);
        return act(cfg.onCrash, succeeded(r.reason), "crashed");
      case "limit":
        this.say(`stopped after ${r.instructions} instructions (--max-instructions)`);
        return false;
      case "hung":
        this.say("blocked with no timer and no device to wake it");
        return false;
      case "stopped":
        this.say("stopped");
        return false;
      default:
        this.say(`shut down (${r.reason})`);
        return false;
    }
  }

  /** Ends a boot: detaches, then restarts or marks the domain done. @returns done */
  async end(r: RunResult, stopping: boolean): Promise<boolean> {
    await this.stopDevices();
    const next = this.outcome(r);
    if (next === "restart" && !stopping && !this.gdb?.killed) {
      await this.start();
      return false;
    }
    this.ok = next === true;
    await this.gdb?.close();
    return true;
  }
}

/**
 * Runs `pvx boot` with xl config files: every domain in this process, until each has
 * ended (its on_poweroff / on_reboot / on_crash action is not "restart").
 * `--no-reboot` makes every on_reboot "destroy".
 *
 * In virtual time (the default) the domains take turns, deterministically: the one whose
 * next event is earliest runs, at most 1 ms of guest time ahead of the others' next
 * event, and a blocked guest skips idle time only up to that bound, so a frame another
 * domain sends is never delivered into its past. With `--realtime` they run side by side.
 * @param opts the boot options; `domains` (and `image` when it ends in `.cfg`) name the
 *   config files; `netPcap`, `realtime`, `maxInstructions` (per domain), `noReboot`,
 *   `consoleOptions.logFile`, `console`, `log`, `onMachine` apply to all
 * @param network the network the vifs join (default: a new one, with the `netPcap` capture)
 * @returns 0 when every domain powered off (or rebooted into "destroy"), 1 when any
 *   crashed, hung or hit the instruction limit
 * @throws InputError for a bad config file, image or option (exit 2)
 * @example
 * ```ts
 * const code = await runDomains({ image: "", domains: ["a.cfg", "b.cfg"], netPcap: "n.pcap" });
 * ```
 */
export async function runDomains(
  opts: BootOptions,
  network?: Network,
): Promise<number> {
  const log = opts.log ?? ((s: string) => console.error(s));
  if (opts.maxInstructions !== undefined && !(opts.maxInstructions > 0)) {
    throw new InputError(`Cannot boot: --max-instructions must be a positive number`);
  }
  const files = domainFiles(opts);
  if (files.length === 0) throw new InputError("Cannot boot: no config file given");
  const cfgs: XlDomainConfig[] = [];
  for (const f of files) cfgs.push(await loadXlConfig(f));
  checkDistinct(cfgs);
  for (const c of cfgs) for (const w of c.warnings) log(`pvx: ${w}`);
  const images = await Promise.all(cfgs.map(async (c) => ({
    kernel: await readInput(c.kernel, "kernel", c.file),
    ramdisk: c.ramdisk ? await readInput(c.ramdisk, "ramdisk", c.file) : undefined,
  })));
  if (opts.trace !== undefined && opts.realtime) {
    throw new InputError("Cannot use --trace with --realtime and config files");
  }
  const live: DomainRunner[] = [];
  let last = 0;
  // each machine has its own clock: keep the capture's time stamps monotonic
  const pcapClock = () => {
    for (const r of live) if (r.m) last = Math.max(last, r.m.host.clock.nowNs());
    return last;
  };
  const pcap = opts.netPcap !== undefined ? openPcap(opts.netPcap, pcapClock) : undefined;
  let trace: OpenTrace | undefined;
  try {
    if (opts.trace !== undefined) trace = openTrace(opts.trace, opts.traceClasses);
    // records carry the running domain's id (switchTo at each turn) and its clock
    const turn = trace && ((r: DomainRunner) => {
      if (trace!.machine === r.m) return;
      trace!.machine = r.m;
      trace!.writer.switchTo(r.domid, 0);
    });
    const own = opts.console
      ? undefined
      : await openConsole({ logFile: opts.consoleOptions?.logFile, noInput: true });
    const shared: Shared = {
      network: network ?? new Network(pcap?.writer ?? null),
      sink: opts.console ?? own!,
      opts,
      log,
      live,
      width: Math.max(...cfgs.map((c) => c.name.length)),
      tracer: trace?.writer,
      turn,
    };
    const all = cfgs.map((c, i) =>
      new DomainRunner(c, i + 1, images[i].kernel, images[i].ramdisk, shared)
    );
    try {
      for (const r of all) {
        await r.start();
        live.push(r);
      }
      await (opts.realtime ? runSideBySide(live) : runInTurns(live, turn));
    } finally {
      // after an error: stop whatever still runs
      for (const r of live) await r.stopDevices();
      for (const r of all) await r.gdb?.close();
      await own?.close();
    }
    return all.every((r) => r.ok) ? exitCodeForOutcome("poweroff") : exitCodeForOutcome("crash");
  } finally {
    pcap?.file.close();
    if (trace) {
      trace.writer.flush();
      trace.file.close();
    }
  }
}

/** Virtual time: the domain with the earliest next event runs, until all have ended. */
async function runInTurns(
  live: DomainRunner[],
  turn?: (r: DomainRunner) => void,
): Promise<void> {
  let lastYield = performance.now();
  while (live.length > 0) {
    let next: DomainRunner | undefined;
    let t = Infinity;
    for (const r of live) {
      const n = r.nextEventNs();
      if (n < t) [next, t] = [r, n];
    }
    const held = live.filter((r) => r.gdb?.paused);
    if (!next && held.length > 0) {
      // the others wait for a domain gdb holds: wait for gdb (no CPU meanwhile)
      await Promise.race(held.map((r) => r.gdb!.whenRunnable()));
      continue;
    }
    if (!next) {
      // every guest blocked with no timer and nothing in flight: nothing can wake them
      for (const r of live.splice(0)) {
        await r.end({ reason: "hung", shutdownCode: -1, instructions: r.m!.instructions }, true);
      }
      return;
    }
    turn?.(next);
    const res = await next.runSome();
    if (res.reason !== "until" && (await next.end(res, false))) {
      live.splice(live.indexOf(next), 1);
    }
    if (performance.now() - lastYield > 20) {
      await new Promise((r) => setTimeout(r, 0));
      lastYield = performance.now();
    }
  }
}

/** Real time: each domain's machine runs on its own, yielding to the event loop. */
async function runSideBySide(live: DomainRunner[]): Promise<void> {
  let failed = false;
  const results = await Promise.allSettled([...live].map(async (r) => {
    try {
      for (;;) {
        const res = await r.runFree();
        if (await r.end(res, failed)) break;
      }
      live.splice(live.indexOf(r), 1);
    } catch (e) {
      // a domain that cannot restart stops the others
      failed = true;
      for (const o of live) o.m?.stop();
      throw e;
    }
  }));
  const bad = results.find((x) => x.status === "rejected");
  if (bad) throw (bad as PromiseRejectedResult).reason;
}
