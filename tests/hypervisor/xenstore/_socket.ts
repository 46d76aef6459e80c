/** Test clients of the xenstore unix socket. @module */
import { XsSocketClient } from "../../../lib/hypervisor/xenstore/testing.ts";

/** Connects a {@link XsSocketClient} to the socket at `path`. */
export async function connectXsSocket(path: string): Promise<XsSocketClient> {
  return new XsSocketClient(await Deno.connect({ transport: "unix", path }));
}
