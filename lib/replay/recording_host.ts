/**
 * Ring recording: {@link RecordingHost} is a {@link DeviceHost} decorator that writes every
 * interaction of one backend with the hypervisor (grant maps and copies, event deliveries
 * and notifications, store traffic, deferred work) and every change of its mapped pages, as
 * blocks of the format in recording_format.ts. {@link RingRecorder} owns the file: one
 * stream per device. The backends are not touched.
 * @module
 */
import type { DeviceHost, DomId, EventPort, GrantMapping, StoreOps } from "../hypervisor/mod.ts";
import { VERSION } from "../version.ts";
import {
  BlockType,
  diffPage,
  DISK_INLINE_LIMIT,
  encodeBlock,
  encodeDisk,
  encodeHeader,
  encodePayload,
  joinText,
  type RecordingHeader,
  type StreamConfig,
  utf8,
} from "./recording_format.ts";
import { concatBytes } from "../bytes.ts";

/** Receives the bytes of a recording, in order. */
export type RecordingSink = (bytes: Uint8Array) => void;

/** Owns one recording: the header, stream ids, and the sink. */
export class RingRecorder {
  readonly #sink: RecordingSink;
  #nextStream = 1;
  readonly #names = new Set<string>();
  /** Blocks written. */
  blocks = 0;

  /**
   * Writes the header at once.
   * @param sink where the bytes go
   * @param info free-form header information (command line, image)
   */
  constructor(sink: RecordingSink, info: Record<string, unknown> = {}) {
    this.#sink = sink;
    const h: RecordingHeader = { pvxVersion: VERSION, check: "compare", info };
    sink(encodeHeader(h));
  }

  /**
   * Opens a stream for one device and returns the host its backend must use.
   * @param host the real device host
   * @param config the device (name, kind, domid, ...)
   * @param disk a vbd's initial image (embedded when <= 64 MiB; hash and size otherwise)
   */
  async stream(host: DeviceHost, config: StreamConfig, disk?: Uint8Array): Promise<RecordingHost> {
    const id = this.#nextStream++;
    const cfg: StreamConfig = { ...config };
    // a rebooted domain gets its devices again: keep stream names unique
    for (let n = 2; this.#names.has(cfg.name); n++) cfg.name = `${config.name}.${n}`;
    this.#names.add(cfg.name);
    if (disk) {
      cfg.diskBytes = disk.length;
      const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(disk));
      cfg.diskSha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
        .join("");
      cfg.diskInline = disk.length <= DISK_INLINE_LIMIT;
    }
    this.write(BlockType.STREAM, 0, id, encodePayload([], utf8(JSON.stringify(cfg))));
    if (disk && cfg.diskInline) this.write(BlockType.DISK, 0, id, encodeDisk(disk));
    return new RecordingHost(host, this, id);
  }

  /** Writes one block. */
  write(type: number, depth: number, stream: number, payload: Uint8Array): void {
    this.#sink(encodeBlock(type, depth, stream, payload));
    this.blocks++;
  }
}

/** A sink collecting a recording in memory (tests, fuzz reproducers). */
export class MemoryRecordingSink {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  /** The sink function. */
  readonly sink: RecordingSink = (b) => {
    this.#chunks.push(b);
    this.#size += b.length;
  };
  /** Everything written so far, as one array. */
  bytes(): Uint8Array {
    return concatBytes(this.#chunks, this.#size);
  }
}

interface LiveMap {
  readonly id: number;
  readonly page: Uint8Array;
  readonly shadow: Uint8Array;
}

/** The recording decorator for one stream (one backend). */
export class RecordingHost implements DeviceHost {
  /** The store, recorded. */
  readonly store: StoreOps;
  readonly #inner: DeviceHost;
  readonly #rec: RingRecorder;
  readonly #sid: number;
  readonly #maps = new Map<GrantMapping | Uint8Array, LiveMap>();
  readonly #ports = new Map<EventPort, number>();
  #nextMap = 1;
  #nextPort = 1;
  #nextWatch = 1;
  #nextDefer = 1;
  /** Host calls of this stream on the stack (nesting depth of callbacks). */
  #inCall = 0;
  /** Callbacks of this stream on the stack. */
  #inCallback = 0;

