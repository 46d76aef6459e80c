/**
 * A pvx machine: one host (machine memory, frames, clock, tracer), one PV domain built
 * from a kernel image, its vcpu CPUs, event channels and grant table, and the run loop:
 * slices of instructions given to runnable vcpus in turn, timers and event upcalls at
 * instruction boundaries, idle fast-forward of virtual time (paced to the host clock while
 * input can come from outside), backends' deferred work at slice boundaries, and a yield
 * to the host event loop often enough for I/O. A guest blocked waiting for the host costs
 * no host CPU: the loop sleeps until its next timer is due on the host clock or until
 * {@link Machine.wake} (new device work) is called.
 * tools/boot.ts drives it.
 * @module
 */
import { Cpu, type JitOptions } from "../../cpu/mod.ts";
import { InputError } from "../../errors.ts";
import { DOMID_SELF, FLAT_KERNEL_DS } from "../../abi/mod.ts";
import {
  SHUTDOWN_crash,
  SHUTDOWN_poweroff,
  SHUTDOWN_reboot,
  SHUTDOWN_soft_reset,
  SHUTDOWN_suspend,
  SHUTDOWN_watchdog,
} from "../../abi/mod.ts";
import { R_ESI, S_DS, S_ES, S_FS, S_GS } from "./cpu_port.ts";
import { CpuAdapter } from "./cpu_adapter.ts";
import { GuestAccess } from "../pv/guest_access.ts";
import { type ConsoleSink, Host } from "./host.ts";
import type { Domain } from "../domain/domain.ts";
import { buildDomain, type BuiltDomain } from "../builder/build_domain.ts";
import { isKernel64, loadPvKernel } from "../builder/from_elf.ts";
import type { KernelImage } from "../builder/kernel_image.ts";
import type { KernelImage64 } from "../builder/kernel_image64.ts";
import { buildDomain64, type BuiltDomain64 } from "../builder/build_domain64.ts";
import { startVcpus64 } from "./start64.ts";
import { EventChannels } from "../evtchn/channels.ts";
import { SharedInfoView } from "../evtchn/shared_info_view.ts";
import { mmuextOp, newBaseptr } from "../../paging/mod.ts";
import { MMUEXT_PIN_L3_TABLE } from "../../abi/mod.ts";
import { PvDescriptorTables } from "../traps/descriptor_tables.ts";
import { checkDescriptor } from "../pv/descriptor.ts";
import { PvPlatform } from "./pv_platform.ts";
import { checkWake, deliverEvents } from "../traps/events.ts";
import { fireDueTimers, nextDeadline } from "../time/timers.ts";
import { formatCrashDump } from "../domain/crash_dump.ts";
import { domainCrash } from "../domain/lifecycle.ts";
import { installGrantMapCheck, pvGrantHostMapper } from "../pv/grant_table.ts";
import { unplaceXenFrame } from "../hypercalls/physmap_translated.ts";
import type { Tracer } from "../trace/tracer.ts";
import type { EvtchnDirectory } from "../evtchn/channels.ts";
import { type GnttabDirectory, GrantTable } from "../gnttab/table.ts";
import { getPageAndType, PGT_writable_page, putPageAndType } from "../../paging/mod.ts";

/** Options of a {@link Machine}. */
export interface MachineOptions {
  /** The kernel image file (ELF, possibly gzip/bzImage-wrapped), or a parsed kernel. */
  image: Uint8Array | KernelImage | KernelImage64;
  /** Its name, for messages. */
  imageName?: string;
  /** Guest memory in MiB (default 64). */
  memoryMiB?: number;
  /** Kernel command line. */
  cmdline?: string;
  /** Ramdisk / module bytes. */
  ramdisk?: Uint8Array;
  /** Host time instead of virtual time. */
  realtime?: boolean;
  /** Virtual time: instructions per virtual second (default 25 M; see GuestClock). */
  instructionsPerSecond?: number;
  /**
   * Whether input can arrive from outside (a terminal, a pipe, a socket): then idle time
   * is not fast-forwarded past the host clock (default: never; see {@link Machine.paced}).
   */
  paced?: () => boolean;
  /** Trace sink. */
  tracer?: Tracer;
  /** Where console_io output goes (and input comes from). */
  console?: ConsoleSink;
  /** Stop after this many instructions (default: no limit). */
  maxInstructions?: number;
  /** Instructions per slice (default 200,000). */
  sliceInstructions?: number;
  /** Debug lines (crash reasons, gdprintk equivalents). */
  debug?: (msg: string) => void;
  /** The guest's domain id (default 1). */
  domid?: number;
  /** vcpus (default 1; the others start offline, for VCPUOP_initialise and _up). */
  vcpus?: number;
  /** Translated paging (XENFEAT_auto_translated_physmap): the guest's tables hold pfns. */
  translated?: boolean;
  /**
   * Give up ("hung") when every vcpu has been blocked with no timer and no device work
   * for this long (host milliseconds). Default: wait for the host forever.
   */
  idleTimeoutMs?: number;
  /**
   * The block compiler (lib/cpu/jit); false interprets only (`pvx boot --no-jit`,
   * `PVX_JIT=0`: the toolstack reads the environment, lib/toolstack/jit_env.ts).
   */
  jit?: boolean;
  /** Receives each region the block compiler generates (`PVX_JIT_DUMP=DIR` writes them). */
  jitDump?: JitOptions["dump"];
}

