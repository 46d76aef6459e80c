/**
 * XenStore path rules (docs/misc/xenstore.txt): the permitted characters, no empty,
 * doubled or trailing slashes, length limits, relative paths under /local/domain/<id>,
 * and the special `@` watch names.
 * @module
 */
import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX, XsError } from "./wire.ts";

const VALID = /^[A-Za-z0-9\-/_@]+$/;

/** The home of domain `domid`: /local/domain/<domid>. */
export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

/** Whether `p` names a special watch (`@introduceDomain`, `@releaseDomain`, ...). */
export function isSpecial(p: string): boolean {
  return p.startsWith("@");
}

/**
 * Validates `raw` and makes it absolute for a caller in domain `domid`.
 * @param allowSpecial whether `@name` is acceptable (watches, permissions of specials)
 * @returns the absolute path
 * @throws XsError EINVAL for a malformed or over-long path
 */
export function canonicalize(raw: string, domid: number, allowSpecial = false): string {
  if (raw.length === 0) throw new XsError("EINVAL", "empty path");
  if (isSpecial(raw)) {
    if (!allowSpecial) throw new XsError("EINVAL", `special path "${raw}" not allowed here`);
    if (!VALID.test(raw) || raw.includes("/")) throw new XsError("EINVAL", `bad name "${raw}"`);
    return raw;
  }
  if (!VALID.test(raw)) throw new XsError("EINVAL", `bad characters in path`);
  const abs = raw.startsWith("/") ? raw : `${domainPath(domid)}/${raw}`;
  if (!raw.startsWith("/") && raw.length > XENSTORE_REL_PATH_MAX) {
    throw new XsError("EINVAL", "relative path too long");
  }
  if (abs.length > XENSTORE_ABS_PATH_MAX) throw new XsError("EINVAL", "path too long");
  if (abs !== "/" && (abs.endsWith("/") || abs.includes("//"))) {
    throw new XsError("EINVAL", "empty path component");
  }
  if (abs.includes("@")) throw new XsError("EINVAL", "@ inside a path");
  return abs;
}

/** The parent of an absolute path ("/" for top-level nodes and for "/"). */
export function parentOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

/** The last component of an absolute path. */
export function baseName(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** Joins a parent and a child name. */
export function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** Whether `child` is `parent` or lies below it (xenstored's is_child). */
export function isChildOf(child: string, parent: string): boolean {
  if (parent === "/") return child.startsWith("/");
  return child === parent || child.startsWith(parent + "/");
}

/**
 * The domain a path belongs to, for paths under /local/domain/<id>/.
 * @returns the domid, or -1 for other paths
 */
export function domidOfPath(p: string): number {
  const m = /^\/local\/domain\/([0-9]{1,5})(\/|$)/.exec(p);
  return m ? Number(m[1]) : -1;
}

/** Strips a caller's home prefix (watch events for relative watches). */
export function relativeTo(p: string, domid: number): string {
  const home = domainPath(domid) + "/";
  return p.startsWith(home) ? p.slice(home.length) : p;
}
