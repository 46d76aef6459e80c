/**
 * XenStore transactions as xenstored 4.17 runs them: a node is copied into the
 * transaction when first touched, so later reads see it as it was then (or as the
 * transaction changed it); every node touched is recorded with the generation it had, and
 * a commit fails with EAGAIN when any of them changed meanwhile.
 * @module
 */
import type { Change, Layer, LiveTree, XsNode } from "./tree.ts";
import { XsError } from "./wire.ts";

/** One open transaction of a connection. */
export class Transaction implements Layer {
  /** The id the client uses in tx_id. */
  readonly id: number;
  readonly #live: LiveTree;
  /** Changed nodes (null: removed). */
  readonly #overlay = new Map<string, XsNode | null>();
  /** Generation of each touched node when first touched (-1: absent). */
  readonly #seen = new Map<string, number>();
  /** Nodes as they were when first touched (undefined: absent then). */
  readonly #copies = new Map<string, XsNode | undefined>();
  readonly #delta = new Map<number, number>();
  readonly #maxNodes: number;
  /** Changes to fire on commit. */
  readonly changes: Change[] = [];

  /**
   * An empty transaction over the live tree.
   * @param id the transaction id
   * @param live the live tree
   * @param maxNodes nodes it may touch (quota; Infinity for privileged callers)
   */
  constructor(id: number, live: LiveTree, maxNodes: number) {
    this.id = id;
    this.#live = live;
    this.#maxNodes = maxNodes;
  }

  get(path: string): XsNode | undefined {
    const o = this.#overlay.get(path);
    if (o !== undefined) return o ?? undefined;
    if (this.#seen.has(path)) return this.#copies.get(path);
    if (this.#seen.size >= this.#maxNodes) {
      throw new XsError("ENOSPC", "transaction touches too many nodes");
    }
    // live nodes are never mutated in place, so keeping the object is keeping a copy
    const n = this.#live.get(path);
    this.#seen.set(path, n ? n.gen : -1);
    this.#copies.set(path, n);
    return n;
  }

  set(path: string, node: XsNode | undefined): void {
    const old = this.get(path);
    if (old) this.#bump(old.perms[0].domid, -1);
    if (node) this.#bump(node.perms[0].domid, 1);
    this.#overlay.set(path, node ?? null);
  }

  count(domid: number): number {
    return this.#live.count(domid) + (this.#delta.get(domid) ?? 0);
  }

  #bump(domid: number, by: number): void {
    this.#delta.set(domid, (this.#delta.get(domid) ?? 0) + by);
  }

  /** Whether any touched node changed in the live tree since it was touched. */
  conflicts(): boolean {
    for (const [path, gen] of this.#seen) {
      const n = this.#live.get(path);
      if ((n ? n.gen : -1) !== gen) return true;
    }
    return false;
  }

  /**
   * Commits into the live tree.
   * @returns the changes to fire
   * @throws XsError EAGAIN on a conflict (nothing is applied then)
   */
  commit(): Change[] {
    if (this.conflicts()) throw new XsError("EAGAIN", "transaction conflict");
    for (const [path, node] of this.#overlay) this.#live.set(path, node ?? undefined);
    return this.changes;
  }
}
