/**
 * Deno's side of a listening socket for the library (`Listen` of lib/host_io.ts): a TCP
 * port on 127.0.0.1 or a unix socket, its connections passed as Deno gives them. The gdb
 * stub (`--gdb PORT`, `--gdb unix:PATH`) listens through it.
 * @module
 */
import type { BoundListener, ListenAddress } from "../host_io.ts";

/**
 * Listens at `at` (TCP: localhost only; port 0 picks a free port).
 * @throws Deno's error when the address cannot be bound
 * @example
 * ```ts
 * const l = listenSocket({ kind: "tcp", port: 0 });
 * console.log(l.address); // { kind: "tcp", port: 43011 }
 * l.close();
 * ```
 */
export function listenSocket(at: ListenAddress): BoundListener {
  const l = at.kind === "tcp"
    ? Deno.listen({ hostname: "127.0.0.1", port: at.port })
    : Deno.listen({ transport: "unix", path: at.path });
  const a = l.addr;
  const address: ListenAddress = a.transport === "unix"
    ? { kind: "unix", path: (a as Deno.UnixAddr).path }
    : { kind: "tcp", port: (a as Deno.NetAddr).port };
  return {
    address,
    close: () => l.close(),
    [Symbol.asyncIterator]: () => l[Symbol.asyncIterator](),
  };
}
