/**
 * `pvx boot IMAGE`: builds a PV domain from a kernel image and runs it. console_io
 * output goes to stdout. Exit code 0 when the guest powers off, 1 when it crashes (with
 * a register and stack dump on stderr), stops on the instruction limit or hangs, 2 on
 * bad input. A reboot builds the domain again unless `noReboot`.
 *
 * Options live in one object so other subsystems (disks, networks, traces, the console
 * ring, xenstore) add fields without touching the run loop: see {@link BootOptions}.
 * @module
 */
import { EXIT_FAILED, EXIT_OK, InputError } from "../lib/errors.ts";
import { Machine, type MachineOptions, type RunResult } from "../lib/hypervisor/machine.ts";
import { HypervisorDeviceHost } from "../lib/hypervisor/device_host.ts";
import { XenStore } from "../lib/hypervisor/xenstore/store.ts";
import { XenstoreRingBackend } from "../lib/hypervisor/xenstore/ring_backend.ts";
import { writeToolstackLayout } from "../lib/hypervisor/xenstore/toolstack_layout.ts";
import { ConsoleBackend } from "../lib/console/backend.ts";
import type { ConsoleSink } from "../lib/console/sinks.ts";
import { type ConsoleOptions, openConsole } from "../lib/console/terminal.ts";

/** Options of {@link run}. */
export interface BootOptions {
  /** Kernel image path. */
  image: string;
  /** Guest memory in MiB (default 64). */
  memory?: number;
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
  /**
   * The guest's console (PV console ring and console_io): default a stdio console opened
   * with {@link consoleOptions}; a sink passed here is not closed by `run`.
   */
  console?: ConsoleSink;
  /** How to open the default stdio console (log file, input file, mode). */
  consoleOptions?: ConsoleOptions;
  /** Where pvx's own messages go (default: stderr). */
  log?: (line: string) => void;
  /** Called with each machine before it runs (attach devices, tracing...). */
  onMachine?: (m: Machine) => void | Promise<void>;
  /** Extra machine options. */
  machine?: Partial<MachineOptions>;
}

/** The devices attached to a machine: the store and the device host backends use. */
export interface AttachedDevices {
  store: XenStore;
  deviceHost: HypervisorDeviceHost;
}

/**
 * Attaches what a toolstack gives every PV domain: xenstore (its ring backend and the
 * domain's layout as libxl writes it) and the PV console backend, through a device host
 * acting as dom0; the device host's deferred work runs at slice boundaries.
 * @param m the machine (its domain built, not yet run)
 * @param sink the console
 * @param name the domain's name in xenstore
 */
export function attachDevices(m: Machine, sink: ConsoleSink, name = "pvx-guest"): AttachedDevices {
  const d = m.domain;
  const b = m.built;
  const frames = m.host.frames;
  const store = new XenStore();
  const deviceHost = new HypervisorDeviceHost({
    mem: m.host.mem,
    store,
    directory: { evtchn: m.directory.evtchn, gnttab: m.gnttabDirectory.gnttab },
    frameOwner: (
      mfn,
    ) => (mfn >= 0 && mfn < frames.count && frames.refs[mfn] !== 0 ? frames.owner[mfn] : -1),
    tracer: m.host.tracer,
  });
  m.extraEvtchn.set(0, deviceHost.dom0Evtchn);
  m.extraGnttab.set(0, deviceHost.dom0Gnttab);
  writeToolstackLayout(store, {
    domid: d.domid,
    name,
    memoryKiB: d.maxPages * 4,
    vcpus: d.vcpus.length,
    consolePort: b.consoleEvtchn,
    consoleMfn: b.consoleMfn,
    storePort: b.storeEvtchn,
    storeMfn: b.storeMfn,
  });
  new XenstoreRingBackend(deviceHost, store, d.domid, b.storeMfn, b.storeEvtchn, {
    tracer: m.host.tracer,
  });
  new ConsoleBackend(deviceHost, d.domid, b.consoleMfn, b.consoleEvtchn, sink, {
    tracer: m.host.tracer,
  });
  m.sliceHook = deviceHost;
  return { store, deviceHost };
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
 * const code = await run({ image: "hello.elf", memory: 16 });
 * ```
 */
export async function run(opts: BootOptions): Promise<number> {
  const log = opts.log ?? ((s: string) => console.error(s));
  if (opts.maxInstructions !== undefined && !(opts.maxInstructions > 0)) {
    throw new InputError(`Cannot boot: --max-instructions must be a positive number`);
  }
  const image = await readInput(opts.image, "image");
  const ramdisk = opts.ramdisk ? await readInput(opts.ramdisk, "ramdisk") : undefined;
  const sink = opts.console ?? await openConsole(opts.consoleOptions ?? {});
  try {
    return await bootLoop(opts, image, ramdisk, sink, log);
  } finally {
    if (!opts.console) await sink.close();
  }
}

async function bootLoop(
  opts: BootOptions,
  image: Uint8Array,
  ramdisk: Uint8Array | undefined,
  sink: ConsoleSink,
  log: (line: string) => void,
): Promise<number> {
  for (;;) {
    const m = new Machine({
      image,
      imageName: opts.image,
      memoryMiB: opts.memory,
      cmdline: opts.cmdline,
      ramdisk,
      realtime: opts.realtime,
      maxInstructions: opts.maxInstructions,
      console: sink,
      ...opts.machine,
    });
    attachDevices(m, sink);
    await opts.onMachine?.(m);
    const r = await m.run();
    switch (r.reason) {
      case "poweroff":
        return EXIT_OK;
      case "reboot":
        if (opts.noReboot) {
          log("pvx: the guest rebooted (--no-reboot)");
          return EXIT_OK;
        }
        log("pvx: the guest rebooted; restarting it");
        continue;
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
}
