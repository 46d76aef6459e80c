/**
 * One run of a PV guest in the page: what `pvx boot` does, with the page's host I/O. The
 * console is the page's terminal, the disk an in-memory (or OPFS-loaded) image, the
 * network the virtual switch with its host responder, and the trace, capture and ring
 * recording collect in memory for download. A reboot builds the domain again, as the CLI
 * does. The emulator runs in the page's thread and yields to it every few milliseconds
 * (Machine.run), so the tab stays responsive.
 * @module
 */
import { Machine, type RunResult } from "../../lib/hypervisor/mod.ts";
import { XentraceWriter } from "../../lib/hypervisor/trace/xentrace_writer.ts";
import { Network } from "../../lib/toolstack/vif_attach.ts";
import { PcapWriter } from "../../lib/netfront/pcap.ts";
import { RingRecording } from "../../lib/replay/recording_boot.ts";
import type { DiskImage } from "../../lib/blkfront/disk_image.ts";
import { parseDiskSpec } from "../../lib/toolstack/disk_spec.ts";
import { type AttachedDisk, startVbds, stopVbds } from "../../lib/toolstack/vbd_attach.ts";
import { writeVbdLayout } from "../../lib/blkfront/xenbus.ts";
import type { ConsoleSink } from "../../lib/console/sinks.ts";
import { attachDevices, type AttachedDevices } from "../../lib/toolstack/devices.ts";
import { BoundedChunks, OUTPUT_CAP } from "./memory_outputs.ts";
import { EventCounter } from "./event_counter.ts";

/** What to boot and attach. */
export interface SessionOptions {
  /** The kernel image. */
  image: Uint8Array;
  /** Its name (logs, the recording header). */
  imageName: string;
  /** Kernel command line. */
  cmdline: string;
  /** Guest memory in MiB. */
  memoryMiB: number;
  /** vcpus. */
  vcpus: number;
  /** The disk served as xvda (null: none). */
  disk: DiskImage | null;
  /** Its name. */
  diskName?: string;
  /** One vif on bridge xenbr0 (the virtual switch with the host responder at 10.0.0.1). */
  net: boolean;
  /** Record a xentrace-format trace. */
  trace: boolean;
  /** Record the backends' ring traffic (pvx replay's format). */
  recordRings: boolean;
  /** Restart the guest when it reboots (the CLI's default). */
  reboot: boolean;
  /** The console. */
  console: ConsoleSink;
  /** pvx's own messages ("pvx: the guest rebooted; restarting it"). */
  log: (line: string) => void;
}

/** How a session ended. */
export interface SessionEnd {
  /** The last run's result, or "detached" (Ctrl-]) / "stopped" (the Stop button). */
  reason: string;
  /** The exit code `pvx boot` would give. */
  exitCode: number;
  /** Crash dump, if any. */
  dump?: string;
  /** Instructions retired by the last domain. */
  instructions: number;
}

/** A guest running in the page. */
export class Session {
  readonly opts: SessionOptions;
  /** The current machine and its devices (null between reboots). */
  machine: Machine | null = null;
  devices: AttachedDevices | null = null;
  /** Event-channel send/upcall counts (live view). */
  readonly events = new EventCounter();
  /** The trace bytes (xentrace format), when traced. */
  readonly traceBytes: BoundedChunks | null;
  /** The pcap of every frame on the switch, when networked. */
  readonly pcapBytes: BoundedChunks | null;
  /** The ring recording, when recorded. */
  readonly recordingBytes: BoundedChunks | null;
  /** Resolves when the session ends. */
  readonly done: Promise<SessionEnd>;
  /** Wall-clock ms from start to the first console output. */
  firstOutputMs = -1;
  readonly startedAt: number = performance.now();
  #stopRequested = false;
  readonly #writer: XentraceWriter | null;
  readonly #recording: RingRecording | null;
  readonly #network: Network;

