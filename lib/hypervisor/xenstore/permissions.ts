/**
 * XenStore node permissions as xenstored keeps them: an ordered list whose first entry
 * names the owner and the access everyone else gets, and whose later entries grant
 * access to particular domains (`n` none, `r` read, `w` write, `b` both).
 * @module
 */
import { XsError } from "./wire.ts";
import { DOMID_FIRST_RESERVED } from "../../abi/mod.ts";

export { DOMID_FIRST_RESERVED };

/** XS_PERM_NONE. */
export const XS_PERM_NONE = 0;
/** XS_PERM_READ. */
export const XS_PERM_READ = 1;
/** XS_PERM_WRITE. */
export const XS_PERM_WRITE = 2;
/** Full access as the owner (read, write, change permissions). */
export const XS_PERM_OWNER = 8;

/** One permission entry. */
export interface Perm {
  /** The domain. */
  readonly domid: number;
  /** XS_PERM_* bits (READ|WRITE). */
  readonly access: number;
}

/** A node's permissions: entry 0 is the owner plus the default access for others. */
export type Perms = readonly Perm[];

const LETTERS = ["n", "r", "w", "b"];

/** Formats one entry as xenstored does (`r5`). */
export function formatPerm(p: Perm): string {
  return LETTERS[p.access & 3] + String(p.domid);
}

/**
 * Parses one `<letter><domid>` string.
 * @throws XsError EINVAL for anything else
 */
export function parsePerm(s: string): Perm {
  const access = LETTERS.indexOf(s[0] ?? "");
  const rest = s.slice(1);
  if (access < 0 || !/^[0-9]{1,5}$/.test(rest)) throw new XsError("EINVAL", `bad perm "${s}"`);
  const domid = Number(rest);
  if (domid > 0xffff) throw new XsError("EINVAL", `bad perm domid "${s}"`);
  return { domid, access };
}

/** Formats a permission list (`["n0", "r5"]`). */
export function formatPerms(perms: Perms): string[] {
  return perms.map(formatPerm);
}

/** Parses a non-empty list of permission strings. @throws XsError EINVAL */
export function parsePerms(list: string[]): Perm[] {
  if (list.length === 0) throw new XsError("EINVAL", "empty permission list");
  return list.map(parsePerm);
}

/** Who is asking: a domain (maybe acting for a target) or a privileged connection. */
export interface Accessor {
  /** The caller's domain. */
  readonly domid: number;
  /** dom0 and socket clients: every check passes. */
  readonly privileged: boolean;
  /** SET_TARGET: the domain this one may act for, or -1. */
  readonly target: number;
}

/**
 * The access `who` has to a node with `perms` (xenstored's perm_for_conn): privileged
 * callers and the owner get everything; otherwise the entry naming the caller (or its
 * target) if any, else the default in entry 0.
 * @returns XS_PERM_* bits, with XS_PERM_OWNER for full access
 */
export function accessFor(who: Accessor, perms: Perms): number {
  const all = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
  if (who.privileged) return all;
  const owner = perms[0]?.domid ?? 0;
  if (owner === who.domid || (who.target >= 0 && owner === who.target)) return all;
  let mine = -1;
  let target = -1;
  for (let i = 1; i < perms.length; i++) {
    if (perms[i].domid === who.domid) mine = perms[i].access;
    else if (perms[i].domid === who.target) target = perms[i].access;
  }
  if (mine >= 0) return mine | (target >= 0 ? target : 0);
  if (target >= 0) return target;
  return perms[0]?.access ?? XS_PERM_NONE;
}
