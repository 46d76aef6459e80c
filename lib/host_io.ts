/**
 * The host I/O the library needs, as interfaces: the library below the toolstack never
 * calls a runtime's own API (no `Deno.*`), so the same code runs under Deno's toolstack
 * and in a web page. Each host implements these (lib/toolstack for Deno, web/src for the
 * page):
 *
 * - disk images: `DiskImage` (lib/blkfront), a raw file through {@link RandomAccessFile};
 *   Deno: `openDiskImage` (lib/toolstack/disk_file.ts); page: `MemoryDiskImage`, kept in OPFS.
 * - the console: `ConsoleSink` (lib/console/sinks.ts); Deno: `StdioConsole`
 *   (lib/toolstack/terminal.ts); page: `PageConsole` on xterm.js (web/src/page_console.ts).
 * - traces, captures, ring recordings: byte sinks (`TraceSink`, `PcapSink`, `RecordingSink`);
 *   Deno: files (lib/toolstack/outputs.ts, recording_file.ts); page: memory, then downloads.
 * - the xenstore socket: a {@link ByteListener} of {@link ByteConn}s; Deno: a unix socket
 *   (lib/toolstack/xenstore_socket.ts); page: none.
 * - gdb's socket (`--gdb PORT` or `unix:PATH`): a {@link Listen} function giving a
 *   {@link BoundListener}; Deno: `listenSocket` (lib/toolstack/listen_socket.ts); page: none.
 * - the clock and timers: the web-standard `performance.now` and `setTimeout`, in both.
 *
 * Deno's `FsFile`, `Conn` and `Listener` have these shapes, so the Deno side passes them
 * as they are (a {@link BoundListener} adds where it is bound).
 * @module
 */

/** A file read and written at positions (a raw disk image). Deno.FsFile fits. */
export interface RandomAccessFile {
  /** Moves the position to `offset` from the start (`whence` 0). */
  seek(offset: number, whence: 0): Promise<number>;
  /** Reads at the position; null at the end of the file. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes at the position. @returns bytes written */
  write(p: Uint8Array): Promise<number>;
  /** Makes written data durable. */
  syncData(): Promise<void>;
  /** Releases the file. */
  close(): void;
}

/** A byte-stream connection (a socket client). Deno.Conn fits. */
export interface ByteConn {
  /** Reads some bytes; null when the peer closed. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some bytes. @returns bytes written */
  write(p: Uint8Array): Promise<number>;
  /** Closes the connection. */
  close(): void;
}

/** Accepts connections until closed. Deno.Listener fits. */
export interface ByteListener extends AsyncIterable<ByteConn> {
  /** Stops accepting. */
  close(): void;
}

/** Where a listener is bound: a TCP port on localhost, or a unix socket path. */
export type ListenAddress = { kind: "tcp"; port: number } | { kind: "unix"; path: string };

/** A listener and where it is bound (TCP: the port chosen when port 0 was asked). */
export interface BoundListener extends ByteListener {
  /** Where it listens. */
  readonly address: ListenAddress;
}

/**
 * Listens at an address (TCP on localhost only).
 * @throws when the address cannot be bound (the caller words the error)
 */
export type Listen = (at: ListenAddress) => BoundListener;
