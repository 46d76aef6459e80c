/**
 * The XenStore node tree and its operations (read, write, mkdir, rm, directory, perms),
 * written once over a {@link Layer} so that the live tree and a transaction's view share
 * the same rules; mirrors the node handling of xenstored_core.c.
 * @module
 */
import {
  accessFor,
  type Accessor,
  type Perms,
  XS_PERM_READ,
  XS_PERM_WRITE,
} from "./permissions.ts";
import { baseName, childPath, parentOf } from "./path.ts";
import type { XsQuotas } from "./quotas.ts";
import { XsError } from "./wire.ts";

/** One node. Node objects are never changed once stored: a change stores a new object. */
export interface XsNode {
  /** The value (arbitrary bytes). */
  readonly value: Uint8Array;
  /** Permissions (entry 0: owner and default access). */
  readonly perms: Perms;
  /** Child names, in creation order. */
  readonly children: readonly string[];
  /** Generation of the last change (set when stored in the live tree). */
  gen: number;
}

/** A view of the tree: the live tree, or a transaction's. */
export interface Layer {
  /** The node at an absolute path. */
  get(path: string): XsNode | undefined;
  /** Stores (or with undefined, deletes) the node at `path`. */
  set(path: string, node: XsNode | undefined): void;
  /** Nodes owned by `domid` as this view sees them (for the node quota). */
  count(domid: number): number;
}

/** A change to report to watches. */
export interface Change {
  /** The changed (or removed) node. */
  readonly path: string;
  /** True for a removal: watches below `path` fire as well. */
  readonly removed: boolean;
  /** The node's permissions at the time (read access decides who hears of it). */
  readonly perms: Perms;
}

/** What every operation needs. */
export interface OpEnv {
  /** The caller. */
  readonly who: Accessor;
  /** The view operated on. */
  readonly layer: Layer;
  /** The limits. */
  readonly quotas: XsQuotas;
  /** Collected changes (fired at once, or on commit for a transaction). */
  readonly changes: Change[];
  /**
   * Permissions for a node the caller creates, replacing plain inheritance (the in-process
   * toolstack's rule, see {@link toolstackCreatePerms}); undefined: xenstored's rule.
   */
  readonly createPerms?: (path: string, parentPerms: Perms) => Perms;
}

const EMPTY = new Uint8Array(0);

/** Makes a node (gen 0 until stored). */
export function makeNode(value: Uint8Array, perms: Perms, children: readonly string[]): XsNode {
  return { value, perms, children, gen: 0 };
}

/** The live tree: a map of absolute paths, a generation counter, per-owner node counts. */
export class LiveTree implements Layer {
  /** Every node, by absolute path. */
  readonly nodes: Map<string, XsNode> = new Map();
  /** The last generation handed out. */
  gen = 0;
  readonly #counts = new Map<number, number>();

  /** A tree holding only "/" (owned by dom0, no access for others). */
  constructor() {
    this.set("/", makeNode(EMPTY, [{ domid: 0, access: 0 }], []));
  }

  get(path: string): XsNode | undefined {
    return this.nodes.get(path);
  }

  set(path: string, node: XsNode | undefined): void {
    const old = this.nodes.get(path);
    if (old) this.#bump(old.perms[0].domid, -1);
    if (node) {
      const stored = { ...node, gen: ++this.gen };
      this.nodes.set(path, stored);
      this.#bump(stored.perms[0].domid, 1);
    } else {
      this.nodes.delete(path);
    }
  }

  count(domid: number): number {
    return this.#counts.get(domid) ?? 0;
  }

  #bump(domid: number, by: number): void {
    this.#counts.set(domid, (this.#counts.get(domid) ?? 0) + by);
  }
}

/** EACCES unless `who` has `need` on `node`. */
function requireAccess(env: OpEnv, node: XsNode, need: number, path: string): void {
  if ((accessFor(env.who, node.perms) & need) !== need) {
    throw new XsError("EACCES", `${path}: permission denied`);
  }
}

