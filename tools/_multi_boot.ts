/**
 * `pvx boot --domain A.cfg --domain B.cfg`: several domains, each from an xl config file,
 * in one pvx process: one {@link Machine} per domain (distinct domids 1, 2 ...), all vifs
 * on one shared {@link Network}, console lines prefixed with the domain's name.
 * @module
 */
import { EXIT_FAILED, EXIT_OK, InputError } from "../lib/errors.ts";
import { Machine, type RunResult } from "../lib/hypervisor/machine.ts";
import type { ConsoleSink } from "../lib/console/sinks.ts";
import { openConsole } from "../lib/console/terminal.ts";
import { Network } from "../lib/netfront/attach.ts";
import { PcapWriter } from "../lib/netfront/pcap.ts";
import { parseVifSpec } from "../lib/netfront/vif_spec.ts";
import { formatMac } from "../lib/netfront/protocol.ts";
import { attachDevices, type BootOptions } from "./boot.ts";
import { loadXlConfig, type XlAction, type XlDomainConfig } from "./_xl_config.ts";

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

/** How one domain ended. */
interface DomainOutcome {
  name: string;
  reason: RunResult["reason"];
  ok: boolean;
}

/** Per-process state shared by the domains. */
interface Shared {
  network: Network;
  sink: ConsoleSink;
  opts: BootOptions;
  log: (line: string) => void;
  /** The machine each domain runs now (for stopping them all, and pcap time). */
  running: Map<string, Machine>;
  stopping: boolean;
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
    [opts.cmdline, "--cmdline"],
    [opts.ramdisk, "--ramdisk"],
    [opts.trace, "--trace"],
    [opts.recordRings, "--record-rings"],
    [opts.xenstoreSocket, "--xenstore-socket"],
    [opts.consoleOptions?.inputFile, "--console-input"],
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

async function readInput(path: string, what: string, cfg: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new InputError(`Cannot read ${what} "${path}" (from "${cfg}"): ${why}`);
  }
}

/**
 * Runs `pvx boot` with xl config files: every domain concurrently in this process, until
 * each has ended (its on_poweroff / on_reboot / on_crash action is not "restart").
 * `--no-reboot` makes every on_reboot "destroy".
 * @param opts the boot options; `domains` (and `image` when it ends in `.cfg`) name the
 *   config files; `netPcap`, `realtime`, `maxInstructions` (per domain), `noReboot`,
 *   `consoleOptions.logFile`, `console`, `log`, `onMachine` apply to all
 * @returns 0 when every domain powered off (or rebooted into "destroy"), 1 when any
 *   crashed, hung or hit the instruction limit
 * @throws InputError for a bad config file, image or option (exit 2)
 * @example
 * ```ts
 * const code = await runDomains({ image: "", domains: ["a.cfg", "b.cfg"], netPcap: "n.pcap" });
 * ```
 */
export async function runDomains(opts: BootOptions): Promise<number> {
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
  const running = new Map<string, Machine>();
  const pcap = opts.netPcap !== undefined ? openPcap(opts.netPcap, running) : undefined;
  try {
    const own = opts.console
      ? undefined
      : await openConsole({ logFile: opts.consoleOptions?.logFile, noInput: true });
    const sink = opts.console ?? own!;
    const shared: Shared = {
      network: new Network(pcap?.writer ?? null),
      sink,
      opts,
      log,
      running,
      stopping: false,
    };
    const width = Math.max(...cfgs.map((c) => c.name.length));
    try {
      const results = await Promise.allSettled(
        cfgs.map((c, i) =>
          domainLoop(c, i + 1, images[i].kernel, images[i].ramdisk, width, shared).catch((e) => {
            // one domain cannot start: stop the others, then report the error
            shared.stopping = true;
            for (const m of running.values()) m.stop();
            throw e;
          })
        ),
      );
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const outcomes = results.map((r) => (r as PromiseFulfilledResult<DomainOutcome>).value);
      return outcomes.every((o) => o.ok) ? EXIT_OK : EXIT_FAILED;
    } finally {
      await own?.close();
    }
  } finally {
    pcap?.file.close();
  }
}

/** Boots one domain, again while its action says "restart". */
async function domainLoop(
  cfg: XlDomainConfig,
  domid: number,
  kernel: Uint8Array,
  ramdisk: Uint8Array | undefined,
  width: number,
  s: Shared,
): Promise<DomainOutcome> {
  const name = cfg.name;
  const say = (msg: string) => s.log(`pvx: ${name}: ${msg}`);
  for (;;) {
    const m = new Machine({
      image: kernel,
      imageName: cfg.kernel,
      memoryMiB: cfg.memoryMiB,
      cmdline: cfg.cmdline,
      ramdisk,
      realtime: s.opts.realtime,
      maxInstructions: s.opts.maxInstructions,
      debug: (msg) => say(msg),
      ...s.opts.machine,
      domid,
    });
    const sink = new PrefixSink(s.sink, `${name.padEnd(width)} | `);
    const dev = await attachDevices(m, {
      sink,
      disks: cfg.disks,
      nets: cfg.vifs,
      network: s.network,
      name,
    });
    let r: RunResult;
    s.running.set(name, m);
    try {
      await s.opts.onMachine?.(m, dev);
      r = s.stopping ? { reason: "stopped", shutdownCode: -1, instructions: 0 } : await m.run();
    } finally {
      s.running.delete(name);
      await dev.detach();
      await sink.close();
    }
    const next = outcome(cfg, r, s.opts.noReboot ?? false, say);
    if (next === "restart" && !s.stopping) {
      say("restarting");
      continue;
    }
    return next === "restart"
      ? { name, reason: r.reason, ok: false }
      : { name, reason: r.reason, ok: next };
  }
}

/** Reports a domain's end; true/false for a final success/failure, or "restart". */
function outcome(
  cfg: XlDomainConfig,
  r: RunResult,
  noReboot: boolean,
  say: (msg: string) => void,
): boolean | "restart" {
  const act = (a: XlAction, ok: boolean, what: string): boolean | "restart" => {
    if (a === "restart") return "restart";
    say(`${what}${a === "preserve" ? " (preserved: stopped until the others end)" : ""}`);
    return ok;
  };
  switch (r.reason) {
    case "poweroff":
      return act(cfg.onPoweroff, true, "powered off");
    case "reboot":
      return act(noReboot ? "destroy" : cfg.onReboot, true, "rebooted");
    case "crash":
      if (r.dump) say(r.dump);
      return act(cfg.onCrash, false, "crashed");
    case "limit":
      say(`stopped after ${r.instructions} instructions (--max-instructions)`);
      return false;
    case "hung":
      say("blocked with no timer and no device to wake it");
      return false;
    case "stopped":
      say("stopped");
      return false;
    default:
      say(`shut down (${r.reason})`);
      return false;
  }
}

/** The `--net-pcap` file; time stamps are the latest clock among the running domains. */
function openPcap(
  path: string,
  running: Map<string, Machine>,
): { file: Deno.FsFile; writer: PcapWriter } {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { write: true, create: true, truncate: true });
  } catch (e) {
    throw new InputError(`Cannot write capture "${path}": ${(e as Error).message}`);
  }
  let last = 0;
  const writer = new PcapWriter((bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  }, () => {
    // each machine has its own clock: keep the capture's time stamps monotonic
    for (const m of running.values()) last = Math.max(last, m.host.clock.nowNs());
    return last;
  });
  return { file, writer };
}
