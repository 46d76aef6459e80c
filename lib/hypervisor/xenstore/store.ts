/**
 * The in-process xenstored: the live tree, watches, special-node permissions, the table
 * of introduced domains, and dom0's privileged {@link StoreOps} view used by the
 * toolstack and the device backends. Connections (ring or socket) speak the wire
 * protocol through connection.ts.
 * @module
 */
import type { StoreOps } from "../backend/backend_api.ts";
import {
  type Accessor,
  DOMID_FIRST_RESERVED,
  formatPerms,
  parsePerms,
  type Perms,
} from "./permissions.ts";
import { canonicalize } from "./path.ts";
import { DEFAULT_QUOTAS, type XsQuotas } from "./quotas.ts";
import {
  type Change,
  LiveTree,
  opDirectory,
  type OpEnv,
  opGetPerms,
  opMkdir,
  opRead,
  opRm,
  opSetPerms,
  opWrite,
  toolstackCreatePerms,
} from "./tree.ts";
import { type WatchClient, WatchRegistry } from "./watch.ts";
import { fromUtf8, utf8, XSD_ERRORS, type XsdError, XsError } from "./wire.ts";

/** dom0 as an accessor: every check passes. */
export const DOM0: Accessor = Object.freeze({ domid: 0, privileged: true, target: -1 });

/** The special watch names xenstored invents. */
export const SPECIAL_NODES = ["@introduceDomain", "@releaseDomain"] as const;

/** An introduced domain. */
export interface DomainEntry {
  /** The domain. */
  readonly domid: number;
  /** The ring frame named at introduction. */
  readonly mfn: number;
  /** The guest's event-channel port. */
  readonly port: number;
  /** Closes the domain's connection (set by the ring backend); undefined if none. */
  disconnect?: () => void;
  /** SET_TARGET: the domain this one acts for, or -1. */
  target: number;
  /** Whether @releaseDomain already fired for its shutdown (RESUME re-arms it). */
  shutdownReported: boolean;
}

/** Options of a {@link XenStore}. */
export interface XenStoreOptions {
  /** Quota overrides (xenstored's defaults otherwise). */
  quotas?: Partial<XsQuotas>;
  /**
   * Called for an INTRODUCE from a privileged client, to open the domain's ring (the
   * boot code passes a function that creates a XenstoreRingBackend).
   * @returns an xsd error name to refuse it, or undefined on success
   */
  onIntroduce?: (domid: number, mfn: number, port: number) => string | undefined;
  /** Debug lines (refused requests, dropped events). */
  log?: (line: string) => void;
}

/** The store: one per host, shared by dom0's backends, guest rings and socket clients. */
export class XenStore implements StoreOps {
  /** The live tree. */
  readonly live: LiveTree = new LiveTree();
  /** Every watch. */
  readonly watches: WatchRegistry = new WatchRegistry();
  /** Effective quotas. */
  readonly quotas: XsQuotas;
  /** Permissions of the special watch nodes (readable by dom0 only by default). */
  readonly specialPerms: Map<string, Perms> = new Map();
  /** Introduced domains. */
  readonly domains: Map<number, DomainEntry> = new Map();
  readonly #opts: XenStoreOptions;
  #queue: (Change | { special: string })[] = [];
  #firing = false;
  #nextTx = 1;
  /** In-process watch callbacks that threw (each is logged). */
  callbackErrors = 0;

  /** A store holding /, /local, /local/domain and /tool, as xenstored starts with. */
  constructor(opts: XenStoreOptions = {}) {
    this.#opts = opts;
    this.quotas = { ...DEFAULT_QUOTAS, ...opts.quotas };
    for (const s of SPECIAL_NODES) this.specialPerms.set(s, [{ domid: 0, access: 0 }]);
    this.mkdir("/local/domain");
    this.mkdir("/tool");
  }

  /** Writes a debug line through the configured logger. */
  log(line: string): void {
    this.#opts.log?.(line);
  }

  /** An operation environment on the live tree (or a transaction's layer). */
  env(who: Accessor, layer = this.live as OpEnv["layer"]): OpEnv {
    return { who, layer, quotas: this.quotas, changes: [] };
  }

  /** A fresh transaction id (unique for the store's life, never 0). */
  nextTransactionId(): number {
    const id = this.#nextTx;
    this.#nextTx = (this.#nextTx % 0xfffffffe) + 1;
    return id;
  }

  /** Fires watches for `changes`, in order; re-entrant changes are queued behind them. */
  fire(changes: readonly Change[]): void {
    this.#queue.push(...changes);
    this.#drain();
  }

  /** Fires the watches on a special node. */
  fireSpecial(name: string): void {
    this.#queue.push({ special: name });
    this.#drain();
  }

  #drain(): void {
    if (this.#firing) return;
    this.#firing = true;
    try {
      for (let i = 0; i < this.#queue.length; i++) {
        const item = this.#queue[i];
        if ("special" in item) {
          this.watches.fireSpecial(item.special, this.specialPerms.get(item.special) ?? []);
        } else {
          this.watches.fire(item);
        }
      }
    } finally {
      this.#queue = [];
      this.#firing = false;
    }
  }