/**
 * The node at `path` with `need` access; for an absent node, ENOENT (or EACCES when its
 * nearest existing ancestor is unreadable, so absence does not leak).
 */
export function getNode(env: OpEnv, path: string, need: number): XsNode {
  const node = env.layer.get(path);
  if (!node) {
    let p = parentOf(path);
    let anc = env.layer.get(p);
    while (!anc && p !== "/") {
      p = parentOf(p);
      anc = env.layer.get(p);
    }
    if (anc && (accessFor(env.who, anc.perms) & XS_PERM_READ) === 0) {
      throw new XsError("EACCES", `${path}: permission denied`);
    }
    throw new XsError("ENOENT", `${path}: no such node`);
  }
  requireAccess(env, node, need, path);
  return node;
}

function entrySize(value: Uint8Array, children: readonly string[]): number {
  let n = value.length;
  for (const c of children) n += c.length + 1;
  return n;
}

function checkEntrySize(env: OpEnv, value: Uint8Array, children: readonly string[]): void {
  if (!env.who.privileged && entrySize(value, children) > env.quotas.maxEntrySize) {
    throw new XsError("ENOSPC", "entry too big");
  }
}

/**
 * Permissions of a node created under `parentPerms`, as xenstored does: inherited, with
 * an unprivileged caller as the owner.
 */
function inheritPerms(env: OpEnv, path: string, parentPerms: Perms): Perms {
  if (!env.who.privileged) {
    return [{ domid: env.who.domid, access: parentPerms[0].access }, ...parentPerms.slice(1)];
  }
  return env.createPerms ? env.createPerms(path, parentPerms) : parentPerms;
}

/**
 * The in-process toolstack's rule for nodes dom0 creates through StoreOps (libxl's
 * permissions, without every caller spelling them out): a domain's home
 * `/local/domain/<N>` is readable by N; its frontend dirs `device/<type>/<id>/**` are
 * owned by N and readable by dom0; backend dirs `/local/domain/0/backend/<type>/<N>/**`
 * are dom0's and readable by N; anything else inherits its parent's permissions.
 */
export function toolstackCreatePerms(path: string, parentPerms: Perms): Perms {
  const parts = path.split("/");
  // ["", "local", "domain", N, ...]
  if (parts[1] !== "local" || parts[2] !== "domain" || !/^[0-9]+$/.test(parts[3] ?? "")) {
    return parentPerms;
  }
  const home = Number(parts[3]);
  if (parts.length === 4) {
    return home === 0 ? [{ domid: 0, access: 0 }] : [{ domid: 0, access: 0 }, {
      domid: home,
      access: 1,
    }];
  }
  if (home !== 0 && parts[4] === "device" && parts.length >= 7) {
    return [{ domid: home, access: 0 }, { domid: 0, access: 1 }];
  }
  if (home === 0 && parts[4] === "backend" && parts.length >= 7 && /^[0-9]+$/.test(parts[6])) {
    return [{ domid: 0, access: 0 }, { domid: Number(parts[6]), access: 1 }];
  }
  return parentPerms;
}

/** Creates `path` (and missing parents) with `value` on the last one. */
function create(env: OpEnv, path: string, value: Uint8Array): void {
  const missing: string[] = [];
  let p = path;
  while (!env.layer.get(p)) {
    missing.push(p);
    p = parentOf(p);
  }
  const top = env.layer.get(p)!;
  requireAccess(env, top, XS_PERM_WRITE, p);
  if (!env.who.privileged) {
    if (env.layer.count(env.who.domid) + missing.length > env.quotas.nodesPerDomain) {
      throw new XsError("ENOSPC", "node quota exceeded");
    }
  }
  checkEntrySize(env, value, []);
  let parentPath = p;
  let parent = top;
  for (let i = missing.length - 1; i >= 0; i--) {
    const cp = missing[i];
    const children = [...parent.children, baseName(cp)];
    checkEntrySize(env, parent.value, children);
    env.layer.set(parentPath, makeNode(parent.value, parent.perms, children));
    const node = makeNode(
      i === 0 ? value : EMPTY,
      inheritPerms(env, cp, parent.perms),
      [],
    );
    env.layer.set(cp, node);
    parentPath = cp;
    parent = node;
  }
  env.changes.push({ path, removed: false, perms: parent.perms });
}

