/**
 * Deno's side of the xenstore socket (`--xenstore-socket PATH`): a unix socket at `path`
 * whose clients (Debian's xenstore-ls, xenstore-read, xenstore-watch through
 * XENSTORED_PATH) lib/hypervisor/xenstore serves as privileged dom0 connections.
 * @module
 */
import { InputError } from "../errors.ts";
import { serveXenstoreClients, type XenstoreSocketServer } from "../hypervisor/mod.ts";
import type { XenStore } from "../hypervisor/mod.ts";

/** Options of {@link serveXenstoreSocket}. */
export interface SocketServerOptions {
  /** Replace an existing socket file at `path` (default true; other file types refuse). */
  replaceStale?: boolean;
}

/**
 * Serves `store` on a unix socket at `path`.
 * @param store the store
 * @param path where to create the socket
 * @returns the server (close it to remove the socket)
 * @throws InputError when `path` exists and is not a socket, or cannot be bound
 * @example
 * ```ts
 * const server = await serveXenstoreSocket(store, "/tmp/pvx-xs.sock");
 * // XENSTORED_PATH=/tmp/pvx-xs.sock xenstore-ls /local/domain/1
 * await server.close();
 * ```
 */
export async function serveXenstoreSocket(
  store: XenStore,
  path: string,
  opts: SocketServerOptions = {},
): Promise<XenstoreSocketServer> {
  try {
    const st = await Deno.lstat(path);
    if (!st.isSocket || opts.replaceStale === false) {
      throw new InputError(`Cannot serve XenStore on "${path}": the path exists`);
    }
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ transport: "unix", path });
  } catch (e) {
    throw new InputError(
      `Cannot serve XenStore on "${path}": ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return serveXenstoreClients(store, listener, path, () => Deno.remove(path));
}
