/**
 * `pvx boot --record-rings FILE`: one {@link RingRecording} per boot, handing each device
 * backend its own recording host (console, xenstore, each vbd and vif), with a vbd's
 * initial image embedded so the recording is self-contained.
 * @module
 */
import type { DeviceHost, DomId } from "../hypervisor/mod.ts";
import { type RecordingSink, RingRecorder } from "./recording_host.ts";
import { DISK_INLINE_LIMIT } from "./recording_format.ts";

/** What the recorder needs of a disk image (DiskImage of lib/blkfront fits). */
export interface RecordableImage {
  /** Size in 512-byte sectors. */
  readonly sectors: number;
  /** Reads whole sectors. */
  read(sector: number, dst: Uint8Array): Promise<void>;
}

/** A vbd as the toolstack serves it. */
export interface RecordedVbd {
  /** Virtual-device number. */
  devid: number;
  /** vdev name ("xvda"). */
  vdev?: string;
  /** Served read-only. */
  readonly?: boolean;
  /** BLKIF_OP_DISCARD offered (undefined: the backend's default). */
  discard?: boolean;
  /** The image, read once here (its first 64 MiB at most). */
  image: RecordableImage;
  /** Largest image embedded (default {@link DISK_INLINE_LIMIT}); larger ones are hashed. */
  inlineLimit?: number;
}

/** The recording of one boot. */
export class RingRecording {
  /** The recorder (streams, blocks). */
  readonly recorder: RingRecorder;
  readonly #close: () => void;

  /**
   * @param sink where the bytes go
   * @param close flushes and closes the sink
   * @param info header information (image, command line)
   */
  constructor(sink: RecordingSink, close: () => void, info: Record<string, unknown> = {}) {
    this.recorder = new RingRecorder(sink, info);
    this.#close = close;
  }

  /** The host the console backend must use. */
  console(host: DeviceHost, domid: DomId, mfn: number, port: number): Promise<DeviceHost> {
    return this.recorder.stream(host, { name: "console", kind: "console", domid, mfn, port });
  }

  /** The host the xenstore ring backend must use. */
  xenstore(host: DeviceHost, domid: DomId, mfn: number, port: number): Promise<DeviceHost> {
    return this.recorder.stream(host, { name: "xenstore", kind: "xenstore", domid, mfn, port });
  }

  /**
   * The host one vbd's Blkback must use; reads the image now (embedded up to 64 MiB;
   * a larger one is recorded by size and SHA-256, and replay needs `--disk NAME=PATH`).
   */
  async vbd(host: DeviceHost, domid: DomId, v: RecordedVbd): Promise<DeviceHost> {
    const bytes = v.image.sectors * 512;
    let disk: Uint8Array | undefined;
    let sha256: string | undefined;
    if (bytes <= (v.inlineLimit ?? DISK_INLINE_LIMIT)) {
      disk = new Uint8Array(bytes);
      await v.image.read(0, disk);
    } else sha256 = await imageSha256(v.image);
    const rh = await this.recorder.stream(host, {
      name: `vbd-${v.devid}`,
      kind: "vbd",
      domid,
      devid: v.devid,
      vdev: v.vdev,
      readonly: v.readonly,
      diskBytes: bytes,
      diskInline: disk !== undefined,
      diskSha256: sha256,
      extra: v.discard === undefined ? {} : { discard: v.discard },
    }, disk);
    return rh;
  }

  /** The host one vif's Netback must use. */
  vif(host: DeviceHost, domid: DomId, devid: number, responder: boolean): Promise<DeviceHost> {
    return this.recorder.stream(host, {
      name: `vif-${devid}`,
      kind: "vif",
      domid,
      devid,
      responder,
    });
  }

  /** Flushes and closes the file. */
  close(): void {
    this.#close();
  }
}

/**
 * SHA-256 (hex) of a whole image, read 4 MiB at a time. node:crypto is imported here, not
 * at the top, so that hosts without it (the web page) load this module.
 */
async function imageSha256(image: RecordableImage): Promise<string> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  const chunk = new Uint8Array(4 << 20);
  for (let s = 0; s < image.sectors; s += chunk.length / 512) {
    const n = Math.min(chunk.length / 512, image.sectors - s);
    const view = chunk.subarray(0, n * 512);
    await image.read(s, view);
    h.update(view);
  }
  return h.digest("hex");
}
