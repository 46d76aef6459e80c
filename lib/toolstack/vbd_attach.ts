/**
 * The toolstack's part for `pvx boot --disk`: parses the specs and opens the images once
 * ({@link openDisks}), then, for each domain built (a reboot builds a new one), writes the
 * vbd nodes if asked and starts one {@link Blkback} per disk ({@link startVbds}).
 * @module
 */
import type { DeviceHost, DomId } from "../hypervisor/mod.ts";
import type { Tracer } from "../hypervisor/mod.ts";
import type { VbdLayout } from "../hypervisor/mod.ts";
import { Blkback } from "../blkfront/mod.ts";
import type { DiskImage } from "../blkfront/mod.ts";
import { openDiskImage } from "./disk_file.ts";
import { checkDistinctDevids, type DiskSpec, DiskSpecError, parseDiskSpec } from "./disk_spec.ts";
import { writeVbdLayout } from "../blkfront/mod.ts";

/** Options for {@link openDisks}. */
export interface OpenDisksOptions {
  /** `--snapshot`: every disk gets a copy-on-write overlay; the image files stay untouched. */
  snapshot?: boolean;
}

/** Options for {@link startVbds}. */
export interface StartVbdsOptions {
  /** Debug lines from the backends. */
  log?: (msg: string) => void;
  /** Trace sink for the backends' ring records. */
  tracer?: Tracer;
  /**
   * Write the vbd nodes with {@link writeVbdLayout} (default true). Pass false when the
   * toolstack layout (writeToolstackLayout with {@link toToolstackVbd}) already wrote them.
   */
  writeLayout?: boolean;
}

/** Options for {@link attachDisks}. */
export type AttachDisksOptions = OpenDisksOptions & StartVbdsOptions;

/** One disk whose image is open. */
export interface OpenDisk {
  /** The parsed spec. */
  spec: DiskSpec;
  /** The open image. */
  image: DiskImage;
}

/** One disk being served. */
export interface AttachedDisk extends OpenDisk {
  /** Its backend. */
  backend: Blkback;
}

/**
 * Parses the specs and opens every image; nothing is left open when one fails.
 * @param specs `--disk` values (strings, numbered in order for default vdevs) or parsed specs
 * @param opts snapshot
 * @returns the disks, in order
 * @throws DiskSpecError or DiskImageError (exit code 2)
 */
export async function openDisks(
  specs: readonly (string | DiskSpec)[],
  opts: OpenDisksOptions = {},
): Promise<OpenDisk[]> {
  const parsed = specs.map((s, i) => typeof s === "string" ? parseDiskSpec(s, i) : s);
  checkDistinctDevids(parsed);
  checkDistinctWritableTargets(parsed, opts.snapshot ?? false);
  const out: OpenDisk[] = [];
  try {
    for (const spec of parsed) {
      const image = await openDiskImage(spec.target, {
        readonly: spec.readonly,
        snapshot: spec.snapshot || (opts.snapshot ?? false),
      });
      out.push({ spec, image });
      if (image.sectors === 0) {
        throw new DiskSpecError(
          `Cannot use disk image "${spec.target}": it holds no whole 512-byte sector`,
        );
      }
    }
  } catch (e) {
    for (const d of out) await d.image.close();
    throw e;
  }
  return out;
}

/**
 * A disk as the xenstore toolstack layout (writeToolstackLayout's `vbds`) describes it.
 * @param spec the parsed disk
 * @returns the layout entry, with the devid this module computes
 */
export function toToolstackVbd(spec: DiskSpec): VbdLayout {
  return {
    vdev: spec.vdev,
    devid: spec.devid,
    params: spec.target,
    mode: spec.readonly ? "r" : "w",
    deviceType: spec.devtype,
  };
}

/**
 * Starts one backend per disk for domain `domid` (synchronous: call it while attaching
 * devices, before the guest runs). With `writeLayout: false` the vbd nodes must already
 * be in the store (writeToolstackLayout with `vbds: disks.map((d) => toToolstackVbd(d.spec))`).
 * @returns the disks with their backends
 * @example
 * ```ts
 * const disks = await openDisks(["disk.img,xvda"]);          // once, before booting
 * writeToolstackLayout(store, { ...domain, vbds: disks.map((d) => toToolstackVbd(d.spec)) });
 * const served = startVbds(deviceHost, domid, disks, { writeLayout: false });
 * ```
 */
export function startVbds(
  host: DeviceHost,
  domid: DomId,
  disks: readonly OpenDisk[],
  opts: StartVbdsOptions = {},
): AttachedDisk[] {
  return disks.map(({ spec, image }) => {
    if (opts.writeLayout ?? true) {
      writeVbdLayout(host.store, {
        domid,
        devid: spec.devid,
        vdev: spec.vdev,
        params: spec.target,
        readonly: spec.readonly,
        devtype: spec.devtype,
      });
    }
    const backend = new Blkback(host, {
      domid,
      devid: spec.devid,
      vdev: spec.vdev,
      image,
      readonly: spec.readonly,
      cdrom: spec.devtype === "cdrom",
      discard: spec.discard,
      log: opts.log,
      tracer: opts.tracer,
    });
    return { spec, image, backend };
  });
}

/**
 * {@link openDisks} then {@link startVbds}, for a domain that is built already.
 * @example
 * ```ts
 * const disks = await attachDisks(host, 1, ["disk.img,xvda", "cd.iso,hdc,cdrom"]);
 * // ... run the guest ...
 * await detachDisks(disks);
 * ```
 */
export async function attachDisks(
  host: DeviceHost,
  domid: DomId,
  specs: readonly (string | DiskSpec)[],
  opts: AttachDisksOptions = {},
): Promise<AttachedDisk[]> {
  return startVbds(host, domid, await openDisks(specs, opts), opts);
}

/**
 * Stops the backends (each answers its in-flight requests first: the host must keep
 * running deferred work meanwhile). The images stay open (a rebooted domain reuses them).
 */
export async function stopVbds(disks: readonly AttachedDisk[]): Promise<void> {
  for (const d of disks) await d.backend.close();
}

/**
 * Makes written data durable and closes the images (after {@link stopVbds}).
 */
export async function closeDisks(disks: readonly OpenDisk[]): Promise<void> {
  for (const d of disks) {
    if (!d.image.readonly) await d.image.flush().catch(() => {});
    await d.image.close();
  }
}

/** {@link stopVbds} then {@link closeDisks}. */
export async function detachDisks(disks: readonly AttachedDisk[]): Promise<void> {
  await stopVbds(disks);
  await closeDisks(disks);
}

/**
 * Refuses one image file behind two disks when either writes to it (two backends writing
 * one file corrupt it); read-only and snapshot disks may share a file.
 * @throws DiskSpecError naming the file
 */
function checkDistinctWritableTargets(specs: readonly DiskSpec[], snapshot: boolean): void {
  const seen = new Map<string, DiskSpec>();
  for (const s of specs) {
    let key = s.target;
    try {
      key = Deno.realPathSync(s.target);
    } catch {
      // missing: openDiskImage says so
    }
    const prev = seen.get(key);
    const writes = (d: DiskSpec) => !d.readonly && !d.snapshot && !snapshot;
    if (prev && (writes(prev) || writes(s))) {
      throw new DiskSpecError(
        `Cannot attach "${s.target}" twice: ${prev.vdev} and ${s.vdev} would both use it, and one writes`,
      );
    }
    seen.set(key, s);
  }
}
