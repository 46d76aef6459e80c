/**
 * The xenbus state machine of Xen's public `io/xenbus.h`, as frontends and backends
 * publish it in their `state` node (the constants live in io/xenbus_state.ts).
 * @module
 */
import type { StoreOps } from "../backend/backend_api.ts";

export {
  readXenbusState,
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
} from "../../abi/mod.ts";

/** Writes `<dir>/state`. */
export function writeXenbusState(store: StoreOps, dir: string, state: number): void {
  store.write(`${dir}/state`, String(state));
}