  #run<T>(fn: (env: OpEnv) => T): T {
    const env = { ...this.env(DOM0), createPerms: toolstackCreatePerms };
    const r = fn(env);
    this.fire(env.changes);
    return r;
  }

  // --- StoreOps: dom0's view ---

  /**
   * Reads a node as dom0.
   * @returns the value, or undefined when the node does not exist
   */
  read(path: string): string | undefined {
    const p = canonicalize(path, 0);
    const n = this.live.get(p);
    return n ? fromUtf8(n.value) : undefined;
  }

  /**
   * Writes a node, creating missing parents with libxl's permissions (a domain owns its
   * frontend dirs and reads its home and backend dirs; see toolstackCreatePerms).
   */
  write(path: string, value: string): void {
    this.#run((env) => opWrite(env, canonicalize(path, 0), utf8(value)));
  }

  /** Removes a node and its subtree; no error when absent. */
  rm(path: string): void {
    const p = canonicalize(path, 0);
    if (!this.live.get(p)) return;
    this.#run((env) => opRm(env, p));
  }

  /** Child names, or undefined when absent. */
  directory(path: string): string[] | undefined {
    const n = this.live.get(canonicalize(path, 0));
    return n ? [...n.children] : undefined;
  }

  /**
   * Watches a subtree (or a special node) as dom0; fires once at once and on every change.
   * @returns a function that removes the watch
   */
  watch(path: string, onChange: (changedPath: string) => void): () => void {
    const p = canonicalize(path, 0, true);
    const client: WatchClient = {
      accessor: DOM0,
      watchEvent: (ep) => {
        // a failing in-process watcher (a backend bug) must not break the guest's request
        // that triggered it, nor the other watchers: record it and go on
        try {
          onChange(ep);
        } catch (e) {
          this.callbackErrors++;
          this.log(`xenstore: watch callback for ${p} failed on ${ep}: ${errText(e)}`);
        }
      },
    };
    this.watches.add(client, p, "", false);
    onChange(p);
    return () => this.watches.removeAll(client);
  }

  // --- toolstack helpers (privileged) ---

  /** Creates a node if absent. */
  mkdir(path: string): void {
    this.#run((env) => opMkdir(env, canonicalize(path, 0)));
  }

  /**
   * Sets a node's permissions (xenstored letters: `["n0", "r5"]`).
   * @throws XsError ENOENT when absent, EINVAL for malformed permissions
   */
  setPerms(path: string, perms: readonly string[]): void {
    const parsed = parsePerms([...perms]);
    const p = canonicalize(path, 0, true);
    if (this.specialPerms.has(p)) {
      this.specialPerms.set(p, parsed);
      return;
    }
    this.#run((env) => opSetPerms(env, p, parsed));
  }

  /** A node's permissions as strings, or undefined when absent. */
  getPerms(path: string): string[] | undefined {
    const p = canonicalize(path, 0, true);
    const special = this.specialPerms.get(p);
    if (special) return formatPerms(special);
    try {
      return formatPerms(opGetPerms(this.env(DOM0), p));
    } catch (e) {
      if (e instanceof XsError && e.code === "ENOENT") return undefined;
      throw e;
    }
  }

  /** Child names as a privileged reader (same as {@link directory}, for symmetry). */
  list(path: string): readonly string[] | undefined {
    try {
      return opDirectory(this.env(DOM0), canonicalize(path, 0));
    } catch {
      return undefined;
    }
  }

  /** Reads raw bytes as dom0. */
  readBytes(path: string): Uint8Array | undefined {
    try {
      return opRead(this.env(DOM0), canonicalize(path, 0));
    } catch {
      return undefined;
    }
  }

  // --- domains ---

  /**
   * Records an introduced domain and fires @introduceDomain (xenstored's
   * do_introduce after the ring is mapped).
   * @throws XsError EINVAL for a reserved domid, EEXIST when introduced with another mfn
   */
  introduceDomain(domid: number, mfn: number, port: number): DomainEntry {
    if (!Number.isInteger(domid) || domid <= 0 || domid >= DOMID_FIRST_RESERVED) {
      throw new XsError("EINVAL", `bad domid ${domid}`);
    }
    const old = this.domains.get(domid);
    if (old) {
      if (old.mfn !== mfn) throw new XsError("EEXIST", `domain ${domid} already introduced`);
      return old;
    }
    const entry: DomainEntry = { domid, mfn, port, target: -1, shutdownReported: false };
    this.domains.set(domid, entry);
    this.fireSpecial("@introduceDomain");
    return entry;
  }

  /** INTRODUCE from a client: runs the onIntroduce hook, then records the domain. */
  introduceFromClient(domid: number, mfn: number, port: number): void {
    if (this.domains.get(domid)?.mfn === mfn) return;
    if (this.#opts.onIntroduce && !this.domains.has(domid)) {
      const err = this.#opts.onIntroduce(domid, mfn, port);
      if (err) throw new XsError(asXsdError(err), `introduce of ${domid} refused`);
    }
    this.introduceDomain(domid, mfn, port);
  }

  /** Whether xenstored talks to `domid` (dom0 always). */
  isIntroduced(domid: number): boolean {
    return domid === 0 || this.domains.has(domid);
  }

  /**
   * RELEASE, or the domain's destruction: disconnects its ring and fires @releaseDomain.
   * @returns whether the domain was introduced
   */
  releaseDomain(domid: number): boolean {
    const d = this.domains.get(domid);
    if (!d) return false;
    this.domains.delete(domid);
    d.disconnect?.();
    this.fireSpecial("@releaseDomain");
    return true;
  }

  /** The domain shut down (SCHEDOP_shutdown): fires @releaseDomain once until RESUME. */
  domainShutdown(domid: number): void {
    const d = this.domains.get(domid);
    if (!d || d.shutdownReported) return;
    d.shutdownReported = true;
    this.fireSpecial("@releaseDomain");
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/** Maps a string to an xsd_errors name (EINVAL when it is none). */
export function asXsdError(s: string): XsdError {
  return (XSD_ERRORS as readonly string[]).includes(s) ? s as XsdError : "EINVAL";
}
