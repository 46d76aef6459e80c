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
import { EXIT_FAILED, EXIT_OK, InputError } from "../lib/errors.ts";
import { Machine, type MachineOptions, type RunResult } from "../lib/hypervisor/machine.ts";
import { HypervisorDeviceHost } from "../lib/hypervisor/device_host.ts";
import { XenStore } from "../lib/hypervisor/xenstore/store.ts";
import { attachXenstore } from "../lib/hypervisor/xenstore/attach.ts";
import { ConsoleBackend } from "../lib/console/backend.ts";
import { attachConsole } from "../lib/console/attach.ts";
import type { ConsoleSink } from "../lib/console/sinks.ts";
import type { ConsoleOptions } from "../lib/console/terminal.ts";
import { XentraceWriter } from "../lib/hypervisor/trace/xentrace_writer.ts";
import { parseTraceClasses } from "../lib/hypervisor/trace/events.ts";
import { type AttachedVif, attachVifs, detachVifs, Network } from "../lib/netfront/attach.ts";
import { PcapWriter } from "../lib/netfront/pcap.ts";
import { attachDisks, type AttachedDisk, detachDisks } from "../lib/blkfront/attach.ts";
import { openDisks, startVbds } from "../lib/blkfront/attach.ts";
import { writeVbdLayout } from "../lib/blkfront/xenbus.ts";
import { openRingRecording, type RingRecording } from "../lib/hypervisor/io/recording_boot.ts";
import type { Tracer } from "../lib/hypervisor/trace/tracer.ts";
import { Netback } from "../lib/netfront/backend.ts";
import { defaultMac, parseVifSpec } from "../lib/netfront/vif_spec.ts";
import { writeVifLayout } from "../lib/netfront/xenbus.ts";
import { defaultGuestCmdline, readDefaultGuest } from "../guest/default_guest.ts";

/** The name `pvx boot` gives its built-in guest in logs and recordings. */
export const DEFAULT_GUEST_NAME = "pvx-guest (built in)";

/** Options of {@link run}. */
export interface BootOptions {
  /**
   * Kernel image path; absent: pvx's own guest (guest/pvx-guest.elf), which runs its
   * selftest when stdin is not a terminal and its shell when it is.
   */
  image?: string;
  /** Guest memory in MiB (default 64). */
  memory?: number;
  /** vcpus (default 1; vcpu 0 boots, the guest starts the others with VCPUOP_up). */
  vcpus?: number;
  /** Translated paging (XENFEAT_auto_translated_physmap) instead of direct paging. */
  translated?: boolean;
  /** Kernel command line. */
  cmdline?: string;
  /** Ramdisk / module path. */
  ramdisk?: string;
  /** Exit when the guest reboots instead of restarting it. */
  noReboot?: boolean;
  /** Host time instead of deterministic virtual time. */
  realtime?: boolean;
  /** Stop after this many instructions (exit 1). */
  maxInstructions?: number;
  /** `--record-rings FILE`: record every backend's ring traffic for `pvx replay`. */
  recordRings?: string;
  /** `--disk SPEC` values (xl disk syntax or PATH[,VDEV][,ro]). */
  disks?: string[];
  /** `--net SPEC` values (xl vif syntax: mac=..., bridge=...). */
  nets?: string[];
  /** `--net-pcap FILE`: capture every frame crossing the virtual switches. */
  netPcap?: string;
  /** `--domain FILE.cfg` values: boot these xl config files together (tools/_multi_boot.ts). */
  domains?: string[];
  /** `--console-log FILE`, `--console-input FILE` and the terminal mode. */
  consoleOptions?: ConsoleOptions;
  /** `--xenstore-socket PATH`. */
  xenstoreSocket?: string;
  /** `--trace FILE`: record a xentrace-format trace (read it with `pvx trace`, xenalyze). */
  trace?: string;
  /** `--trace-classes LIST`: the classes to record (default all). */
  traceClasses?: string;
  /** A console sink to use instead of the terminal (tests); not closed by `run`. */
  console?: ConsoleSink;
  /** Where pvx's own messages go (default: stderr). */
  log?: (line: string) => void;
  /** Called with each machine once its devices are attached, before it runs. */
  onMachine?: (m: Machine, devices: AttachedDevices) => void | Promise<void>;
  /** Extra machine options. */
  machine?: Partial<MachineOptions>;
}

