/**
 * `--disk SPEC`: xl's disk-spec syntax (xl-disk-configuration(5): `format=raw, vdev=xvda,
 * access=rw, target=PATH`, positional `PATH,raw,xvda,rw`) and pvx's short form
 * `PATH[,xvda][,ro]`; vdev names map to virtual-device numbers as xen-vbd-interface(7) says.
 * @module
 */
import { InputError } from "../errors.ts";

/** A malformed disk spec. Exit code 2. */
export class DiskSpecError extends InputError {
  override name = "DiskSpecError";
}

/** One parsed disk. */
export interface DiskSpec {
  /** The image path. */
  target: string;
  /** The image format (only "raw" is served). */
  format: "raw";
  /** The guest's name for it (xvda, hdc, sdb, d0p1 ...). */
  vdev: string;
  /** The virtual-device number (the xenstore device id). */
  devid: number;
  /** access=ro. */
  readonly: boolean;
  /** devtype (cdrom implies read-only). */
  devtype: "disk" | "cdrom";
  /** pvx's `snapshot` flag: a copy-on-write overlay, the image untouched. */
  snapshot: boolean;
  /** Offer BLKIF_OP_DISCARD (xl's discard / no-discard flags; on by default). */
  discard: boolean;
}

const FORMATS = new Set(["raw", "qcow", "qcow2", "vhd", "qed", "empty"]);
const ACCESS: Record<string, boolean> = { ro: true, r: true, rw: false, w: false };
const TARGET_PREFIXES = ["tap2:aio:", "tap:aio:", "aio:", "file:", "phy:", "raw:"];

/** Bijective base-26 letters (a=0, z=25, aa=26 ...). @returns -1 when too large */
function lettersToIndex(s: string): number {
  let n = 0;
  for (const ch of s) {
    n = n * 26 + (ch.charCodeAt(0) - 96);
    if (n > 0x100000) return -1;
  }
  return n - 1;
}

/** The letters of disk index `i` (0 -> "a"). */
function indexToLetters(i: number): string {
  let s = "";
  let n = i + 1;
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(97 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

/** The xvd encoding of (disk, partition): compact below 16, extended (1 << 28) above. */
function xvdDevid(disk: number, part: number): number | undefined {
  if (disk < 16 && part < 16) return (202 << 8) | (disk << 4) | part;
  if (disk < 1 << 20 && part < 256) return ((1 << 28) | (disk << 8) | part) >>> 0;
  return undefined;
}

/**
 * The virtual-device number of a vdev name (xen-vbd-interface(7)).
 * @param vdev xvdX[N], hdX[N] (hda..hdd), sdX[N] (sda..sdp), dNpM or dN, or a number
 * @returns the number, or undefined for a name outside the scheme
 * @example
 * ```ts
 * vdevToDevid("xvda"); // 51712
 * ```
 */
export function vdevToDevid(vdev: string): number | undefined {
  let m = /^xvd([a-z]+)(\d*)$/.exec(vdev);
  if (m) {
    const disk = lettersToIndex(m[1]);
    const part = m[2] === "" ? 0 : Number(m[2]);
    if (disk < 0 || (m[2].length > 1 && m[2][0] === "0")) return undefined;
    return xvdDevid(disk, part);
  }
  m = /^d(\d+)(?:p(\d+))?$/.exec(vdev);
  if (m) {
    const disk = Number(m[1]);
    const part = m[2] === undefined ? 0 : Number(m[2]);
    return xvdDevid(disk, part);
  }
  m = /^hd([a-d])(\d*)$/.exec(vdev);
  if (m) {
    const disk = m[1].charCodeAt(0) - 97;
    const part = m[2] === "" ? 0 : Number(m[2]);
    if (part > 63) return undefined;
    return ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | part;
  }
  m = /^sd([a-p])(\d*)$/.exec(vdev);
  if (m) {
    const disk = m[1].charCodeAt(0) - 97;
    const part = m[2] === "" ? 0 : Number(m[2]);
    if (part > 15) return undefined;
    return (8 << 8) | (disk << 4) | part;
  }
  if (/^\d+$/.test(vdev)) {
    const n = Number(vdev);
    return n > 0 && n < 2 ** 32 ? n : undefined;
  }
  return undefined;
}

/** The default vdev of the `index`-th disk (xvda, xvdb ...). */
export function defaultVdev(index: number): string {
  return "xvd" + indexToLetters(index);
}

interface Partial {
  target?: string;
  format?: string;
  vdev?: string;
  access?: string;
  devtype?: string;
  snapshot?: boolean;
  discard?: boolean;
}

/**
 * Parses one `--disk` value.
 * @param spec the spec (xl syntax or `PATH[,VDEV][,ro]`)
 * @param index the disk's position on the command line (picks the default vdev)
 * @returns the parsed disk
 * @throws DiskSpecError naming the problem
 * @example
 * ```ts
 * parseDiskSpec("format=raw, vdev=xvda, access=rw, target=disk.img");
 * parseDiskSpec("disk.img,xvdb,ro");
 * ```
 */
export function parseDiskSpec(spec: string, index = 0): DiskSpec {
  const where = `Invalid disk spec "${spec}"`;
  const p: Partial = {};
  const set = <K extends keyof Partial>(k: K, v: Partial[K], label: string) => {
    if (p[k] !== undefined) throw new DiskSpecError(`${where}: ${label} given twice`);
    p[k] = v;
  };
  // target= takes the rest of the string, commas included (xl's rule).
  let rest = spec;
  const t = /(?:^|,)\s*target=/.exec(spec);
  if (t) {
    set("target", spec.slice(t.index + t[0].length), "target");
    rest = spec.slice(0, t.index);
  }
  const parts = rest === "" ? [] : rest.split(",").map((s) => s.trim());
  let ordinal = 0; // next unspecified positional slot: target, format, vdev, access
  const slots = ["target", "format", "vdev", "access"] as const;
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq >= 0) {
      const key = part.slice(0, eq).trim();
      const val = part.slice(eq + 1).trim();
      switch (key) {
        case "format":
        case "vdev":
        case "access":
        case "devtype":
          set(key, val, key);
          break;
        case "backendtype":
          if (!["phy", "qdisk", "tap"].includes(val)) {
            throw new DiskSpecError(`${where}: unknown backendtype "${val}"`);
          }
          break;
        case "backend":
          if (val !== "0" && val !== "Domain-0") {
            throw new DiskSpecError(`${where}: only backend=0 (dom0) is served by pvx`);
          }
          break;
        case "script":
          throw new DiskSpecError(`${where}: script= is not supported by pvx`);
        default:
          throw new DiskSpecError(`${where}: unknown key "${key}"`);
      }
      continue;
    }
    if (part === "") {
      ordinal++;
      continue;
    }
    // Bare words: flags first, then values recognised by their form, then the xl order.
    if (part === "cdrom") set("devtype", "cdrom", "devtype");
    else if (part === "snapshot") set("snapshot", true, "snapshot");
    else if (part === "discard" || part === "no-discard") {
      set("discard", part === "discard", "discard");
    } else if (part === "direct-io-safe" || part === "trusted" || part === "untrusted") {
      // accepted and irrelevant here: pvx never uses O_DIRECT and serves no driver domains
    } else if (p.target === undefined && ordinal === 0) {
      set("target", part, "target");
      ordinal = 1;
    } else if (FORMATS.has(part) && p.format === undefined) set("format", part, "format");
    else if (part in ACCESS && p.access === undefined) set("access", part, "access");
    else if (p.vdev === undefined && /^(xvd|hd|sd|d\d)/.test(part.split(":")[0])) {
      set("vdev", part, "vdev");
    } else if (ordinal < slots.length && p[slots[ordinal]] === undefined) {
      set(slots[ordinal], part, slots[ordinal]);
    } else {
      throw new DiskSpecError(`${where}: unexpected "${part}"`);
    }
    ordinal++;
  }
  return finish(p, where, index);
}

