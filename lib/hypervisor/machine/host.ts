/**
 * The machine-wide hypervisor state shared by all domains: machine memory, frames (with
 * the M2P table, from lib/paging), clock, tracer, console sink and the domain list.
 * @module
 */
import { PhysMemory } from "../../cpu/mod.ts";
import { NULL_TRACER, type Tracer } from "../trace/tracer.ts";
import { MachineFrames } from "../../paging/mod.ts";
import { GuestClock } from "../time/clock.ts";
import type { Domain } from "../domain/domain.ts";

/** Where console_io output goes, and where CONSOLEIO_read input comes from. */
export interface ConsoleSink {
  /** Writes guest console bytes. */
  write(bytes: Uint8Array): void;
  /**
   * Reads up to `max` pending input bytes (empty when none).
   * @param max the most bytes wanted
   */
  read?(max: number): Uint8Array;
}

/** Host construction options. */
export interface HostOptions {
  /** Machine memory in 4 KiB frames. */
  frames: number;
  /** Host-clock time instead of virtual time. */
  realtime?: boolean;
  /** Virtual time: instructions per virtual second (see GuestClock). */
  instructionsPerSecond?: number;
  /** Trace sink (NULL_TRACER by default). */
  tracer?: Tracer;
  /** Console sink for console_io (discards by default). */
  console?: ConsoleSink;
  /** Debug lines (gdprintk equivalents); ignored by default. */
  debug?: (msg: string) => void;
}

/** Hypervisor-wide state. */
export class Host {
  /** Machine memory. */
  readonly mem: PhysMemory;
  /** Frame ownership, types, allocation and the M2P table. */
  readonly frames: MachineFrames;
  /** Time. */
  readonly clock: GuestClock;
  /** Trace sink. */
  tracer: Tracer;
  /** console_io sink. */
  console: ConsoleSink;
  /** Debug log. */
  debug: (msg: string) => void;
  /** Domains by domid. */
  readonly domains: Map<number, Domain> = new Map();

  /** @param opts sizes and sinks */
  constructor(opts: HostOptions) {
    this.mem = new PhysMemory(opts.frames);
    this.frames = new MachineFrames(this.mem);
    this.clock = new GuestClock({
      realtime: opts.realtime,
      instructionsPerSecond: opts.instructionsPerSecond,
    });
    this.tracer = opts.tracer ?? NULL_TRACER;
    this.console = opts.console ?? { write() {} };
    this.debug = opts.debug ?? (() => {});
  }
}