/** The devices of one machine. */
export interface AttachedDevices {
  /** The store (dom0's view). */
  store: XenStore;
  /** The device host the backends use. */
  deviceHost: HypervisorDeviceHost;
  /** The vbds. */
  disks: AttachedDisk[];
  /** The vifs. */
  vifs: AttachedVif[];
  /** Resolves when the user detaches the console (Ctrl-] on a raw terminal). */
  detached: Promise<void>;
  /** Stops the backends and releases the console. */
  detach(): Promise<void>;
}

/** What to attach. */
export interface AttachOptions {
  /** Use this sink for the console (tests); otherwise open the terminal. */
  sink?: ConsoleSink;
  /** How to open the terminal console. */
  consoleOptions?: ConsoleOptions;
  /** Serve xenstore on this unix socket. */
  xenstoreSocket?: string;
  /** `--disk` specs. */
  disks?: readonly string[];
  /** `--net` specs, and the network (switches shared across reboots) they join. */
  nets?: readonly string[];
  network?: Network;
  /** Record each backend's traffic here (`--record-rings`). */
  recording?: RingRecording;
  /** The domain's name in xenstore. */
  name?: string;
}

/**
 * Attaches a toolstack's devices to a built machine, through a device host acting as
 * dom0 whose deferred work runs at the machine's slice boundaries: the xenstore layout
 * and ring, the PV console (the same sink takes console_io output), and the vbds.
 * @param m the machine (built, not yet run)
 * @param opts what to attach
 * @throws InputError for an unusable console file or socket path
 */
export async function attachDevices(
  m: Machine,
  opts: AttachOptions = {},
): Promise<AttachedDevices> {
  const d = m.domain;
  const b = m.built;
  const frames = m.host.frames;
  const tracer = m.host.tracer;
  const store = new XenStore();
  const deviceHost = new HypervisorDeviceHost({
    mem: m.host.mem,
    store,
    directory: { evtchn: m.directory.evtchn, gnttab: m.gnttabDirectory.gnttab },
    frameOwner: (mfn) =>
      mfn >= 0 && mfn < frames.count && frames.refs[mfn] !== 0 ? frames.owner[mfn] : -1,
    tracer,
  });
  m.extraEvtchn.set(0, deviceHost.dom0Evtchn);
  m.extraGnttab.set(0, deviceHost.dom0Gnttab);
  // Disk reads and writes in flight on the host count as pending work: the machine must
  // neither fast-forward virtual time past them nor spin without letting them complete.
  let vbdsInFlight: () => boolean = () => false;
  m.sliceHook = {
    get hasPendingWork() {
      return deviceHost.hasPendingWork || vbdsInFlight();
    },
    runDeferred: () => deviceHost.runDeferred(),
  };
  const rec = opts.recording;
  const xsHost = rec
    ? await rec.xenstore(deviceHost, d.domid, b.storeMfn, b.storeEvtchn)
    : deviceHost;
  const conHost = rec
    ? await rec.console(deviceHost, d.domid, b.consoleMfn, b.consoleEvtchn)
    : deviceHost;
  const xs = await attachXenstore(xsHost, store, {
    domid: d.domid,
    name: opts.name ?? "pvx-guest",
    memoryKiB: d.maxPages * 4,
    vcpus: d.vcpus.length,
    consolePort: b.consoleEvtchn,
    consoleMfn: b.consoleMfn,
    storePort: b.storeEvtchn,
    storeMfn: b.storeMfn,
  }, { socketPath: opts.xenstoreSocket, tracer });
  let detachConsole: () => Promise<void>;
  let detached: Promise<void>;
  try {
    if (opts.sink) {
      const backend = new ConsoleBackend(
        conHost,
        d.domid,
        b.consoleMfn,
        b.consoleEvtchn,
        opts.sink,
        {
          tracer,
        },
      );
      m.host.console = opts.sink;
      detached = opts.sink.detached;
      detachConsole = async () => {
        await backend.drainOutput();
        backend.close();
      };
    } else {
      const con = await attachConsole(conHost, d.domid, b.consoleMfn, b.consoleEvtchn, {
        ...opts.consoleOptions,
        tracer,
      });
      m.host.console = con.sink;
      detached = con.detached;
      detachConsole = () => con.detach();
    }
  } catch (e) {
    await xs.detach();
    throw e;
  }
  let vbds: AttachedDisk[] = [];
  vbdsInFlight = () => vbds.some((v) => v.backend.inflight > 0);
  try {
    vbds = rec
      ? await recordedVbds(rec, deviceHost, d.domid, opts.disks ?? [], tracer)
      : await attachDisks(deviceHost, d.domid, opts.disks ?? [], { tracer });
  } catch (e) {
    await detachConsole();
    await xs.detach();
    throw e;
  }
  let vifs: AttachedVif[];
  try {
    const net = opts.network ?? new Network();
    const vifOpts = { tracer, log: (msg: string) => m.host.debug(msg) };
    vifs = rec
      ? await recordedVifs(rec, deviceHost, net, d.domid, opts.nets ?? [], vifOpts)
      : attachVifs(deviceHost, net, d.domid, opts.nets ?? [], vifOpts);
  } catch (e) {
    await detachDisks(vbds);
    await detachConsole();
    await xs.detach();
    throw e;
  }
  return {
    store,
    deviceHost,
    disks: vbds,
    vifs,
    detached,
    async detach() {
      detachVifs(vifs);
      const stopping = detachDisks(vbds);
      // The backends answer their in-flight requests first: keep deferred work running.
      let done = false;
      stopping.finally(() => (done = true));
      while (!done) {
        deviceHost.runDeferred();
        await new Promise((r) => setTimeout(r, 0));
      }
      await stopping;
      await detachConsole();
      await xs.detach();
    },
  };
}

