/**
 * What Xen's toolstack (libxl) writes to XenStore for a PV domU: the domain's home under
 * /local/domain/<id> (name, domid, vm, memory, cpu, store, console, control, device
 * frontends) and the backend directories under /local/domain/0/backend/..., with
 * libxl's permissions and both ends of every device in XenbusStateInitialising.
 * @module
 */
import { domainPath } from "./path.ts";
import type { XenStore } from "./store.ts";
import { XenbusStateInitialising } from "./xenbus.ts";

/** A virtual block device. */
export interface VbdLayout {
  /** Guest device name (`xvda`); sets the devid when `devid` is absent. */
  vdev: string;
  /** The backing image (the backend's `params`). */
  params: string;
  /** "w" (default) or "r". */
  mode?: "r" | "w";
  /** "disk" (default) or "cdrom". */
  deviceType?: "disk" | "cdrom";
  /** The xenbus device id (virtual-device); computed from `vdev` by default. */
  devid?: number;
}

/** A virtual network interface. */
export interface VifLayout {
  /** Interface index (handle), the devid. */
  devid: number;
  /** MAC address (`00:16:3e:..`). */
  mac: string;
  /** Bridge name shown to tools (default "xenbr0"). */
  bridge?: string;
}

/** The domain as the builder created it. */
export interface ToolstackLayoutSpec {
  /** The domain. */
  domid: number;
  /** Its name. */
  name: string;
  /** Memory target in KiB. */
  memoryKiB: number;
  /** Maximum memory in KiB (default memoryKiB). */
  maxMemoryKiB?: number;
  /** Number of vcpus (default 1). */
  vcpus?: number;
  /** The domain's UUID (a deterministic one is made from the domid by default). */
  uuid?: string;
  /** The guest's console event channel (start_info.console.domU.evtchn). */
  consolePort: number;
  /** The console ring's mfn (start_info.console.domU.mfn). */
  consoleMfn: number;
  /** The guest's xenstore event channel (start_info.store_evtchn), if known. */
  storePort?: number;
  /** The xenstore ring's mfn (start_info.store_mfn), if known. */
  storeMfn?: number;
  /** Virtual disks. */
  vbds?: VbdLayout[];
  /** Virtual network interfaces. */
  vifs?: VifLayout[];
}

/**
 * The xenbus devid of a Linux-style `xvdX` / `xvdXN` name (202 << 8 | disk << 4 | part,
 * the extended form for disks past 15), or a plain decimal string.
 * @returns the devid, or -1 when the name is not understood
 */
export function vdevToDevid(vdev: string): number {
  if (/^[0-9]+$/.test(vdev)) return Number(vdev);
  const m = /^(?:xvd|sd|hd)([a-z]+)([0-9]*)$/.exec(vdev);
  if (!m) return -1;
  let disk = 0;
  for (const ch of m[1]) disk = disk * 26 + (ch.charCodeAt(0) - 96);
  disk -= 1;
  const part = m[2] === "" ? 0 : Number(m[2]);
  if (disk < 16 && part < 16) return (202 << 8) | (disk << 4) | part;
  if (part > 255) return -1;
  return (1 << 28) | (disk << 8) | part;
}

/** A deterministic UUID for a domid (tests and logs stay stable). */
function defaultUuid(domid: number): string {
  const hex = domid.toString(16).padStart(12, "0");
  return `00000000-0000-4000-8000-${hex}`;
}

/**
 * Writes the toolstack's layout of one PV domU.
 * @param store the store (as dom0)
 * @param spec the domain
 * @example
 * ```ts
 * writeToolstackLayout(store, { domid: 1, name: "guest", memoryKiB: 131072,
 *   consolePort: 2, consoleMfn: 0x1234, vbds: [{ vdev: "xvda", params: "disk.img" }] });
 * ```
 */
