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
import type { ConsoleSink } from "../lib/hypervisor/host.ts";

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
  /** Where guest console output goes (default: stdout). */
  console?: ConsoleSink;
  /** Where pvx's own messages go (default: stderr). */
  log?: (line: string) => void;
  /** Called with each machine before it runs (attach devices, tracing...). */
  onMachine?: (m: Machine) => void | Promise<void>;
  /** Extra machine options. */
  machine?: Partial<MachineOptions>;
}

/** Writes bytes to stdout synchronously (console output must not be reordered). */
export const STDOUT_SINK: ConsoleSink = {
  write(bytes: Uint8Array) {
    let off = 0;
    while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
  },
};

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
  for (;;) {
    const m = new Machine({
      image,
      imageName: opts.image,
      memoryMiB: opts.memory,
      cmdline: opts.cmdline,
      ramdisk,
      realtime: opts.realtime,
      maxInstructions: opts.maxInstructions,
      console: opts.console ?? STDOUT_SINK,
      ...opts.machine,
    });
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
