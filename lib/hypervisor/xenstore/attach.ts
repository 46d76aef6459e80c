/**
 * One call for `pvx boot`: writes the toolstack's layout of a PV domU, opens its xenstore
 * ring, and optionally serves the store to outside clients (`--xenstore-socket PATH`).
 * @module
 */
import type { DeviceHost } from "../backend/backend_api.ts";
import type { Tracer } from "../trace/tracer.ts";
import { XenstoreRingBackend } from "./ring_backend.ts";
import type { XenstoreSocketServer } from "./socket_server.ts";
import type { XenStore } from "./store.ts";
import { type ToolstackLayoutSpec, writeToolstackLayout } from "./toolstack_layout.ts";

/** The layout plus the xenstore ring named in start_info. */
export interface XenstoreAttachSpec extends ToolstackLayoutSpec {
  /** start_info.store_mfn. */
  storeMfn: number;
  /** start_info.store_evtchn (the guest's unbound port). */
  storePort: number;
}

/** Options of {@link attachXenstore}. */
export interface XenstoreAttachOptions {
  /**
   * Serves the store to outside clients (`--xenstore-socket PATH`: the toolstack passes
   * `(s) => serveXenstoreSocket(s, PATH)`, a unix socket on Deno).
   */
  serve?: (store: XenStore) => Promise<XenstoreSocketServer>;
  /** Ring-notification trace records. */
  tracer?: Tracer;
}

/** What {@link attachXenstore} set up. */
export interface AttachedXenstore {
  /** The guest's ring backend. */
  readonly ring: XenstoreRingBackend;
  /** The socket server, when a path was given. */
  readonly socket: XenstoreSocketServer | undefined;
  /** Releases the domain (fires @releaseDomain) and closes the socket. */
  detach(): Promise<void>;
}

/**
 * Writes the domain's XenStore layout, opens its ring, and serves the socket if asked.
 * @throws InputError when the ring cannot be mapped or bound, or the socket path is unusable
 * @example
 * ```ts
 * const xs = await attachXenstore(host, store, {
 *   domid: 1, name: "guest", memoryKiB: 131072, consolePort, consoleMfn,
 *   storeMfn, storePort, vbds, vifs,
 * }, { serve: (s) => serveXenstoreSocket(s, "/tmp/pvx-xs.sock") });
 * // ... run ...
 * await xs.detach();
 * ```
 */
export async function attachXenstore(
  host: DeviceHost,
  store: XenStore,
  spec: XenstoreAttachSpec,
  opts: XenstoreAttachOptions = {},
): Promise<AttachedXenstore> {
  writeToolstackLayout(store, spec);
  const ring = new XenstoreRingBackend(host, store, spec.domid, spec.storeMfn, spec.storePort, {
    tracer: opts.tracer,
  });
  let socket: XenstoreSocketServer | undefined;
  if (opts.serve !== undefined) {
    try {
      socket = await opts.serve(store);
    } catch (e) {
      store.releaseDomain(spec.domid);
      throw e;
    }
  }
  return {
    ring,
    socket,
    async detach() {
      store.releaseDomain(spec.domid);
      await socket?.close();
    },
  };
}