export function writeToolstackLayout(store: XenStore, spec: ToolstackLayoutSpec): void {
  const d = spec.domid;
  const home = domainPath(d);
  const uuid = spec.uuid ?? defaultUuid(d);
  const ro = ["n0", `r${d}`];
  const rw = [`n${d}`];
  const w = (path: string, v: string | number) => store.write(path, String(v));

  store.rm(home);
  store.rm(`/vm/${uuid}`);
  store.mkdir(home);
  store.setPerms(home, ro);
  store.mkdir(`/vm/${uuid}`);
  store.setPerms(`/vm/${uuid}`, ro);
  w(`/vm/${uuid}/name`, spec.name);
  w(`/vm/${uuid}/uuid`, uuid);
  w(`/vm/${uuid}/image/ostype`, "linux");

  w(`${home}/vm`, `/vm/${uuid}`);
  w(`${home}/name`, spec.name);
  w(`${home}/domid`, d);
  for (const dir of ["device", "control"]) {
    store.mkdir(`${home}/${dir}`);
    store.setPerms(`${home}/${dir}`, ro);
  }
  for (const dir of ["data", "drivers", "feature", "attr", "error"]) {
    store.mkdir(`${home}/${dir}`);
    store.setPerms(`${home}/${dir}`, rw);
  }
  for (
    const key of ["shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "sysrq"]
  ) {
    store.mkdir(`${home}/control/${key}`);
    store.setPerms(`${home}/control/${key}`, rw);
  }
  w(`${home}/control/platform-feature-multiprocessor-suspend`, 1);
  w(`${home}/control/platform-feature-xs_reset_watches`, 1);

  w(`${home}/memory/static-max`, spec.maxMemoryKiB ?? spec.memoryKiB);
  w(`${home}/memory/target`, spec.memoryKiB);
  w(`${home}/memory/videoram`, -1);
  for (let i = 0; i < (spec.vcpus ?? 1); i++) w(`${home}/cpu/${i}/availability`, "online");
  if (spec.storePort !== undefined) w(`${home}/store/port`, spec.storePort);
  if (spec.storeMfn !== undefined) w(`${home}/store/ring-ref`, spec.storeMfn);

  // the PV console: its frontend is the domain's console/ dir, not device/console/0
  const conBack = `/local/domain/0/backend/console/${d}/0`;
  store.mkdir(`${home}/console`);
  store.setPerms(`${home}/console`, [`n${d}`, "r0"]);
  w(`${home}/console/backend`, conBack);
  w(`${home}/console/backend-id`, 0);
  w(`${home}/console/limit`, 1048576);
  w(`${home}/console/type`, "xenconsoled");
  w(`${home}/console/output`, "pty");
  w(`${home}/console/port`, spec.consolePort);
  w(`${home}/console/ring-ref`, spec.consoleMfn);
  backendDir(store, conBack, d);
  w(`${conBack}/frontend`, `${home}/console`);
  w(`${conBack}/frontend-id`, d);
  w(`${conBack}/online`, 1);
  w(`${conBack}/protocol`, "vt100");
  w(`${conBack}/state`, XenbusStateInitialising);

  for (const vbd of spec.vbds ?? []) {
    const devid = vbd.devid ?? vdevToDevid(vbd.vdev);
    const front = `${home}/device/vbd/${devid}`;
    const back = `/local/domain/0/backend/vbd/${d}/${devid}`;
    frontendDir(store, front, d, back);
    w(`${front}/virtual-device`, devid);
    w(`${front}/device-type`, vbd.deviceType ?? "disk");
    w(`${front}/state`, XenbusStateInitialising);
    backendDir(store, back, d);
    w(`${back}/frontend`, front);
    w(`${back}/params`, vbd.params);
    w(`${back}/frontend-id`, d);
    w(`${back}/online`, 1);
    w(`${back}/removable`, 0);
    w(`${back}/bootable`, 1);
    w(`${back}/dev`, vbd.vdev);
    w(`${back}/type`, "phy");
    w(`${back}/mode`, vbd.mode ?? "w");
    w(`${back}/device-type`, vbd.deviceType ?? "disk");
    w(`${back}/state`, XenbusStateInitialising);
  }

  for (const vif of spec.vifs ?? []) {
    const front = `${home}/device/vif/${vif.devid}`;
    const back = `/local/domain/0/backend/vif/${d}/${vif.devid}`;
    frontendDir(store, front, d, back);
    w(`${front}/handle`, vif.devid);
    w(`${front}/mac`, vif.mac);
    w(`${front}/state`, XenbusStateInitialising);
    backendDir(store, back, d);
    w(`${back}/frontend`, front);
    w(`${back}/frontend-id`, d);
    w(`${back}/online`, 1);
    w(`${back}/handle`, vif.devid);
    w(`${back}/mac`, vif.mac);
    w(`${back}/bridge`, vif.bridge ?? "xenbr0");
    w(`${back}/type`, "vif");
    w(`${back}/state`, XenbusStateInitialising);
  }
}

/** A frontend dir: the guest owns it, dom0 reads it (libxl's frontend perms). */
function frontendDir(store: XenStore, front: string, d: number, back: string): void {
  store.mkdir(front);
  store.setPerms(front, [`n${d}`, "r0"]);
  store.write(`${front}/backend`, back);
  store.write(`${front}/backend-id`, "0");
}

/** A backend dir: dom0 owns it, the guest reads it (libxl's backend perms). */
function backendDir(store: XenStore, back: string, d: number): void {
  store.mkdir(back);
  store.setPerms(back, ["n0", `r${d}`]);
}