/** Why {@link Machine.run} returned. */
export type StopReason =
  | "poweroff"
  | "reboot"
  | "suspend"
  | "crash"
  | "watchdog"
  | "soft_reset"
  | "limit"
  | "until"
  | "stopped"
  | "hung";

/** The outcome of a run. */
export interface RunResult {
  reason: StopReason;
  /** The SHUTDOWN_* code, or -1 when the domain did not shut down. */
  shutdownCode: number;
  /** Instructions retired. */
  instructions: number;
  /** Register and stack dump, for a crash. */
  dump?: string;
}

/** Work the machine's owner plugs in at slice boundaries (backends' deferred work). */
export interface SliceHook {
  /** Whether host-side work is pending (runs before the guest is resumed). */
  readonly hasPendingWork: boolean;
  /** Runs it. */
  runDeferred(): number;
}

const REASONS: Record<number, StopReason> = {
  [SHUTDOWN_poweroff]: "poweroff",
  [SHUTDOWN_reboot]: "reboot",
  [SHUTDOWN_suspend]: "suspend",
  [SHUTDOWN_crash]: "crash",
  [SHUTDOWN_watchdog]: "watchdog",
  [SHUTDOWN_soft_reset]: "soft_reset",
};

/** Extra machine frames beyond guest memory: Xen's M2P and its tables, shared pages. */
const HOST_OVERHEAD_FRAMES = 1024;

/** One host running one PV guest. */
export class Machine {
  /** The host. */
  readonly host: Host;
  /** The guest. */
  readonly domain: Domain;
  /** What the 32-bit builder made (null for a 64-bit domain: see {@link built64}). */
  readonly built32: BuiltDomain | null;
  /** What the 64-bit builder made (null for a 32-bit domain). */
  readonly built64: BuiltDomain64 | null;
  /** The CPUs, per vcpu. */
  readonly cpus: Cpu[] = [];
  /** Slice-boundary work (the device host), when devices are attached. */
  sliceHook: SliceHook | null = null;
  /** Extra event-channel tables (dom0's), looked up by domid. */
  readonly extraEvtchn: Map<number, EventChannels> = new Map();
  /** Extra grant tables (dom0's), looked up by domid. */
  readonly extraGnttab: Map<number, GrantTable> = new Map();
  /**
   * Whether idle fast-forward is held to the host clock now (input can come from
   * outside). Pacing changes only when, never what, the guest sees of its timers.
   */
  paced: () => boolean;
  #wakeIdle: (() => void) | null = null;
  private readonly maxInstructions: number;
  private readonly idleTimeoutMs: number;
  private readonly slice: number;
  private executed = 0;
  private stopRequested = false;
  private nextVcpu = 0;
  /** The vcpu that ran last (the one a crash dump shows). */
  private lastVcpu = 0;