  /**
   * @param inner the real host
   * @param rec the recorder
   * @param streamId the stream
   */
  constructor(inner: DeviceHost, rec: RingRecorder, streamId: number) {
    this.#inner = inner;
    this.#rec = rec;
    this.#sid = streamId;
    this.store = this.#wrapStore(inner.store);
  }

  #out(type: number, args: ArrayLike<number>, data?: Uint8Array): void {
    // outputs carry 1 when made inside one of this stream's callbacks, 0 outside (async)
    this.#rec.write(type, this.#inCallback > 0 ? 1 : 0, this.#sid, encodePayload(args, data));
  }

  /** Records the page changes since the last look, as guest or backend writes. */
  #flushPages(byBackend: boolean): void {
    for (const m of this.#maps.values()) {
      const runs = diffPage(m.shadow, m.page);
      if (runs) {
        this.#out(byBackend ? BlockType.BACKEND_WRITE : BlockType.GUEST_WRITE, [m.id], runs);
      }
    }
  }

  /** Wraps a callback into the backend: an input block, page diffs around it. */
  #input<A extends unknown[]>(
    type: number,
    args: number[],
    data: Uint8Array | undefined,
    fn: (...a: A) => void,
  ): (...a: A) => void {
    return (...a: A) => {
      const nested = this.#inCall > 0;
      this.#flushPages(nested || this.#inCallback > 0);
      this.#rec.write(type, this.#inCall, this.#sid, encodePayload(args, data));
      this.#inCallback++;
      try {
        fn(...a);
      } finally {
        this.#inCallback--;
        this.#flushPages(true);
      }
    };
  }

  /** Runs an inner call that may call back into the backend synchronously. */
  #call<T>(fn: () => T): T {
    this.#inCall++;
    try {
      return fn();
    } finally {
      this.#inCall--;
    }
  }

  mapGrant(domid: DomId, gref: number, readonly: boolean): GrantMapping | number {
    const r = this.#inner.mapGrant(domid, gref, readonly);
    if (typeof r === "number") {
      this.#out(BlockType.MAP, [domid, gref, readonly ? 1 : 0, r]);
      return r;
    }
    const id = this.#nextMap++;
    const shadow = r.page.slice();
    this.#out(BlockType.MAP, [domid, gref, readonly ? 1 : 0, id], shadow);
    this.#maps.set(r, { id, page: r.page, shadow });
    return r;
  }

  unmapGrant(m: GrantMapping): number {
    const live = this.#maps.get(m);
    if (live) {
      const runs = diffPage(live.shadow, live.page);
      const t = this.#inCallback > 0 ? BlockType.BACKEND_WRITE : BlockType.GUEST_WRITE;
      if (runs) this.#out(t, [live.id], runs);
      this.#maps.delete(m);
    }
    const st = this.#inner.unmapGrant(m);
    this.#out(BlockType.UNMAP, [live?.id ?? 0, st]);
    return st;
  }

  copyFromGrant(domid: DomId, gref: number, offset: number, dst: Uint8Array): number {
    const st = this.#inner.copyFromGrant(domid, gref, offset, dst);
    this.#out(
      BlockType.COPY_FROM,
      [domid, gref, offset, dst.length, st],
      st === 0 ? dst : undefined,
    );
    return st;
  }

  copyToGrant(domid: DomId, gref: number, offset: number, src: Uint8Array): number {
    const st = this.#inner.copyToGrant(domid, gref, offset, src);
    this.#out(BlockType.COPY_TO, [domid, gref, offset, st], src);
    return st;
  }

  bindInterdomain(domid: DomId, remotePort: number, onEvent: () => void): EventPort | number {
    const id = this.#nextPort;
    const wrapped = this.#input(BlockType.EVENT, [id], undefined, onEvent);
    const r = this.#inner.bindInterdomain(domid, remotePort, wrapped);
    if (typeof r === "number") {
      this.#out(BlockType.BIND, [domid, remotePort, r]);
      return r;
    }
    this.#nextPort++;
    this.#out(BlockType.BIND, [domid, remotePort, id]);
    const port: EventPort = {
      port: r.port,
      notify: () => {
        this.#out(BlockType.NOTIFY, [id]);
        this.#call(() => r.notify());
      },
    };
    this.#ports.set(port, id);
    (port as { inner?: EventPort }).inner = r;
    return port;
  }

  close(p: EventPort): void {
    const id = this.#ports.get(p) ?? 0;
    this.#out(BlockType.CLOSE, [id]);
    this.#ports.delete(p);
    this.#inner.close((p as { inner?: EventPort }).inner ?? p);
  }

  mapForeignFrame(domid: DomId, mfn: number): Uint8Array | number {
    const r = this.#inner.mapForeignFrame(domid, mfn);
    if (typeof r === "number") {
      this.#out(BlockType.FOREIGN, [domid, mfn, r]);
      return r;
    }
    const id = this.#nextMap++;
    const shadow = r.slice();
    this.#out(BlockType.FOREIGN, [domid, mfn, id], shadow);
    this.#maps.set(r, { id, page: r, shadow });
    return r;
  }

  defer(fn: () => void): void {
    const id = this.#nextDefer++;
    this.#out(BlockType.DEFER, [id]);
    this.#inner.defer(this.#input(BlockType.DEFER_RUN, [id], undefined, fn));
  }

  #wrapStore(s: StoreOps): StoreOps {
    return {
      read: (path) => {
        const v = s.read(path);
        this.#out(BlockType.ST_READ, [v === undefined ? 0 : 1], joinText([path, v ?? ""]));
        return v;
      },
      write: (path, value) => {
        this.#out(BlockType.ST_WRITE, [], joinText([path, value]));
        this.#call(() => s.write(path, value));
      },
      rm: (path) => {
        this.#out(BlockType.ST_RM, [], utf8(path));
        this.#call(() => s.rm(path));
      },
      directory: (path) => {
        const v = s.directory(path);
        this.#out(BlockType.ST_DIR, [v === undefined ? 0 : 1], joinText([path, ...(v ?? [])]));
        return v;
      },
      watch: (path, onChange) => {
        const id = this.#nextWatch++;
        this.#out(BlockType.WATCH, [id], utf8(path));
        const fire = (changed: string) =>
          this.#input(BlockType.WATCH_FIRE, [id], utf8(changed), onChange)(changed);
        const un = this.#call(() => s.watch(path, fire));
        return () => {
          this.#out(BlockType.UNWATCH, [id]);
          this.#call(un);
        };
      },
    };
  }
}

/**
 * Wraps `host` so that everything one backend does through it is recorded as stream
 * `config.name` of `recorder`. Give each backend its own wrapped host.
 * @param host the real device host
 * @param recorder the recording
 * @param config the device
 * @param disk a vbd's initial image bytes
 * @example
 * ```ts
 * const out = fileRecordingSink("boot.rec");
 * const rec = new RingRecorder(out.sink);
 * const vbdHost = await wrapForRecording(deviceHost, rec, { name: "vbd-51712", kind: "vbd", domid: 1, devid: 51712 }, diskBytes);
 * new Blkback(vbdHost, { domid: 1, devid: 51712, image });
 * ```
 */
export function wrapForRecording(
  host: DeviceHost,
  recorder: RingRecorder,
  config: StreamConfig,
  disk?: Uint8Array,
): Promise<DeviceHost> {
  return recorder.stream(host, config, disk);
}