/** XS_READ. @returns the value */
export function opRead(env: OpEnv, path: string): Uint8Array {
  return getNode(env, path, XS_PERM_READ).value;
}

/** XS_WRITE: replaces the value, creating the node and missing parents. */
export function opWrite(env: OpEnv, path: string, value: Uint8Array): void {
  const node = env.layer.get(path);
  if (!node) return create(env, path, value);
  requireAccess(env, node, XS_PERM_WRITE, path);
  checkEntrySize(env, value, node.children);
  env.layer.set(path, makeNode(value, node.perms, node.children));
  env.changes.push({ path, removed: false, perms: node.perms });
}

/** XS_MKDIR: creates the node if absent (an existing node is left alone). */
export function opMkdir(env: OpEnv, path: string): void {
  const node = env.layer.get(path);
  if (node) {
    requireAccess(env, node, XS_PERM_WRITE, path);
    return;
  }
  create(env, path, EMPTY);
}

function removeSubtree(env: OpEnv, path: string, node: XsNode): void {
  for (const c of node.children) {
    const cp = childPath(path, c);
    const child = env.layer.get(cp);
    if (child) removeSubtree(env, cp, child);
  }
  env.layer.set(path, undefined);
}

/** XS_RM: removes a subtree; absent is fine when the parent exists. */
export function opRm(env: OpEnv, path: string): void {
  if (path === "/") throw new XsError("EINVAL", "cannot remove /");
  const node = env.layer.get(path);
  const parentPath = parentOf(path);
  const parent = env.layer.get(parentPath);
  if (!node) {
    if (!parent) throw new XsError("ENOENT", `${path}: no such node`);
    if ((accessFor(env.who, parent.perms) & XS_PERM_READ) === 0) {
      throw new XsError("EACCES", `${path}: permission denied`);
    }
    return;
  }
  requireAccess(env, node, XS_PERM_WRITE, path);
  removeSubtree(env, path, node);
  if (parent) {
    const name = baseName(path);
    env.layer.set(
      parentPath,
      makeNode(parent.value, parent.perms, parent.children.filter((c) => c !== name)),
    );
  }
  env.changes.push({ path, removed: true, perms: node.perms });
}

/** XS_DIRECTORY. @returns the child names */
export function opDirectory(env: OpEnv, path: string): readonly string[] {
  return getNode(env, path, XS_PERM_READ).children;
}

/** XS_GET_PERMS. */
export function opGetPerms(env: OpEnv, path: string): Perms {
  return getNode(env, path, XS_PERM_READ).perms;
}

/**
 * Checks a new permission list for `who`: quota on its length, and no change of owner
 * by an unprivileged caller (EPERM).
 */
export function checkNewPerms(env: OpEnv, old: Perms, perms: Perms): void {
  if (env.who.privileged) return;
  if (perms.length - 1 > env.quotas.permsPerNode) throw new XsError("ENOSPC", "too many perms");
  if (perms[0].domid !== old[0].domid) throw new XsError("EPERM", "cannot change the owner");
}

/** XS_SET_PERMS on a node. */
export function opSetPerms(env: OpEnv, path: string, perms: Perms): void {
  const node = getNode(env, path, XS_PERM_WRITE);
  checkNewPerms(env, node.perms, perms);
  env.layer.set(path, makeNode(node.value, perms, node.children));
  env.changes.push({ path, removed: false, perms });
}
