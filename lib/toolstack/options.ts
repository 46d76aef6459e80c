/**
 * The options of `pvx boot` as the toolstack takes them (one object, so that further
 * subsystems add a field and an attach step without touching the run loop).
 * @module
 */
import type { MachineOptions } from "../hypervisor/mod.ts";
import type { Machine } from "../hypervisor/mod.ts";
import type { ConsoleSink } from "../console/mod.ts";
import type { ConsoleOptions } from "./terminal.ts";
import type { AttachedDevices } from "./devices.ts";
import type { OnEof } from "./end_of_input.ts";

/** Options of `pvx boot` (lib/toolstack/boot.ts run). */
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
  /** `--domain FILE.cfg` values: boot these xl config files together (lib/toolstack/multi_domain.ts). */
  domains?: string[];
  /** `--console-log FILE`, `--console-input FILE` and the terminal mode. */
  consoleOptions?: ConsoleOptions;
  /**
   * `--on-eof`: what the end of console input does (lib/toolstack/end_of_input.ts).
   * Default: "wait" for a terminal or `--console-input`, "poweroff" for other stdin.
   */
  onEof?: OnEof;
  /** `--instructions-per-second N`: the pace of virtual time (default 25 M). */
  instructionsPerSecond?: number;
  /** `--xenstore-socket PATH`. */
  xenstoreSocket?: string;
  /** `--trace FILE`: record a xentrace-format trace (read it with `pvx trace`, xenalyze). */
  trace?: string;
  /** `--trace-classes LIST`: the classes to record (default all). */
  traceClasses?: string;
  /** `--gdb PORT|unix:PATH`: serve the GDB remote protocol (lib/gdbstub). */
  gdb?: string;
  /** `--gdb-wait`: stop before the first guest instruction until gdb continues. */
  gdbWait?: boolean;
  /** A console sink to use instead of the terminal (tests); not closed by `run`. */
  console?: ConsoleSink;
  /** Where pvx's own messages go (default: stderr). */
  log?: (line: string) => void;
  /** Called with each machine once its devices are attached, before it runs. */
  onMachine?: (m: Machine, devices: AttachedDevices) => void | Promise<void>;
  /** Extra machine options. */
  machine?: Partial<MachineOptions>;
}
