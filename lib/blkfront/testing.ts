/**
 * Test and bench builders for the block split driver: a fake host that drains its
 * deferred work by itself, a guarded image that records any access outside the disk,
 * and {@link makeBlkRig}, a connected blkback + TypeScript blkfront pair.
 * @module
 */
import { setImmediate } from "node:timers";
import { FakeDeviceHost, type FakeGuest } from "../hypervisor/mod.ts";
import { Blkback, type BlkbackOptions } from "./backend.ts";
import { type DiskImage, MemoryDiskImage } from "./disk_image.ts";
import { Blkfront, type BlkfrontOptions } from "./frontend.ts";
import { SECTOR_SIZE } from "./protocol.ts";
import { writeVbdLayout } from "./xenbus.ts";

/**
 * A {@link FakeDeviceHost} whose deferred callbacks run by themselves in a microtask
 * after the current job, so promise-driven code (benches, the durability worker) needs
 * no pump. Still never re-entrant: nothing runs inside the caller of defer().
 */
export class AutoDrainHost extends FakeDeviceHost {
  #scheduled = false;

  override defer(fn: () => void): void {
    super.defer(fn);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.drain();
    });
  }
}

/**
 * A {@link DiskImage} wrapper that records every call reaching the image outside its
 * bounds or writing a read-only image (the backend must refuse those itself).
 */
export class GuardedImage implements DiskImage {
  readonly inner: DiskImage;
  /** Out-of-bounds or forbidden calls seen (should stay empty). */
  readonly violations: string[] = [];
  /** Calls by kind. */
  readonly calls = { read: 0, write: 0, flush: 0, discard: 0 };

  constructor(inner: DiskImage) {
    this.inner = inner;
  }
  get description(): string {
    return this.inner.description;
  }
  get sectors(): number {
    return this.inner.sectors;
  }
  get readonly(): boolean {
    return this.inner.readonly;
  }
  #check(kind: string, sector: number, count: number, write: boolean): void {
    const ok = Number.isSafeInteger(sector) && sector >= 0 && Number.isSafeInteger(count) &&
      count >= 0 && sector + count <= this.inner.sectors && !(write && this.inner.readonly);
    if (!ok) this.violations.push(`${kind} ${sector}+${count}`);
  }
  read(sector: number, dst: Uint8Array): Promise<void> {
    this.calls.read++;
    this.#check("read", sector, dst.length / SECTOR_SIZE, false);
    return this.inner.read(sector, dst);
  }
  write(sector: number, src: Uint8Array): Promise<void> {
    this.calls.write++;
    this.#check("write", sector, src.length / SECTOR_SIZE, true);
    return this.inner.write(sector, src);
  }
  flush(): Promise<void> {
    this.calls.flush++;
    return this.inner.flush();
  }
  discard(sector: number, count: number): Promise<void> {
    this.calls.discard++;
    this.#check("discard", sector, count, true);
    return this.inner.discard(sector, count);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  readNow(sector: number, dst: Uint8Array): boolean {
    if (!this.inner.readNow?.(sector, dst)) return false;
    this.calls.read++;
    this.#check("read", sector, dst.length / SECTOR_SIZE, false);
    return true;
  }
}

/** A connected pair and everything around it. */
export interface BlkRig {
  /** The fake hypervisor. */
  host: FakeDeviceHost;
  /** The guest domain's side. */
  guest: FakeGuest;
  /** The backend. */
  backend: Blkback;
  /** The connected frontend. */
  frontend: Blkfront;
  /** The image the backend serves. */
  image: DiskImage;
}

/** Choices for {@link makeBlkRig}. */
export interface BlkRigOptions {
  /** The image (default: 2048 zeroed in-memory sectors). */
  image?: DiskImage;
  /** Backend options beyond domid/devid/image. */
  backend?: Partial<BlkbackOptions>;
  /** Frontend options beyond devid. */
  frontend?: Partial<BlkfrontOptions>;
  /** Machine frames of the fake host (default: enough for the ring and all slots). */
  frames?: number;
  /** Use a host that drains by itself (default true). */
  autoDrain?: boolean;
  /** Guest domain id (default 1). */
  domid?: number;
}

/**
 * Builds a host, a guest, the xenstore layout, a {@link Blkback} and a connected
 * {@link Blkfront}.
 * @example
 * ```ts
 * const { frontend } = await makeBlkRig();
 * await frontend.write(0, new Uint8Array(4096));
 * ```
 */
export async function makeBlkRig(opts: BlkRigOptions = {}): Promise<BlkRig> {
  const domid = opts.domid ?? 1;
  const devid = 51712; // xvda
  const segs = Math.max(11, opts.frontend?.maxSegments ?? 32);
  const pages = 32 * (segs + Math.ceil(segs / 512)) + 64;
  const frames = opts.frames ?? pages * 2 + 256;
  const host = (opts.autoDrain ?? true) ? new AutoDrainHost(frames) : new FakeDeviceHost(frames);
  const guest = host.addGuest(domid, Math.ceil((pages + 64) / 512) + 1);
  const image = opts.image ?? new MemoryDiskImage(2048);
  writeVbdLayout(host.store, {
    domid,
    devid,
    vdev: "xvda",
    params: image.description,
    readonly: opts.backend?.readonly ?? image.readonly,
  });
  const backend = new Blkback(host, { domid, devid, vdev: "xvda", image, ...opts.backend });
  const frontend = new Blkfront(guest, host.store, { devid, ...opts.frontend });
  const connecting = frontend.connect();
  if (!(host instanceof AutoDrainHost)) {
    let settled = false;
    connecting.then(() => settled = true, () => settled = true);
    while (!settled) {
      host.drain();
      await yieldToEventLoop();
    }
  }
  await connecting;
  return { host, guest, backend, frontend, image };
}

/**
 * Yields one macrotask (lets host I/O completions run) without setTimeout's clamping.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Drains `host` and yields until `p` settles (for a host that does not drain by itself).
 * @returns p's value
 */
export async function pumpUntil<T>(host: FakeDeviceHost, p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(() => settled = true, () => settled = true);
  while (!settled) {
    host.drain();
    await yieldToEventLoop();
  }
  return p;
}
