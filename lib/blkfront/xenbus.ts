/**
 * The xenbus side of a vbd: XenbusState (io/xenbus.h), the xenstore nodes the toolstack
 * writes for a vbd (as libxl does), and a small backend-driven state helper that watches
 * the frontend's state node and publishes the backend's.
 * @module
 */
import type { DomId, StoreOps } from "../hypervisor/mod.ts";
import { readXenbusState, XenbusStateClosing, XenbusStateInitialising } from "../abi/mod.ts";

export {
  readXenbusState,
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitialising,
  XenbusStateInitWait,
  XenbusStateReconfigured,
  XenbusStateReconfiguring,
  XenbusStateUnknown,
} from "../abi/mod.ts";

/** The frontend directory of a vbd: /local/domain/<domid>/device/vbd/<devid>. */
export function vbdFrontendPath(domid: DomId, devid: number): string {
  return `/local/domain/${domid}/device/vbd/${devid}`;
}

/** The backend directory: /local/domain/<backend>/backend/vbd/<domid>/<devid>. */
export function vbdBackendPath(domid: DomId, devid: number, backendDomid: DomId = 0): string {
  return `/local/domain/${backendDomid}/backend/vbd/${domid}/${devid}`;
}

/** What the toolstack knows about one vbd. */
export interface VbdLayout {
  /** The guest. */
  domid: DomId;
  /** The virtual-device number (from {@link vdevToDevid}). */
  devid: number;
  /** The vdev name (xvda ...). */
  vdev: string;
  /** The image path (the "params" node). */
  params: string;
  /** Read-only (mode "r"). */
  readonly: boolean;
  /** "disk" (default) or "cdrom". */
  devtype?: "disk" | "cdrom";
  /** The backend domain (0). */
  backendDomid?: DomId;
  /** bootable (1 by default). */
  bootable?: boolean;
}

/**
 * Writes the frontend and backend nodes libxl writes for a vbd, both in state
 * Initialising. The backend ({@link Blkback}) then publishes its features and moves on.
 * @param store the store, as dom0
 * @param v the vbd
 * @returns the frontend and backend directory paths
 * @example
 * ```ts
 * writeVbdLayout(host.store, { domid: 1, devid: 51712, vdev: "xvda", params: "d.img", readonly: false });
 * ```
 */
export function writeVbdLayout(
  store: StoreOps,
  v: VbdLayout,
): { frontend: string; backend: string } {
  const backendDomid = v.backendDomid ?? 0;
  const fe = vbdFrontendPath(v.domid, v.devid);
  const be = vbdBackendPath(v.domid, v.devid, backendDomid);
  const devtype = v.devtype ?? "disk";
  const nodes: [string, string][] = [
    [`${be}/frontend`, fe],
    [`${be}/frontend-id`, String(v.domid)],
    [`${be}/params`, v.params],
    [`${be}/mode`, v.readonly ? "r" : "w"],
    [`${be}/type`, "qdisk"],
    [`${be}/dev`, v.vdev],
    [`${be}/device-type`, devtype],
    [`${be}/online`, "1"],
    [`${be}/removable`, "0"],
    [`${be}/bootable`, v.bootable === false ? "0" : "1"],
    [`${be}/discard-enable`, v.readonly ? "0" : "1"],
    [`${be}/state`, String(XenbusStateInitialising)],
    [`${fe}/backend`, be],
    [`${fe}/backend-id`, String(backendDomid)],
    [`${fe}/virtual-device`, String(v.devid)],
    [`${fe}/device-type`, devtype],
    [`${fe}/state`, String(XenbusStateInitialising)],
  ];
  for (const [k, val] of nodes) store.write(k, val);
  return { frontend: fe, backend: be };
}

/**
 * Reads an unsigned 32-bit decimal node (ring-ref, event-channel ...).
 * @returns the value, or undefined when absent or malformed
 */
export function readUintNode(store: StoreOps, path: string): number | undefined {
  const s = store.read(path)?.trim();
  if (s === undefined || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffff_ffff ? n : undefined;
}

/**
 * The backend end of a xenbus device: owns the backend's state node, watches the
 * frontend's, and reports each change of the frontend's state once.
 */
export class XenbusBackend {
  /** The backend directory. */
  readonly backendPath: string;
  /** The frontend directory. */
  readonly frontendPath: string;
  readonly #store: StoreOps;
  #state = XenbusStateInitialising;
  #lastFront = -1;
  #unwatch: (() => void) | null = null;

  /**
   * @param store dom0's store
   * @param backendPath the backend directory
   * @param frontendPath the frontend directory
   */
  constructor(store: StoreOps, backendPath: string, frontendPath: string) {
    this.#store = store;
    this.backendPath = backendPath;
    this.frontendPath = frontendPath;
  }

  /** The backend's current state. */
  get state(): number {
    return this.#state;
  }

  /** The frontend's current state. */
  frontendState(): number {
    return readXenbusState(this.#store, this.frontendPath);
  }

  /** xenbus_switch_state: writes the backend's state node (no write when unchanged). */
  switchState(state: number): void {
    if (state === this.#state && this.#store.read(`${this.backendPath}/state`) !== undefined) {
      return;
    }
    this.#state = state;
    this.#store.write(`${this.backendPath}/state`, String(state));
  }

  /** Writes a node of the backend directory. */
  write(key: string, value: string | number): void {
    this.#store.write(`${this.backendPath}/${key}`, String(value));
  }

  /** Reads a node of the frontend directory. */
  readFront(key: string): string | undefined {
    return this.#store.read(`${this.frontendPath}/${key}`);
  }

  /**
   * xenbus_dev_fatal: records `msg` under /local/domain/0/error/<backend path>/error and
   * moves the backend to Closing.
   */
  fatal(msg: string): void {
    const rel = this.backendPath.replace(/^\/local\/domain\/\d+\//, "");
    const dom = /^\/local\/domain\/(\d+)\//.exec(this.backendPath)?.[1] ?? "0";
    this.#store.write(`/local/domain/${dom}/error/${rel}/error`, msg);
    this.switchState(XenbusStateClosing);
  }

  /**
   * Starts watching the frontend's state; `onChange` runs once per distinct state
   * (XenbusStateUnknown when the node disappears).
   */
  watchFrontend(onChange: (state: number) => void): void {
    this.#unwatch?.();
    this.#lastFront = -1;
    this.#unwatch = this.#store.watch(this.frontendPath, () => {
      const s = this.frontendState();
      if (s === this.#lastFront) return;
      this.#lastFront = s;
      onChange(s);
    });
  }

  /** Stops watching. */
  unwatch(): void {
    this.#unwatch?.();
    this.#unwatch = null;
  }
}
