#!/usr/bin/env -S deno run -A
/**
 * The `pvx` program: argument parsing only. Each subcommand's logic lives in `tools/`,
 * as `run(opts) -> Promise<exit code>`.
 *
 * Exit codes: 0 success, 1 the guest or the checked thing failed, 2 usage error or bad
 * input, 3 internal error (a pvx bug).
 * @module
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { EXIT_BAD_INPUT, EXIT_OK, exitCodeFor } from "./lib/errors.ts";
import { VERSION } from "./lib/version.ts";

/** Parses a numeric option value; a usage error (exit 2) when it is not a number. */
function parseNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) {
    throw new InvalidArgumentError(`"${v}" is not a number`);
  }
  return n;
}

/** Builds the commander program. Each subcommand sets `result` to its exit code. */
function buildProgram(state: { code: number }): Command {
  const program = new Command();
  program
    .name("pvx")
    .description(
      "Emulates the Xen paravirtual platform: boot PV kernels, decode traces, inspect images, replay rings",
    )
    .version(VERSION, "-V, --version", "print the pvx version")
    .option("--debug", "print stack traces for errors")
    // a usage error is one line on stderr, as for every other bad input
    .configureOutput({
      outputError: (str, write) =>
        write(
          `pvx: ${str.trim().replace(/^error: /, "").replace(/\s*\n\s*/g, "; ")} (see --help)\n`,
        ),
    })
    .exitOverride();
  // Each action receives its Command (args in cmd.args, options in cmd.opts()) and
  // returns the exit code.
  const withExit = (fn: (cmd: Command) => Promise<number>) => async (...a: unknown[]) => {
    state.code = await fn(a[a.length - 1] as Command);
  };

  // Subcommands are added below as they become real (one block per command).
  program
    .command("inspect")
    .description(
      "show a kernel image's ELF headers, Xen notes, __xen_guest string and boot summary (ELF, gzip'd ELF or bzImage)",
    )
    .argument("<image>", "kernel image file")
    .option("--json", "print the report as JSON (documented schema, schemaVersion 1)")
    .action(withExit(async (cmd) => {
      const { run } = await import("./tools/inspect.ts");
      return run({ image: cmd.args[0], json: cmd.opts().json === true });
    }));
  program
    .command("boot")
    .description("boot a 32-bit PAE PV kernel; its console goes to stdout")
    .argument(
      "[image]",
      "kernel image (ELF, gzip'd ELF or bzImage) or an xl config file (.cfg); default: pvx's own guest (its selftest without a terminal, its shell with one)",
    )
    .option("--memory <MiB>", "guest memory in MiB (default 64)", parseNumber)
    .option("--vcpus <n>", "virtual CPUs (default 1; the guest brings up the others)", parseNumber)
    .option("--translated", "translated paging (XENFEAT_auto_translated_physmap): tables hold pfns")
    .option("--cmdline <string>", "kernel command line")
    .option("--ramdisk <file>", "ramdisk / module loaded after the kernel")
    .option("--no-reboot", "exit when the guest reboots instead of restarting it")
    .option("--realtime", "tie guest time to the host clock (default: virtual, deterministic)")
    .option(
      "--instructions-per-second <n>",
      "virtual time: guest instructions per virtual second (default 25000000)",
      parseNumber,
    )
    .option("--max-instructions <n>", "stop after n instructions (exit 1)", parseNumber)
    .option("--no-jit", "interpret only: no block compiler (comparisons, bisecting)")
    .option(
      "--disk <spec>",
      "a PV disk: xl disk syntax or PATH[,VDEV][,ro] (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      "--net <spec>",
      "a PV network interface: xl vif syntax, e.g. 'mac=00:16:3e:00:00:01,bridge=xenbr0' (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--net-pcap <file>", "capture every frame crossing the virtual switches (pcap)")
    .option(
      "--domain <file.cfg>",
      "boot the domain of an xl config file; repeat to run several domains together",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--console-log <file>", "keep a byte-exact copy of the guest console output in FILE")
    .option("--console-input <file>", "read the guest's console input from FILE instead of stdin")
    .option(
      "--on-eof <action>",
      "at the end of console input: poweroff (ask the guest; default for a pipe), detach, wait (default for a terminal or --console-input)",
    )
    .option("--xenstore-socket <path>", "serve XenStore on a unix socket (for xenstore-utils)")
    .option("--trace <file>", "record a xentrace-format trace (pvx trace FILE, xenalyze)")
    .option(
      "--trace-classes <list>",
      "record only these classes: gen, sched, mem, pv, hw, pvx (comma-separated; default all; needs --trace)",
    )
    .option("--record-rings <file>", "record every backend's ring traffic (pvx replay FILE)")
    .option(
      "--gdb <port>",
      "serve gdb's remote protocol on localhost:PORT (or unix:PATH): target remote :PORT",
    )
    .option("--gdb-wait", "with --gdb: stop before the first guest instruction until gdb continues")
    .action(withExit(async (cmd) => {
      const { run, parseOnEof } = await import("./tools/boot.ts");
      const o = cmd.opts();
      return run({
        image: cmd.args[0],
        domains: o.domain,
        memory: o.memory,
        vcpus: o.vcpus,
        translated: o.translated === true,
        cmdline: o.cmdline,
        ramdisk: o.ramdisk,
        noReboot: o.reboot === false,
        realtime: o.realtime === true,
        instructionsPerSecond: o.instructionsPerSecond,
        onEof: parseOnEof(o.onEof),
        maxInstructions: o.maxInstructions,
        machine: o.jit === false ? { jit: false } : undefined,
        disks: o.disk,
        nets: o.net,
        netPcap: o.netPcap,
        consoleOptions: { logFile: o.consoleLog, inputFile: o.consoleInput },
        xenstoreSocket: o.xenstoreSocket,
        trace: o.trace,
        traceClasses: o.traceClasses,
        recordRings: o.recordRings,
        gdb: o.gdb,
        gdbWait: o.gdbWait === true,
      });
    }));
  // --- trace ---
  program
    .command("trace")
    .description("decode a xentrace-format trace (recorded by pvx boot --trace, or by Xen)")
    .argument("<file>", "trace file")
    .option("--json", "one JSON object per record (NDJSON)")
    .option("--summary", "counts and time per class, domain, event, hypercall and trap")
    .option(
      "--filter <expr>",
      "keep records matching class=NAME, event=NAME|0xID, dom=N, from=T, to=T (comma-separated; T in cycles or with ns/us/ms/s)",
    )
    .option("--perfetto <out.json>", "write Chrome trace events for ui.perfetto.dev")
    .option("--cpu-hz <hz>", "TSC frequency for time conversion (pvx: 1e9)", parseNumber)
    .action(withExit(async (cmd) => {
      const { run } = await import("./tools/trace.ts");
      const o = cmd.opts();
      return run({
        file: cmd.args[0],
        json: o.json,
        summary: o.summary,
        filter: o.filter,
        perfetto: o.perfetto,
        cpuHz: o.cpuHz,
      });
    }));
  // --- replay ---
  program
    .command("replay")
    .description("re-drive a ring recording (pvx boot --record-rings) against fresh backends")
    .argument("<file>", "ring recording")
    .option(
      "--ring <name>",
      "only this ring: console, xenstore, vbd-DEVID, vif-DEVID (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--json", "print the report as JSON")
    .option("--fuzz <n>", "mutate the frontend inputs n times as a malicious frontend", parseNumber)
    .option("--seed <s>", "fuzzing seed (default 1)", parseNumber)
    .option("--out <file>", "where a failing fuzz case's reproducer goes (default FILE.repro.rec)")
    .option("--pcap <out>", "write the replayed vif traffic as pcap")
    .option("--vbd-text <out>", "write the replayed vbd requests and responses as text")
    .option(
      "--disk <ring=path>",
      "the initial image of a vbd the recording does not embed (over 64 MiB) (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action(withExit(async (cmd) => {
      const { run } = await import("./tools/replay.ts");
      const o = cmd.opts();
      return run({
        file: cmd.args[0],
        rings: o.ring,
        json: o.json === true,
        fuzz: o.fuzz,
        seed: o.seed,
        out: o.out,
        pcap: o.pcap,
        vbdText: o.vbdText,
        disks: o.disk,
      });
    }));

  return program;
}

/**
 * Runs pvx with the given arguments and returns its exit code.
 * @param args command-line arguments (without the program name)
 * @returns the exit code
 */
export async function main(args: string[]): Promise<number> {
  const state = { code: EXIT_OK };
  const program = buildProgram(state);
  const debug = args.includes("--debug");
  try {
    await program.parseAsync(args, { from: "user" });
    return state.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander with exit code 0
      return err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`pvx: ${msg}`);
    if (debug && err instanceof Error && err.stack) console.error(err.stack);
    return exitCodeFor(err);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
