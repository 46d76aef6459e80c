/**
 * XenStore watches: who watches which path with which token, and which watches a change
 * fires (the changed node or anything below the watched path; for a removal, watches
 * below the removed node too), filtered by read permission, as xenstored_watch.c.
 * @module
 */
import { accessFor, type Accessor, type Perms, XS_PERM_READ } from "./permissions.ts";
import { isChildOf, relativeTo } from "./path.ts";
import type { Change } from "./tree.ts";
import { XsError } from "./wire.ts";

/** Whoever receives watch events: a connection, or an in-process dom0 callback. */
export interface WatchClient {
  /** Whose permissions filter the events. */
  readonly accessor: Accessor;
  /** Delivers one event (the path as the client named it, and its token). */
  watchEvent(path: string, token: string): void;
}

interface Watch {
  readonly client: WatchClient;
  /** Absolute path or special name. */
  readonly path: string;
  readonly token: string;
  /** Registered with a relative path: events are reported relative too. */
  readonly relative: boolean;
}

/** All watches of one store, in registration order. */
export class WatchRegistry {
  #watches: Watch[] = [];

  /** Number of watches held by `client`. */
  countFor(client: WatchClient): number {
    let n = 0;
    for (const w of this.#watches) if (w.client === client) n++;
    return n;
  }

  /**
   * Adds a watch.
   * @throws XsError EEXIST when the client already watches `path` with `token`
   */
  add(client: WatchClient, path: string, token: string, relative: boolean): void {
    if (this.#watches.some((w) => w.client === client && w.path === path && w.token === token)) {
      throw new XsError("EEXIST", "watch exists");
    }
    this.#watches.push({ client, path, token, relative });
  }

  /** Removes one watch. @returns whether it existed */
  remove(client: WatchClient, path: string, token: string): boolean {
    const i = this.#watches.findIndex((w) =>
      w.client === client && w.path === path && w.token === token
    );
    if (i < 0) return false;
    this.#watches.splice(i, 1);
    return true;
  }

  /** Removes every watch of `client`. */
  removeAll(client: WatchClient): void {
    this.#watches = this.#watches.filter((w) => w.client !== client);
  }

  /** Fires the watches a change matches. */
  fire(c: Change): void {
    for (const w of [...this.#watches]) {
      if (w.path.startsWith("@")) continue;
      let epath: string | undefined;
      if (isChildOf(c.path, w.path)) epath = c.path;
      else if (c.removed && isChildOf(w.path, c.path)) epath = w.path;
      if (epath === undefined) continue;
      if ((accessFor(w.client.accessor, c.perms) & XS_PERM_READ) === 0) continue;
      w.client.watchEvent(w.relative ? relativeTo(epath, w.client.accessor.domid) : epath, w.token);
    }
  }

  /** Fires the watches on a special name (`@introduceDomain`, `@releaseDomain`). */
  fireSpecial(name: string, perms: Perms): void {
    for (const w of [...this.#watches]) {
      if (w.path !== name) continue;
      if ((accessFor(w.client.accessor, perms) & XS_PERM_READ) === 0) continue;
      w.client.watchEvent(name, w.token);
    }
  }
}
