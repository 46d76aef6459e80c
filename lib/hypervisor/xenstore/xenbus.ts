/**
 * The xenbus state machine of Xen's public `io/xenbus.h`, as frontends and backends
 * publish it in their `state` node.
 * @module
 */
import type { StoreOps } from "../backend_api.ts";

/** XenbusStateUnknown. */
export const XenbusStateUnknown = 0;
/** XenbusStateInitialising. */
export const XenbusStateInitialising = 1;
/** XenbusStateInitWait: early set-up done, waiting for the peer or hotplug. */
export const XenbusStateInitWait = 2;
/** XenbusStateInitialised: waiting for a connection from the peer. */
export const XenbusStateInitialised = 3;
/** XenbusStateConnected. */
export const XenbusStateConnected = 4;
/** XenbusStateClosing: closing after an error or unplug. */
export const XenbusStateClosing = 5;
/** XenbusStateClosed. */
export const XenbusStateClosed = 6;
/** XenbusStateReconfiguring. */
export const XenbusStateReconfiguring = 7;
/** XenbusStateReconfigured. */
export const XenbusStateReconfigured = 8;

/** State names, indexed by value. */
export const XENBUS_STATE_NAMES = [
  "Unknown",
  "Initialising",
  "InitWait",
  "Initialised",
  "Connected",
  "Closing",
  "Closed",
  "Reconfiguring",
  "Reconfigured",
] as const;

/**
 * Reads `<dir>/state`.
 * @returns the state, or XenbusStateUnknown when absent or not a valid number
 */
export function readXenbusState(store: StoreOps, dir: string): number {
  const v = store.read(`${dir}/state`);
  if (v === undefined || !/^[0-9]$/.test(v)) return XenbusStateUnknown;
  const n = Number(v);
  return n <= XenbusStateReconfigured ? n : XenbusStateUnknown;
}

/** Writes `<dir>/state`. */
export function writeXenbusState(store: StoreOps, dir: string, state: number): void {
  store.write(`${dir}/state`, String(state));
}
