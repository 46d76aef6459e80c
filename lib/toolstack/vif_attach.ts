/**
 * The toolstack's part for `pvx boot --net`: parses xl vif specs, creates one virtual
 * switch per bridge name (each with the host endpoint on it), writes the vif nodes and
 * starts one {@link Netback} per vif. `--net-pcap` captures every frame crossing any
 * switch into one file.
 * @module
 */
import type { DeviceHost, DomId } from "../hypervisor/mod.ts";
import type { Tracer } from "../hypervisor/mod.ts";
import { Netback } from "../netfront/mod.ts";
import type { PcapWriter } from "../netfront/mod.ts";
import { HostResponder } from "../netfront/mod.ts";
import { VirtualSwitch } from "../netfront/mod.ts";
import { defaultMac, parseVifSpec, type VifSpec } from "./vif_spec.ts";
import { writeVifLayout } from "../netfront/mod.ts";
import { formatMac } from "../netfront/mod.ts";

/** The switches of one pvx process, by bridge name (shared by every domain). */
export class Network {
  readonly switches = new Map<string, VirtualSwitch>();
  readonly responders = new Map<string, HostResponder>();
  /** Capture of every switch, if any. */
  readonly pcap: PcapWriter | null;

  constructor(pcap: PcapWriter | null = null) {
    this.pcap = pcap;
  }

  /** The switch of a bridge, created (with the host endpoint) on first use. */
  bridge(name: string): VirtualSwitch {
    let sw = this.switches.get(name);
    if (!sw) {
      sw = new VirtualSwitch(name);
      sw.pcap = this.pcap;
      this.switches.set(name, sw);
      this.responders.set(name, new HostResponder(sw));
    }
    return sw;
  }
}

/** One vif being served. */
export interface AttachedVif {
  spec: VifSpec;
  devid: number;
  mac: Uint8Array;
  backend: Netback;
}

/** Options for {@link attachVifs}. */
export interface AttachVifsOptions {
  tracer?: Tracer;
  /** Called when a vif is disconnected for a fatal frontend error. */
  log?: (msg: string) => void;
}

/**
 * Starts a netback for each spec (devids 0, 1, ... in order).
 * @throws InputError for a malformed spec (exit code 2)
 */
export function attachVifs(
  host: DeviceHost,
  net: Network,
  domid: DomId,
  specs: readonly string[],
  opts: AttachVifsOptions = {},
): AttachedVif[] {
  const parsed = specs.map((s) => parseVifSpec(s));
  const out: AttachedVif[] = [];
  parsed.forEach((spec, devid) => {
    const mac = spec.mac ?? defaultMac(domid, devid);
    const sw = net.bridge(spec.bridge);
    writeVifLayout(host.store, { domid, devid, mac, bridge: sw.name });
    const backend = new Netback(host, sw, {
      domid,
      devid,
      tracer: opts.tracer,
      onFatal: (r) => opts.log?.(`vif${domid}.${devid} (${formatMac(mac)}) disconnected: ${r}`),
    });
    backend.start();
    out.push({ spec, devid, mac, backend });
  });
  return out;
}

/** Stops the vifs' backends. */
export function detachVifs(vifs: readonly AttachedVif[]): void {
  for (const v of vifs) v.backend.stop();
}
