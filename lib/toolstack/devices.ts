/**
 * Device attachment (libxl's device_*_add): the xenstore layout and ring, the PV console,
 * the vbds and vifs of one built machine, through a device host acting as dom0, and their
 * recorded variants for `--record-rings`.
 * @module
 */
import type { Machine } from "../hypervisor/mod.ts";
import { HypervisorDeviceHost } from "../hypervisor/mod.ts";
import { XenStore } from "../hypervisor/mod.ts";
import { attachXenstore } from "../hypervisor/mod.ts";
import { serveXenstoreSocket } from "./xenstore_socket.ts";
import { ConsoleBackend } from "../console/mod.ts";
import { ConsoleIoMerge } from "../console/mod.ts";
import { openConsole } from "./terminal.ts";
import type { ConsoleSink } from "../console/mod.ts";
import type { ConsoleOptions } from "./terminal.ts";
import { type AttachedVif, attachVifs, detachVifs, Network } from "./vif_attach.ts";
import { attachDisks, type AttachedDisk, detachDisks } from "./vbd_attach.ts";
import { openDisks, startVbds } from "./vbd_attach.ts";
import { writeVbdLayout } from "../blkfront/mod.ts";
import type { RingRecording } from "../replay/mod.ts";
import type { Tracer } from "../hypervisor/mod.ts";
import { Netback } from "../netfront/mod.ts";
import { defaultMac, parseVifSpec } from "./vif_spec.ts";
import { writeVifLayout } from "../netfront/mod.ts";

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
  /** The console ring backend. */
  console: ConsoleBackend;
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
  const b = m.bootInfo;
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
  deviceHost.onWork = () => m.wake();
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
  const sockPath = opts.xenstoreSocket;
  const xs = await attachXenstore(xsHost, store, {
    domid: d.domid,
    name: opts.name ?? "pvx-guest",
    memoryKiB: d.maxPages * 4,
    vcpus: d.vcpus.length,
    consolePort: b.consoleEvtchn,
    consoleMfn: b.consoleMfn,
    storePort: b.storeEvtchn,
    storeMfn: b.storeMfn,
  }, {
    serve: sockPath !== undefined ? (s) => serveXenstoreSocket(s, sockPath) : undefined,
    tracer,
  });
  let detachConsole: () => Promise<void>;
  let detached: Promise<void>;
  let conBackend: ConsoleBackend;
  try {
    // the terminal unless the caller brought a sink
    const own = opts.sink ? undefined : await openConsole(opts.consoleOptions);
    const sink = opts.sink ?? own!;
    // console_io and the ring reach the one console, each line once
    const merge = new ConsoleIoMerge(sink, (fn) => deviceHost.defer(fn));
    let backend: ConsoleBackend;
    try {
      backend = new ConsoleBackend(conHost, d.domid, b.consoleMfn, b.consoleEvtchn, merge.ring, {
        tracer,
      });
    } catch (e) {
      await own?.close();
      throw e;
    }
    m.host.console = merge.consoleIo;
    conBackend = backend;
    detached = sink.detached;
    detachConsole = async () => {
      await backend.drainOutput();
      merge.flush();
      backend.close();
      await own?.close();
    };
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
    console: conBackend,
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
