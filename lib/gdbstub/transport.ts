/**
 * Where gdb connects: a TCP port on localhost (`--gdb 1234`) or a unix socket (`--gdb
 * unix:PATH`), one client at a time (a second one is turned away), each served by the
 * {@link GdbSession}. While the domain is paused the stub only awaits the socket. The
 * socket comes from the host through a {@link Listen} (lib/host_io.ts; Deno's is
 * lib/toolstack/listen_socket.ts).
 * @module
 */
import { InputError } from "../errors.ts";
import type { BoundListener, ByteConn, Listen, ListenAddress } from "../host_io.ts";
import type { Connection, GdbSession, SessionEnd } from "./session.ts";

/** A parsed `--gdb` value. */
export type GdbEndpoint = ListenAddress;

/**
 * Parses `PORT`, `tcp::PORT`, `localhost:PORT` or `unix:PATH`.
 * @throws InputError when malformed
 */
export function parseGdbEndpoint(spec: string): GdbEndpoint {
  if (spec.startsWith("unix:")) {
    const path = spec.slice(5);
    if (path === "") throw new InputError(`Cannot use --gdb "${spec}": the socket path is empty`);
    return { kind: "unix", path };
  }
  const m = /^(?:tcp::|localhost:|127\.0\.0\.1:|:)?(\d{1,5})$/.exec(spec);
  const port = m ? Number(m[1]) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new InputError(`Cannot use --gdb "${spec}": give a port (1234) or unix:PATH`);
  }
  return { kind: "tcp", port };
}

/** Wraps a host byte stream as a {@link Connection}. */
export function streamConnection(c: ByteConn): Connection {
  const buf = new Uint8Array(65536);
  let closed = false;
  return {
    async read() {
      if (closed) return null;
      try {
        const n = await c.read(buf);
        return n === null ? null : buf.slice(0, n);
      } catch {
        return null;
      }
    },
    async write(bytes) {
      if (closed) return;
      try {
        let off = 0;
        while (off < bytes.length) off += await c.write(bytes.subarray(off));
      } catch {
        // the client is gone: the next read ends the session
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        c.close();
      } catch {
        // already closed
      }
    },
  };
}

/** A listening gdb endpoint serving one session. */
export class GdbListener {
  readonly #listener: BoundListener;
  readonly #session: GdbSession;
  readonly #log: (line: string) => void;
  #serving: Promise<SessionEnd> | null = null;
  #closed = false;
  /** Resolves when the accept loop ends. */
  readonly done: Promise<void>;

  /**
   * Listens (localhost only for TCP) through the host's `listen`.
   * @throws InputError when the address cannot be bound
   */
  constructor(
    ep: GdbEndpoint,
    listen: Listen,
    session: GdbSession,
    log: (line: string) => void,
  ) {
    try {
      this.#listener = listen(ep);
    } catch (e) {
      const where = ep.kind === "tcp" ? `port ${ep.port}` : ep.path;
      throw new InputError(
        `Cannot listen for gdb on ${where}: ${e instanceof Error ? e.message : e}`,
      );
    }
    this.#session = session;
    this.#log = log;
    this.done = this.#accept();
  }

  /** Where it listens, for the message that tells the user how to connect. */
  get address(): string {
    const a = this.#listener.address;
    return a.kind === "unix" ? `unix:${a.path}` : `localhost:${a.port}`;
  }

  /** Whether a client is connected now. */
  get connected(): boolean {
    return this.#serving !== null;
  }

  /** The TCP port (0 for a unix socket). */
  get port(): number {
    const a = this.#listener.address;
    return a.kind === "tcp" ? a.port : 0;
  }

  async #accept(): Promise<void> {
    try {
      for await (const c of this.#listener) {
        if (this.#serving !== null || this.#session.ended) {
          c.close(); // one client at a time
          continue;
        }
        this.#log("gdb: client connected");
        const serving = this.#session.serve(streamConnection(c));
        this.#serving = serving;
        serving.then((why) => {
          this.#serving = null;
          this.#log(`gdb: session ended (${why})`);
          if (why === "detached") this.#session.resumeFree();
        });
      }
    } catch {
      // accepting failed: the listener is closed
    }
  }

  /** Waits (a little) for the current client to get its last reply, then closes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#serving;
    if (s !== null) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([s, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
    }
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.done;
  }
}
