/**
 * The xenbus device states of Xen's public `io/xenbus.h`, shared by every split driver
 * (console, vbd, vif) and their frontends.
 * @module
 */
/** What reading a state needs of a store (the DeviceHost's StoreOps has it). */
export interface XenbusStateReader {
  /** The value of a node, or undefined when absent. */
  read(path: string): string | undefined;
}

/** Unknown (0). */
export const XenbusStateUnknown = 0;
/** Initialising (1). */
export const XenbusStateInitialising = 1;
/** InitWait (2): the backend waits for the frontend's details. */
export const XenbusStateInitWait = 2;
/** Initialised (3): the frontend published its ring details. */
export const XenbusStateInitialised = 3;
/** Connected (4). */
export const XenbusStateConnected = 4;
/** Closing (5). */
export const XenbusStateClosing = 5;
/** Closed (6). */
export const XenbusStateClosed = 6;
/** Reconfiguring (7). */
export const XenbusStateReconfiguring = 7;
/** Reconfigured (8). */
export const XenbusStateReconfigured = 8;

/** State names by number, for logs. */
export const XENBUS_STATE_NAMES: readonly string[] = [
  "Unknown",
  "Initialising",
  "InitWait",
  "Initialised",
  "Connected",
  "Closing",
  "Closed",
  "Reconfiguring",
  "Reconfigured",
];

/** Parses a state node's value; Unknown for anything malformed. */
export function parseXenbusState(v: string | undefined): number {
  if (v === undefined || !/^\d$/.test(v.trim())) return XenbusStateUnknown;
  const n = Number(v.trim());
  return n <= XenbusStateReconfigured ? n : XenbusStateUnknown;
}

/**
 * Reads `<dir>/state`.
 * @returns the state, or XenbusStateUnknown when absent or malformed
 */
export function readXenbusState(store: XenbusStateReader, dir: string): number {
  return parseXenbusState(store.read(`${dir}/state`));
}
