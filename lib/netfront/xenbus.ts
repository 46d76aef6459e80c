/**
 * The XenStore layout of a vif as Xen's toolstack (libxl) writes it for a PV domU, and the
 * keys netback publishes: frontend under /local/domain/<domid>/device/vif/<devid>,
 * backend under /local/domain/0/backend/vif/<domid>/<devid>.
 * @module
 */
import type { StoreOps } from "../hypervisor/mod.ts";
import { XenbusStateInitialising } from "../abi/mod.ts";
import { formatMac } from "./protocol.ts";

/** The paths of one vif. */
export interface VifPaths {
  frontend: string;
  backend: string;
}

/** The paths of vif `devid` of domain `domid` served by backend domain 0. */
export function vifPaths(domid: number, devid: number): VifPaths {
  return {
    frontend: `/local/domain/${domid}/device/vif/${devid}`,
    backend: `/local/domain/0/backend/vif/${domid}/${devid}`,
  };
}

/** What libxl writes for a vif. */
export interface VifLayout {
  domid: number;
  devid: number;
  mac: Uint8Array;
  bridge: string;
}

/** Writes the toolstack's nodes for a vif (both sides), in state Initialising. */
export function writeVifLayout(store: StoreOps, v: VifLayout): VifPaths {
  const p = vifPaths(v.domid, v.devid);
  const mac = formatMac(v.mac);
  store.write(`${p.backend}/frontend`, p.frontend);
  store.write(`${p.backend}/frontend-id`, String(v.domid));
  store.write(`${p.backend}/online`, "1");
  store.write(`${p.backend}/script`, "/etc/xen/scripts/vif-bridge");
  store.write(`${p.backend}/mac`, mac);
  store.write(`${p.backend}/bridge`, v.bridge);
  store.write(`${p.backend}/handle`, String(v.devid));
  store.write(`${p.backend}/type`, "vif");
  store.write(`${p.backend}/state`, String(XenbusStateInitialising));
  store.write(`${p.frontend}/backend`, p.backend);
  store.write(`${p.frontend}/backend-id`, "0");
  store.write(`${p.frontend}/handle`, String(v.devid));
  store.write(`${p.frontend}/mac`, mac);
  store.write(`${p.frontend}/state`, String(XenbusStateInitialising));
  return p;
}