/** Checks the collected values and fills defaults. */
function finish(p: Partial, where: string, index: number): DiskSpec {
  let target = p.target?.trim() ?? "";
  for (const pre of TARGET_PREFIXES) {
    if (target.startsWith(pre)) {
      target = target.slice(pre.length);
      break;
    }
  }
  if (target === "") throw new DiskSpecError(`${where}: no target (image path) given`);
  const format = p.format === undefined || p.format === "" ? "raw" : p.format;
  if (format !== "raw") {
    throw new DiskSpecError(`${where}: format "${format}" is not supported (only raw)`);
  }
  let vdev = p.vdev === undefined || p.vdev === "" ? defaultVdev(index) : p.vdev;
  let devtype = p.devtype === undefined || p.devtype === "" ? "disk" : p.devtype;
  if (vdev.endsWith(":cdrom")) { // deprecated hdc:cdrom
    vdev = vdev.slice(0, -6);
    devtype = "cdrom";
  }
  if (devtype !== "disk" && devtype !== "cdrom") {
    throw new DiskSpecError(`${where}: devtype must be disk or cdrom, not "${devtype}"`);
  }
  const devid = vdevToDevid(vdev);
  if (devid === undefined) throw new DiskSpecError(`${where}: unknown vdev "${vdev}"`);
  const access = p.access === undefined || p.access === "" ? undefined : p.access;
  if (access !== undefined && !(access in ACCESS)) {
    throw new DiskSpecError(`${where}: access must be ro or rw, not "${access}"`);
  }
  if (devtype === "cdrom" && access !== undefined && !ACCESS[access]) {
    throw new DiskSpecError(`${where}: a cdrom cannot be read-write`);
  }
  return {
    target,
    format: "raw",
    vdev,
    devid,
    readonly: devtype === "cdrom" || (access !== undefined && ACCESS[access]),
    devtype,
    snapshot: p.snapshot ?? false,
    discard: p.discard ?? true,
  };
}

/**
 * Parses every `--disk` value and rejects two disks with the same virtual device.
 * @param specs the values, in command-line order
 * @returns the disks
 * @throws DiskSpecError
 */
export function parseDiskSpecs(specs: readonly string[]): DiskSpec[] {
  const out = specs.map((s, i) => parseDiskSpec(s, i));
  checkDistinctDevids(out);
  return out;
}

/**
 * Rejects two disks with the same virtual-device number.
 * @throws DiskSpecError naming both
 */
export function checkDistinctDevids(disks: readonly DiskSpec[]): void {
  const seen = new Map<number, string>();
  for (const d of disks) {
    const prev = seen.get(d.devid);
    if (prev !== undefined) {
      throw new DiskSpecError(
        `Disks "${prev}" and "${d.vdev}" use the same virtual device ${d.devid}`,
      );
    }
    seen.set(d.devid, d.vdev);
  }
}

/**
 * A commander-style collector for a repeatable `--disk` option: checks each value as it
 * is given (a bad spec is a usage error at once) and keeps the strings in order.
 * @example
 * ```ts
 * program.option("--disk <spec>", "attach a disk (repeatable)", collectDiskSpec, []);
 * ```
 */
export function collectDiskSpec(value: string, previous: string[] = []): string[] {
  parseDiskSpec(value, previous.length);
  return [...previous, value];
}
