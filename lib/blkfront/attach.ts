/**
 * The toolstack's part for `pvx boot --disk`: opens each image, writes the vbd's
 * xenstore layout and starts its {@link Blkback}; and the matching teardown.
 * @module
 */
import type { DeviceHost, DomId } from "../hypervisor/backend_api.ts";
import type { Tracer } from "../hypervisor/trace/tracer.ts";
import { Blkback } from "./backend.ts";
import { type DiskImage, openDiskImage } from "./disk_image.ts";
import { checkDistinctDevids, type DiskSpec, parseDiskSpec } from "./disk_spec.ts";
import { writeVbdLayout } from "./xenbus.ts";
import type { VbdLayout } from "../hypervisor/xenstore/toolstack_layout.ts";

/** Options for {@link attachDisks}. */
export interface AttachDisksOptions {
  /** `--snapshot`: every disk gets a copy-on-write overlay; the image files stay untouched. */
  snapshot?: boolean;
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

/** One attached disk. */
export interface AttachedDisk {
  /** The parsed spec. */
  spec: DiskSpec;
  /** The open image. */
  image: DiskImage;
  /** Its backend. */
  backend: Blkback;
}

/**
 * Attaches disks to a domain as xl does at domain creation: parses the specs, opens the
 * images (all before touching the store, so a bad one changes nothing), writes the vbd
 * nodes and starts one backend each. Call before the guest runs.
 * @param host the hypervisor seam (dom0's view)
 * @param domid the guest
 * @param specs `--disk` values (strings) or parsed specs
 * @param opts snapshot and logging
 * @returns the attached disks, in order
 * @throws DiskSpecError or DiskImageError (exit code 2)
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
  const parsed = specs.map((s, i) => typeof s === "string" ? parseDiskSpec(s, i) : s);
  checkDistinctDevids(parsed);
  const images: DiskImage[] = [];
  try {
    for (const d of parsed) {
      images.push(
        await openDiskImage(d.target, {
          readonly: d.readonly,
          snapshot: d.snapshot || (opts.snapshot ?? false),
        }),
      );
    }
  } catch (e) {
    for (const img of images) await img.close();
    throw e;
  }
  return parsed.map((spec, i) => {
    const image = images[i];
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
 * Tears the disks down: each backend answers its in-flight requests (the host must keep
 * running deferred work meanwhile), makes the data durable, then the images close.
 * @param disks what {@link attachDisks} returned
 */
export async function detachDisks(disks: readonly AttachedDisk[]): Promise<void> {
  for (const d of disks) {
    await d.backend.close();
    if (!d.image.readonly) await d.image.flush().catch(() => {});
    await d.image.close();
  }
}