  /**
   * Builds the machine and its domain.
   * @throws InputError for a bad image or sizes
   */
  constructor(opts: MachineOptions) {
    const mib = opts.memoryMiB ?? 64;
    if (!Number.isInteger(mib) || mib < 4 || mib > 1536) {
      throw new InputError(`Cannot boot with --memory ${mib}: use 4 to 1536 MiB`);
    }
    const pages = mib * 256;
    const vcpus = opts.vcpus ?? 1;
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 32) {
      throw new InputError(`Cannot boot with --vcpus ${vcpus}: use 1 to 32`);
    }
    const ips = opts.instructionsPerSecond;
    if (ips !== undefined && !(Number.isInteger(ips) && ips >= 1000 && ips <= 1e12)) {
      throw new InputError(
        `Cannot boot with --instructions-per-second ${ips}: use an integer from 1000 to 1e12`,
      );
    }
    this.paced = opts.paced ?? (() => false);
    this.host = new Host({
      frames: pages + HOST_OVERHEAD_FRAMES,
      realtime: opts.realtime,
      instructionsPerSecond: ips,
      tracer: opts.tracer,
      console: opts.console,
      debug: opts.debug,
    });
    const scratch = new Int32Array(2);
    const frames = this.host.frames;
    frames.descriptorCheck = (owner, lo, hi) =>
      checkDescriptor(lo, hi, scratch, frames.pv64Domains.has(owner));
    installGrantMapCheck(this.host);
    const kernel = opts.image instanceof Uint8Array
      ? loadPvKernel(opts.image, opts.imageName ?? "image")
      : opts.image;
    const common = {
      domid: opts.domid ?? 1,
      pages,
      ramdisk: opts.ramdisk,
      cmdline: opts.cmdline,
      vcpus,
      allocUnbound: (d: Domain, remote: number) =>
        this.evtchnOf(d).allocUnbound(DOMID_SELF, remote),
    };
    if (isKernel64(kernel)) {
      if (opts.translated) throw new InputError("Cannot boot a translated 64-bit PV domain");
      this.built32 = null;
      this.built64 = buildDomain64(this.host, { ...common, kernel });
      this.domain = this.built64.domain;
    } else {
      this.built64 = null;
      this.built32 = buildDomain(this.host, { ...common, kernel, translated: opts.translated });
      this.domain = this.built32.domain;
    }
    this.evtchnOf(this.domain);
    this.gnttabOf(this.domain);
    this.maxInstructions = opts.maxInstructions ?? Infinity;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? Infinity;
    this.slice = opts.sliceInstructions ?? 200_000;
    this.startVcpus(opts.jit === false ? false : { dump: opts.jitDump });
  }

  /** The event-channel directory (guest domains and dom0). */
  readonly directory: EvtchnDirectory = {
    evtchn: (id: number) =>
      this.extraEvtchn.get(id) ?? this.host.domains.get(id)?.evtchn ?? undefined,
  };

  /** The grant-table directory (guest domains and dom0). */
  readonly gnttabDirectory: GnttabDirectory = {
    gnttab: (id: number) =>
      this.extraGnttab.get(id) ?? this.host.domains.get(id)?.gnttab ?? undefined,
  };

  /** The domain's grant table, created on first use (one frame, as Xen starts it). */
  gnttabOf(d: Domain): GrantTable {
    if (d.gnttab) return d.gnttab;
    const f = this.host.frames;
    d.gnttab = new GrantTable({
      domid: d.domid,
      mem: this.host.mem,
      directory: this.gnttabDirectory,
      tracer: this.host.tracer,
      translated: d.mm.translated,
      hooks: {
        gfnToMfn: (gfn) => {
          const mfn = d.mm.gfnToMfn(gfn);
          return mfn < f.count && f.isOwnedBy(mfn, d.domid) ? mfn : -1;
        },
        canWrite: (mfn) => f.typeCount[mfn] === 0 || f.type[mfn] === PGT_writable_page,
        allocFrame: () => {
          const mfn = f.allocDomainFrame(d.domid);
          if (mfn >= 0) d.xenShared.add(mfn);
          return mfn < 0 ? -1 : mfn;
        },
        // a v2 status frame: mapped or typed beyond its allocation reference -> in use
        frameBusy: (mfn) => f.refs[mfn] > 1 || f.typeCount[mfn] !== 0,
        freeFrame: (mfn) => {
          if (d.xenShared.delete(mfn)) f.releaseAllocation(mfn, d.domid, () => {});
        },
        unplaceFrame: (gfn, mfn) => unplaceXenFrame(d, gfn, mfn),
        crash: (why) => domainCrash(d, why),
        hostMapper: pvGrantHostMapper(d),
      },
    });
    return d.gnttab;
  }

  /** The domain's event channels, created on first use. */
  evtchnOf(d: Domain): EventChannels {
    if (d.evtchn) return d.evtchn;
    d.evtchn = new EventChannels({
      domid: d.domid,
      shared: new SharedInfoView(
        this.host.mem,
        d.sharedInfoMfn,
        d.vcpus.length,
        d.mm.pv64 ? 64 : 32,
      ),
      hooks: { kick: () => {} }, // wake-ups are checked at every boundary
      directory: this.directory,
      tracer: this.host.tracer,
      fifoPages: {
        // map_guest_page: a page of the domain that can take the writable type.
        map: (gfn) => {
          const mfn = gfn >= 0 && gfn < 2 ** 32 ? d.mm.gfnToMfn(gfn) : -1;
          if (!(mfn >= 0 && mfn < this.host.frames.count)) return -1;
          return getPageAndType(this.host.frames, mfn, PGT_writable_page, d.domid) === 0
            ? mfn * 4096
            : -1;
        },
        unmap: (maddr) => putPageAndType(this.host.frames, maddr / 4096),
      },
    });
    return d.evtchn;
  }

  /** What the 32-bit builder made. @throws Error for a 64-bit domain */
  get built(): BuiltDomain {
    if (this.built32 === null) throw new Error("a 64-bit domain: see Machine.built64");
    return this.built32;
  }

  /** The store and console pages and ports the builder set up (either width). */
  get bootInfo(): BuiltDomain | BuiltDomain64 {
    return this.built32 ?? this.built64!;
  }

  /** Pins the initial page tables, creates each vcpu's CPU, loads the boot registers. */
  private startVcpus(jit: JitOptions | false): void {
    if (this.built64 !== null) {
      this.cpus.push(...startVcpus64(this.host, this.built64, jit));
      this.countRetired();
      return;
    }
    const d = this.domain;
    const b = this.built;
    const l3 = b.regs.cr3 / 4096;
    let rc = mmuextOp(d.mm, 0, MMUEXT_PIN_L3_TABLE, l3);
    if (d.mm.translated) d.mm.walkers[0].cr3 = b.regs.cr3; // tables are ordinary RAM
    else if (rc === 0) rc = newBaseptr(d.mm, 0, l3);
    if (rc !== 0) {
      throw new InputError(`Cannot build domain: the initial page tables do not validate (${rc})`);
    }
    for (const v of d.vcpus) {
      const platform = new PvPlatform(v);
      const walker = d.mm.walkers[v.id];
      const cpu = new Cpu(this.host.mem, platform, walker, jit);
      cpu.descriptorTables = new PvDescriptorTables(v);
      this.cpus.push(cpu);
      v.cpu = new CpuAdapter(cpu);
      v.access = new GuestAccess(this.host.mem, walker);
      v.syncCr3();
    }
    const v0 = d.vcpus[0];
    const r = b.regs;
    if (v0.cpu.enterHandler(r.cs, r.eip, r.ss, r.esp) !== 0) {
      throw new InputError("Cannot start the guest: Xen's flat selectors did not load");
    }
    for (const s of [S_DS, S_ES, S_FS, S_GS]) v0.cpu.loadSeg(s, FLAT_KERNEL_DS);
    v0.cpu.gpr[R_ESI] = r.esi | 0;
    v0.cpu.eflags = r.eflags;
    for (let i = 1; i < d.vcpus.length; i++) {
      d.vcpus[i].online = false;
      d.vcpus[i].initialised = false;
    }
    this.countRetired();
  }

  /** Guest time counts every vcpu's retired instructions. */
  private countRetired(): void {
    const cpus = this.cpus;
    this.host.clock.retired = cpus.length === 1 ? () => cpus[0].retired : () => {
      let n = 0;
      for (const c of cpus) n += c.retired;
      return n;
    };
  }

  /**
   * Ends a running {@link run} at the next slice boundary (reason "stopped"), e.g. when
   * the user detaches the console.
   */
  stop(): void {
    this.stopRequested = true;
    for (const v of this.domain.vcpus) v.cpu?.stop();
  }

  /**
   * Wakes a run loop sleeping while the guest is idle (new device work or host input);
   * harmless at any other time.
   */
  wake(): void {
    const w = this.#wakeIdle;
    this.#wakeIdle = null;
    w?.();
  }

  /** Whether every online vcpu is blocked and no device work is pending. */
  get idle(): boolean {
    if (this.sliceHook?.hasPendingWork) return false;
    for (const v of this.domain.vcpus) if (v.online && !v.blocked) return false;
    return true;
  }

  /** Sleeps on the host for up to `ms`, or until {@link wake}. */
  private waitHost(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(id);
        if (this.#wakeIdle === done) this.#wakeIdle = null;
        resolve();
      };
      const id = setTimeout(done, Math.max(0, ms));
      this.#wakeIdle = done;
    });
  }

  /** Instructions retired so far. */
  get instructions(): number {
    return this.executed;
  }

  /** The result for a shut-down domain. */
  private result(): RunResult {
    const d = this.domain;
    const reason = REASONS[d.shutdownReason] ?? "crash";
    const out: RunResult = {
      reason,
      shutdownCode: d.shutdownReason,
      instructions: this.executed,
    };
    if (reason === "crash") out.dump = formatCrashDump(d.vcpus[this.lastVcpu]);
    return out;
  }

  /**
   * Runs the guest until it shuts down, hits the instruction limit, blocks forever, or
   * (checked at slice boundaries) `until` holds. Can be called again to continue.
   * @param until optional stop condition (reason "until")
   * @param budget optional instruction budget for this call (reason "limit")
   * @returns why it stopped
   */
  async run(until?: () => boolean, budget = Infinity): Promise<RunResult> {
    const d = this.domain;
    const stopAt = Math.min(this.maxInstructions, this.executed + budget);
    const clock = this.host.clock;
    const vcpus = d.vcpus;
    let lastYield = performance.now();
    let idleSince = -1;
    for (;;) {
      if (d.isShutdown) return this.result();
      if (this.stopRequested) {
        this.stopRequested = false;
        return { reason: "stopped", shutdownCode: -1, instructions: this.executed };
      }
      if (this.executed >= stopAt) {
        return { reason: "limit", shutdownCode: -1, instructions: this.executed };
      }
      if (until?.()) return { reason: "until", shutdownCode: -1, instructions: this.executed };
      const now = clock.nowNs();
      fireDueTimers(d, now);
      if (d.isShutdown) continue;
      for (const x of vcpus) {
        if (!x.online) continue;
        checkWake(x);
        deliverEvents(x);
      }
      if (d.isShutdown) continue;
      const hook = this.sliceHook;
      // Round robin over the runnable vcpus, one slice each.
      let v = null;
      for (let k = 0; k < vcpus.length && v === null; k++) {
        const x = vcpus[(this.nextVcpu + k) % vcpus.length];
        if (x.online && !x.blocked) v = x;
      }
      if (v === null) {
        if (hook?.hasPendingWork) {
          idleSince = -1;
          if (hook.runDeferred() === 0) {
            // what is pending is host I/O still in flight: let the event loop finish it
            // (virtual time stands still meanwhile, so the result is deterministic)
            await tick(0);
            lastYield = performance.now();
          }
          continue;
        }
        const next = nextDeadline(d);
        if (next === Infinity) {
          if (hook === null) {
            return { reason: "hung", shutdownCode: -1, instructions: this.executed };
          }
          const t = performance.now();
          if (idleSince < 0) idleSince = t;
          else if (t - idleSince > this.idleTimeoutMs) {
            return { reason: "hung", shutdownCode: -1, instructions: this.executed };
          }
          // nothing but the host can wake the guest: sleep until it does
          await this.waitHost(IDLE_WAIT_MS);
          lastYield = performance.now();
          if (!clock.realtime && this.paced()) {
            // paced: the idle time passed on the host passes for the guest too
            const host = clock.hostNs();
            if (host > now) clock.fastForward(host - now);
          }
          continue;
        }
        if (clock.realtime) {
          await this.waitHost(Math.min(IDLE_WAIT_MS, (next - now) / 1e6));
          lastYield = performance.now();
          continue;
        }
        if (this.paced()) {
          const ahead = next - clock.hostNs();
          if (ahead > 0) {
            // the deadline is ahead of the host clock: wait for it (or for input), then
            // move virtual time up to the host clock, never past the deadline
            await this.waitHost(Math.min(IDLE_WAIT_MS, ahead / 1e6));
            lastYield = performance.now();
            const target = Math.min(next, clock.hostNs());
            if (target > now) clock.fastForward(target - now);
            continue;
          }
        }
        clock.fastForward(next - now);
        if (performance.now() - lastYield > 20) {
          await tick(0);
          lastYield = performance.now();
        }
        continue;
      }
      idleSince = -1;
      let n = Math.min(this.slice, stopAt - this.executed);
      if (!clock.realtime) {
        const next = nextDeadline(d);
        if (next !== Infinity) n = Math.max(1, Math.min(n, clock.instructionsFor(next - now)));
      }
      this.nextVcpu = (v.id + 1) % vcpus.length;
      this.lastVcpu = v.id;
      const t = this.host.tracer;
      if (t.on && vcpus.length > 1) t.switchTo(d.domid, v.id);
      this.executed += v.cpu.run(n);
      if (hook?.hasPendingWork) hook.runDeferred();
      if (performance.now() - lastYield > 20) {
        await tick(0);
        lastYield = performance.now();
      }
    }
  }
}

/** The longest idle sleep between checks (host ms). */
const IDLE_WAIT_MS = 100;

function tick(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
