/**
 * The host I/O the library needs, as interfaces: the library below the toolstack never
 * calls a runtime's own API (no `Deno.*`), so the same code runs under Deno's toolstack
 * and in a web page. Each host implements these (lib/toolstack for Deno, web/src for the
 * page):
 *
 * | need                  | interface                                        | Deno (lib/toolstack)        | web page (web/src)           |
 * | --------------------- | ------------------------------------------------ | --------------------------- | ---------------------------- |
 * | disk images           | `DiskImage` (lib/blkfront) over {@link RandomAccessFile} | `openDiskImage` (disk_file.ts) | `MemoryDiskImage`, OPFS copy |
 * | console               | `ConsoleSink` (lib/console/sinks.ts)             | `StdioConsole` (terminal)   | `PageConsole` (xterm.js)     |
 * | trace, pcap, recording| byte sinks (`TraceSink`, `PcapSink`, `RecordingSink`) | files (outputs.ts, recording_file.ts) | memory, downloads |
 * | xenstore socket       | {@link ByteListener} of {@link ByteConn}         | unix socket (xenstore_socket.ts) | none                    |
 * | clock and timers      | the web-standard `performance.now`, `setTimeout` | built in                    | built in                     |
 *
 * Deno's `FsFile`, `Conn` and `Listener` have these shapes, so the Deno side passes them
 * as they are.
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
