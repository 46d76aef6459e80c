/**
 * xenstored's unix-socket protocol for external clients (Debian's xenstore-ls,
 * xenstore-read, xenstore-write, xenstore-watch through XENSTORED_PATH): each socket
 * client is a privileged dom0 connection speaking the same wire messages as a ring. The
 * connections come from the host's {@link ByteListener}; this module never calls a runtime API.
 * @module
 */
import type { ByteConn, ByteListener } from "../../host_io.ts";
import { XsConnection } from "./connection.ts";
import type { XenStore } from "./store.ts";
import { MessageFramer } from "./wire.ts";

/** A running socket server. */
export interface XenstoreSocketServer {
  /** The socket's path. */
  readonly path: string;
  /** Clients connected now. */
  readonly clients: number;
  /** Stops listening, disconnects every client and removes the socket file. */
  close(): Promise<void>;
}

/** Stop reading a client's requests while this many reply bytes wait to be written. */
const READ_PAUSE_BYTES = 64 * 1024;

/**
 * Serves `store` to every client `listener` accepts (the host opened it: a unix socket
 * on Deno, see lib/toolstack/xenstore_socket.ts).
 * @param store the store
 * @param listener the host's listener
 * @param path the address clients use (reported back)
 * @param onClosed host clean-up once the listener is closed (remove the socket file)
 * @returns the server (close it to disconnect every client)
 */
export function serveXenstoreClients(
  store: XenStore,
  listener: ByteListener,
  path: string,
  onClosed: () => Promise<void> = () => Promise.resolve(),
): XenstoreSocketServer {
  const live = new Set<ClientLink>();
  const accepting = (async () => {
    for await (const c of listener) {
      const link = new ClientLink(store, c);
      live.add(link);
      link.done.finally(() => live.delete(link));
    }
  })().catch(() => {});
  let closed = false;
  return {
    path,
    get clients() {
      return live.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      listener.close();
      await accepting;
      await Promise.all([...live].map((l) => l.shutdown()));
      await onClosed().catch(() => {});
    },
  };
}

/** One socket client: a read loop feeding the connection, a write loop draining replies. */
class ClientLink {
  readonly done: Promise<void>;
  readonly #sock: ByteConn;
  readonly #conn: XsConnection;
  #out: Uint8Array[] = [];
  #pending = 0;
  #wake: (() => void) | undefined;
  #closing = false;
  #writer: Promise<void> = Promise.resolve();
  #writing = false;

  constructor(store: XenStore, sock: ByteConn) {
    this.#sock = sock;
    this.#conn = new XsConnection(store, 0, true, {
      send: (b) => this.#send(b),
      pending: () => this.#pending,
    });
    this.done = this.#readLoop();
  }

  #send(b: Uint8Array): void {
    if (this.#closing) return;
    this.#out.push(b);
    this.#pending += b.length;
    if (!this.#writing) this.#writer = this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0 && !this.#closing) {
        const b = this.#out[0];
        let off = 0;
        while (off < b.length) off += await this.#sock.write(b.subarray(off));
        this.#out.shift();
        this.#pending -= b.length;
        if (this.#wake && this.#pending < READ_PAUSE_BYTES) {
          this.#wake();
          this.#wake = undefined;
        }
      }
    } catch {
      this.#closing = true;
      this.#out = [];
      this.#pending = 0;
    } finally {
      this.#writing = false;
      // a reader paused on back-pressure must not wait for a writer that has given up
      if (this.#closing) this.#wake?.();
    }
  }

  async #readLoop(): Promise<void> {
    const framer = new MessageFramer();
    const buf = new Uint8Array(16 * 1024);
    try {
      outer: while (!this.#closing) {
        const n = await this.#sock.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n && !this.#closing) {
          off += framer.push(buf.subarray(off, n));
          const r = framer.next();
          if (r.kind === "oversized") break outer; // xenstored kills such a connection
          if (r.kind === "message") {
            this.#conn.handle(r.msg);
            if (this.#pending >= READ_PAUSE_BYTES && !this.#closing) {
              await new Promise<void>((res) => (this.#wake = res));
            }
          }
        }
      }
    } catch {
      // a reset connection ends like a closed one
    }
    await this.#writer;
    this.#finish();
  }

  #finish(): void {
    this.#closing = true;
    this.#conn.close();
    try {
      this.#sock.close();
    } catch {
      // already closed
    }
  }

  async shutdown(): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    try {
      this.#sock.close();
    } catch {
      // already closed
    }
    await this.done.catch(() => {});
  }
}