  /** Starts the guest. */
  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.traceBytes = opts.trace ? new BoundedChunks(OUTPUT_CAP) : null;
    this.pcapBytes = opts.net ? new BoundedChunks(OUTPUT_CAP) : null;
    this.recordingBytes = opts.recordRings ? new BoundedChunks(OUTPUT_CAP) : null;
    this.#writer = this.traceBytes
      ? new XentraceWriter({
        clock: () => this.machine?.host.clock.tsc() ?? 0,
        sink: this.traceBytes.sink,
      })
      : null;
    this.events.next = this.#writer;
    const pcap = this.pcapBytes
      ? new PcapWriter(this.pcapBytes.sink, () => this.machine?.host.clock.nowNs() ?? 0)
      : null;
    this.#network = new Network(pcap);
    this.#recording = this.recordingBytes
      ? new RingRecording(this.recordingBytes.sink, () => {}, {
        image: opts.imageName,
        cmdline: opts.cmdline,
      })
      : null;
    this.done = this.#loop().finally(() => this.#writer?.flush());
  }

  /** The network (switch and host responder statistics). */
  get network(): Network {
    return this.#network;
  }

  /** Stops the guest at the next slice boundary. */
  stop(): void {
    this.#stopRequested = true;
    this.machine?.stop();
  }

  /** Flushes the trace writer's window, so the bytes so far can be downloaded. */
  flushTrace(): void {
    this.#writer?.flush();
  }

  async #loop(): Promise<SessionEnd> {
    const o = this.opts;
    for (;;) {
      const m = new Machine({
        image: o.image,
        imageName: o.imageName,
        memoryMiB: o.memoryMiB,
        vcpus: o.vcpus,
        cmdline: o.cmdline,
        tracer: this.events,
        // keys come from the page's terminal at any time: idle time follows the host clock
        paced: () => true,
      });
      this.machine = m;
      this.#writer?.switchTo(m.domain.domid, 0);
      const dev = await attachDevices(m, {
        sink: o.console,
        nets: o.net ? ["bridge=xenbr0"] : [],
        network: this.#network,
        recording: this.#recording ?? undefined,
        name: "pvx-web",
      });
      this.devices = dev;
      const vbds = o.disk ? await this.#attachDisk(m, dev, o.disk) : [];
      let r: RunResult | "detached";
      try {
        if (this.#stopRequested) m.stop();
        const running = m.run();
        r = await Promise.race([running, dev.detached.then(() => "detached" as const)]);
        if (r === "detached") {
          m.stop();
          await running;
        }
      } finally {
        await this.#detachDisk(dev, vbds);
        await dev.detach();
        this.devices = null;
      }
      if (r === "detached") {
        o.log("pvx: console detached; the guest is stopped");
        return { reason: "detached", exitCode: 0, instructions: m.instructions };
      }
      if (r.reason === "reboot" && o.reboot && !this.#stopRequested) {
        o.log("pvx: the guest rebooted; restarting it");
        continue;
      }
      return endOf(r, o.log);
    }
  }

  /** Serves `image` as xvda, recorded when asked, and counts its I/O as pending work. */
  async #attachDisk(m: Machine, dev: AttachedDevices, image: DiskImage): Promise<AttachedDisk[]> {
    const spec = parseDiskSpec(`${this.opts.diskName ?? "disk.img"},xvda`, 0);
    const domid = m.domain.domid;
    writeVbdLayout(dev.store, {
      domid,
      devid: spec.devid,
      vdev: spec.vdev,
      params: spec.target,
      readonly: spec.readonly,
      devtype: spec.devtype,
    });
    const host = this.#recording
      ? await this.#recording.vbd(dev.deviceHost, domid, {
        devid: spec.devid,
        vdev: spec.vdev,
        readonly: spec.readonly,
        discard: spec.discard,
        image,
      })
      : dev.deviceHost;
    const vbds = startVbds(host, domid, [{ spec, image }], {
      tracer: this.events,
      writeLayout: false,
    });
    const hook = m.sliceHook;
    if (hook) {
      m.sliceHook = {
        get hasPendingWork() {
          return hook.hasPendingWork || vbds.some((v) => v.backend.inflight > 0);
        },
        runDeferred: () => hook.runDeferred(),
      };
    }
    return vbds;
  }

  async #detachDisk(dev: AttachedDevices, vbds: AttachedDisk[]): Promise<void> {
    if (vbds.length === 0) return;
    const stopping = stopVbds(vbds); // the image stays open: the page owns it
    let done = false;
    stopping.finally(() => (done = true));
    while (!done) {
      dev.deviceHost.runDeferred();
      await new Promise((r) => setTimeout(r, 0));
    }
    await stopping;
  }
}

function endOf(r: RunResult, log: (line: string) => void): SessionEnd {
  const base = { reason: r.reason as string, instructions: r.instructions };
  switch (r.reason) {
    case "poweroff":
      log("pvx: the guest powered off");
      return { ...base, exitCode: 0 };
    case "reboot":
      log("pvx: the guest rebooted");
      return { ...base, exitCode: 0 };
    case "stopped":
      log("pvx: stopped");
      return { ...base, exitCode: 0 };
    case "crash":
      if (r.dump) log(r.dump);
      log("pvx: the guest crashed");
      return { ...base, exitCode: 1, dump: r.dump };
    case "hung":
      log("pvx: the guest blocked with no timer and no device to wake it");
      return { ...base, exitCode: 1 };
    default:
      log(`pvx: the guest shut down (${r.reason})`);
      return { ...base, exitCode: 1 };
  }
}