/**
 * The vbds of `--record-rings`: the toolstack's nodes go to the real store, and each
 * Blkback gets its own recording host (with the image's initial contents).
 */
async function recordedVbds(
  rec: RingRecording,
  host: HypervisorDeviceHost,
  domid: number,
  specs: readonly string[],
  tracer: Tracer | undefined,
): Promise<AttachedDisk[]> {
  const out: AttachedDisk[] = [];
  for (const disk of await openDisks(specs)) {
    const s = disk.spec;
    writeVbdLayout(host.store, {
      domid,
      devid: s.devid,
      vdev: s.vdev,
      params: s.target,
      readonly: s.readonly,
      devtype: s.devtype,
    });
    const vbdHost = await rec.vbd(host, domid, {
      devid: s.devid,
      vdev: s.vdev,
      readonly: s.readonly,
      discard: s.discard,
      image: disk.image,
    });
    out.push(...startVbds(vbdHost, domid, [disk], { tracer, writeLayout: false }));
  }
  return out;
}

/**
 * The vifs of `--record-rings`, as attachVifs starts them, except that each Netback gets
 * its own recording host (the toolstack's nodes go to the real store).
 */
async function recordedVifs(
  rec: RingRecording,
  host: HypervisorDeviceHost,
  net: Network,
  domid: number,
  specs: readonly string[],
  opts: { tracer: Tracer | undefined; log: (msg: string) => void },
): Promise<AttachedVif[]> {
  const parsed = specs.map((s) => parseVifSpec(s));
  const out: AttachedVif[] = [];
  for (const [devid, spec] of parsed.entries()) {
    const mac = spec.mac ?? defaultMac(domid, devid);
    const sw = net.bridge(spec.bridge);
    writeVifLayout(host.store, { domid, devid, mac, bridge: sw.name });
    const backend = new Netback(await rec.vif(host, domid, devid, true), sw, {
      domid,
      devid,
      tracer: opts.tracer,
      onFatal: (r) => opts.log(`vif${domid}.${devid} disconnected: ${r}`),
    });
    backend.start();
    out.push({ spec, devid, mac, backend });
  }
  return out;
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such file"
      : err instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new InputError(`Cannot read ${what} "${path}": ${why}`);
  }
}

/**
 * Maps a run's outcome to pvx's exit code.
 * @param r the result
 */
export function exitCodeForRun(r: RunResult): number {
  return r.reason === "poweroff" || r.reason === "reboot" ? EXIT_OK : EXIT_FAILED;
}

/**
 * Runs `pvx boot`.
 * @returns the exit code
 * @example
 * ```ts
 * const code = await run({ image: "hello.elf", memory: 16, disks: ["disk.img,xvda"] });
 * ```
 */
