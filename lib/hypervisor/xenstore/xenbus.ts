/**
 * The xenbus state machine of Xen's public `io/xenbus.h`, as frontends and backends
 * publish it in their `state` node (the constants live in io/xenbus_state.ts).
 * @module
 */
import type { StoreOps } from "../backend_api.ts";
import { parseXenbusState } from "../io/xenbus_state.ts";

export {
  XENBUS_STATE_NAMES,
  XenbusStateClosed,
  XenbusStateClosing,
  XenbusStateConnected,
  XenbusStateInitialised,
  XenbusStateInitialising,
  XenbusStateInitWait,
  XenbusStateReconfigured,
  XenbusStateReconfiguring,
  XenbusStateUnknown,
} from "../io/xenbus_state.ts";

/**
 * Reads `<dir>/state`.
 * @returns the state, or XenbusStateUnknown when absent or not a valid number
 */
export function readXenbusState(store: StoreOps, dir: string): number {
  return parseXenbusState(store.read(`${dir}/state`));
}

/** Writes `<dir>/state`. */
export function writeXenbusState(store: StoreOps, dir: string, state: number): void {
  store.write(`${dir}/state`, String(state));
}