export async function run(opts: BootOptions): Promise<number> {
  if (opts.domains?.length || opts.image?.endsWith(".cfg")) {
    const { runDomains } = await import("./_multi_boot.ts");
    return await runDomains(opts);
  }
  const log = opts.log ?? ((s: string) => console.error(s));
  if (opts.maxInstructions !== undefined && !(opts.maxInstructions > 0)) {
    throw new InputError(`Cannot boot: --max-instructions must be a positive number`);
  }
  let image: Uint8Array;
  if (opts.image === undefined) {
    image = await readDefaultGuest();
    opts = {
      ...opts,
      image: DEFAULT_GUEST_NAME,
      cmdline: defaultGuestCmdline(Deno.stdin.isTerminal(), opts.cmdline),
    };
  } else image = await readInput(opts.image, "image");
  const ramdisk = opts.ramdisk ? await readInput(opts.ramdisk, "ramdisk") : undefined;
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

/** An open `--net-pcap` file (timestamps follow the current machine's clock). */
interface OpenPcap {
  file: Deno.FsFile;
  writer: PcapWriter;
  machine: Machine | null;
}

function openPcap(path: string): OpenPcap {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { write: true, create: true, truncate: true });
  } catch (e) {
    throw new InputError(`Cannot write capture "${path}": ${e instanceof Error ? e.message : e}`);
  }
  const holder: { machine: Machine | null } = { machine: null };
  const writer = new PcapWriter((bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  }, () => holder.machine?.host.clock.nowNs() ?? 0);
  return {
    file,
    writer,
    get machine() {
      return holder.machine;
    },
    set machine(m: Machine | null) {
      holder.machine = m;
    },
  };
}

/** An open `--trace` file and its writer (the clock follows the current machine). */
interface OpenTrace {
  file: Deno.FsFile;
  writer: XentraceWriter;
  machine: Machine | null;
}

function openTrace(path: string, classes?: string): OpenTrace {
  const classIds = classes !== undefined ? parseTraceClasses(classes) : undefined;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { write: true, create: true, truncate: true });
  } catch (e) {
    throw new InputError(`Cannot write trace "${path}": ${e instanceof Error ? e.message : e}`);
  }
  const holder: { machine: Machine | null } = { machine: null };
  const writer = new XentraceWriter({
    classes: classIds,
    clock: () => holder.machine?.host.clock.tsc() ?? 0,
    sink: (bytes: Uint8Array) => {
      let off = 0;
      while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    },
  });
  return {
    file,
    writer,
    get machine() {
      return holder.machine;
    },
    set machine(m: Machine | null) {
      holder.machine = m;
    },
  };
}

async function bootLoop(
  opts: BootOptions,
  image: Uint8Array,
  ramdisk: Uint8Array | undefined,
  outputs: RunOutputs,
  log: (line: string) => void,
  recording?: RingRecording,
): Promise<number> {
  const { trace, pcap, network } = outputs;
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
      maxInstructions: opts.maxInstructions,
      // A bounded (batch) run also gives up on a guest idle with nothing that can wake it.
      idleTimeoutMs: opts.maxInstructions !== undefined ? 10_000 : undefined,
      tracer: trace?.writer,
      ...opts.machine,
    });
    if (trace) {
      trace.machine = m;
      trace.writer.switchTo(m.domain.domid, 0);
    }
    if (pcap) pcap.machine = m;
    const dev = await attachDevices(m, {
      sink: opts.console,
      consoleOptions: opts.consoleOptions,
      xenstoreSocket: opts.xenstoreSocket,
      disks: opts.disks,
      nets: opts.nets,
      network,
      recording,
    });
    let r: RunResult | "detached";
    try {
      await opts.onMachine?.(m, dev);
      const running = m.run();
      r = await Promise.race([running, dev.detached.then(() => "detached" as const)]);
      if (r === "detached") {
        m.stop();
        await running;
      }
    } finally {
      await dev.detach();
    }
    const code = report(r, opts.noReboot ?? false, log);
    if (code !== undefined) return code;
  }
}

/** Prints the outcome; returns the exit code, or undefined to boot again. */
function report(
  r: RunResult | "detached",
  noReboot: boolean,
  log: (line: string) => void,
): number | undefined {
  if (r === "detached") {
    log("pvx: console detached; the guest is stopped");
    return EXIT_OK;
  }
  switch (r.reason) {
    case "poweroff":
      return EXIT_OK;
    case "reboot":
      if (noReboot) {
        log("pvx: the guest rebooted (--no-reboot)");
        return EXIT_OK;
      }
      log("pvx: the guest rebooted; restarting it");
      return undefined;
    case "crash":
      if (r.dump) log(r.dump);
      log("pvx: the guest crashed");
      return EXIT_FAILED;
    case "limit":
      log(`pvx: stopped after ${r.instructions} instructions (--max-instructions)`);
      return EXIT_FAILED;
    case "hung":
      log("pvx: the guest blocked with no timer and no device to wake it");
      return EXIT_FAILED;
    default:
      log(`pvx: the guest shut down (${r.reason})`);
      return EXIT_FAILED;
  }
}
