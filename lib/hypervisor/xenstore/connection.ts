/**
 * One xenstored connection (a guest ring or a socket client): decodes each request of
 * io/xs_wire.h, runs it against the store with the caller's permissions, and sends the
 * reply, an XS_ERROR with xenstored's error name, or watch events; as xenstored_core.c's
 * process_message and its do_* handlers.
 * @module
 */
import {
  type Accessor,
  DOMID_FIRST_RESERVED,
  formatPerms,
  parsePerms,
  type Perms,
} from "./permissions.ts";
import { canonicalize, domainPath, isSpecial } from "./path.ts";
import type { XenStore } from "./store.ts";
import { Transaction } from "./transaction.ts";
import {
  checkNewPerms,
  type Layer,
  opDirectory,
  type OpEnv,
  opGetPerms,
  opMkdir,
  opRead,
  opRm,
  opSetPerms,
  opWrite,
} from "./tree.ts";
import type { WatchClient } from "./watch.ts";
import {
  encodeMessage,
  fromUtf8,
  nulStrings,
  splitFields,
  utf8,
  XENSTORE_PAYLOAD_MAX,
  XS_CONTROL,
  XS_DIRECTORY,
  XS_DIRECTORY_PART,
  XS_ERROR,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_MKDIR,
  XS_READ,
  XS_RELEASE,
  XS_RESET_WATCHES,
  XS_RESUME,
  XS_RM,
  XS_SET_PERMS,
  XS_SET_TARGET,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  XsError,
  type XsMessage,
} from "./wire.ts";

/** How a connection reaches its peer. */
export interface ConnectionIo {
  /** Queues one encoded message for the peer (never blocks, never drops). */
  send(bytes: Uint8Array): void;
  /** Bytes queued and not yet taken by the peer (bounds watch-event queueing). */
  pending(): number;
}

/** Counters, for tests and traces. */
export interface ConnectionStats {
  /** Requests handled. */
  requests: number;
  /** Requests answered with XS_ERROR. */
  errors: number;
  /** Watch events dropped for a stalled reader. */
  droppedEvents: number;
  /** Requests that hit a pvx bug (answered EIO). */
  internalErrors: number;
}

const OK = nulStrings("OK");
const TRUE = nulStrings("T");
const FALSE = nulStrings("F");

/** The per-connection protocol state: caller identity, transactions, watch ownership. */
export class XsConnection implements WatchClient {
  readonly #store: XenStore;
  readonly #io: ConnectionIo;
  readonly #domid: number;
  readonly #privileged: boolean;
  readonly #txs = new Map<number, Transaction>();
  #closed = false;
  /** Counters. */
  readonly stats: ConnectionStats = { requests: 0, errors: 0, droppedEvents: 0, internalErrors: 0 };

  /**
   * A connection for one client.
   * @param store the store
   * @param domid the caller's domain (0 for socket clients)
   * @param privileged dom0 and socket clients: no permission checks or quotas
   * @param io where replies go
   */
  constructor(store: XenStore, domid: number, privileged: boolean, io: ConnectionIo) {
    this.#store = store;
    this.#domid = domid;
    this.#privileged = privileged;
    this.#io = io;
  }

  /** The caller as the permission checks see it (target from SET_TARGET). */
  get accessor(): Accessor {
    const target = this.#store.domains.get(this.#domid)?.target ?? -1;
    return { domid: this.#domid, privileged: this.#privileged, target };
  }

  /** Open transactions. */
  get transactionCount(): number {
    return this.#txs.size;
  }

  /** Drops the connection's watches and transactions; later events are not sent. */
  close(): void {
    this.#closed = true;
    this.#store.watches.removeAll(this);
    this.#txs.clear();
  }

  /** Delivers a watch event unless the peer's queue is over its limit (then counted). */
  watchEvent(path: string, token: string): void {
    if (this.#closed) return;
    const payload = nulStrings(path, token);
    if (
      payload.length > XENSTORE_PAYLOAD_MAX ||
      this.#io.pending() + payload.length > this.#store.quotas.maxPendingOutput
    ) {
      this.stats.droppedEvents++;
      this.#store.log(`xenstore: dom${this.#domid}: watch event for ${path} dropped`);
      return;
    }
    this.#io.send(encodeMessage(XS_WATCH_EVENT, 0, 0, payload));
  }

  /**
   * Runs one request and sends its reply. Nothing a client sends makes this throw.
   */
  handle(msg: XsMessage): void {
    if (this.#closed) return;
    this.stats.requests++;
    let reply: Uint8Array;
    const after: (() => void)[] = [];
    try {
      reply = this.#dispatch(msg, after);
    } catch (e) {
      this.stats.errors++;
      let code: XsError["code"] = "EIO";
      if (e instanceof XsError) code = e.code;
      else this.stats.internalErrors++;
      this.#store.log(
        `xenstore: dom${this.#domid}: type ${msg.type} refused: ${
          e instanceof Error ? e.message : String(e)
        }`,
      );
      this.#io.send(encodeMessage(XS_ERROR, msg.reqId, msg.txId, nulStrings(code)));
      return;
    }
    if (reply.length > XENSTORE_PAYLOAD_MAX) {
      // only dom0's in-process writes can make a value this big; never break the limit
      this.stats.errors++;
      this.#io.send(encodeMessage(XS_ERROR, msg.reqId, msg.txId, nulStrings("E2BIG")));
      return;
    }
    this.#io.send(encodeMessage(msg.type, msg.reqId, msg.txId, reply));
    for (const fn of after) fn();
  }

  #layer(msg: XsMessage): Layer {
    if (msg.txId === 0) return this.#store.live;
    const tx = this.#txs.get(msg.txId);
    if (!tx) throw new XsError("ENOENT", `no transaction ${msg.txId}`);
    return tx;
  }

  /** Runs a tree operation; outside a transaction its changes fire after the reply. */
  #op<T>(msg: XsMessage, after: (() => void)[], fn: (env: OpEnv) => T): T {
    const layer = this.#layer(msg);
    const env = this.#store.env(this.accessor, layer);
    const r = fn(env);
    if (layer instanceof Transaction) layer.changes.push(...env.changes);
    else if (env.changes.length > 0) after.push(() => this.#store.fire(env.changes));
    return r;
  }

  #path(raw: string, allowSpecial = false): string {
    return canonicalize(raw, this.#domid, allowSpecial);
  }

  #requirePrivilege(what: string): void {
    if (!this.#privileged) throw new XsError("EACCES", `${what} needs privilege`);
  }

  #dispatch(msg: XsMessage, after: (() => void)[]): Uint8Array {
    switch (msg.type) {
      case XS_READ: {
        const p = this.#path(oneArg(msg));
        return this.#op(msg, after, (env) => opRead(env, p)).slice();
      }
      case XS_WRITE: {
        const nul = msg.payload.indexOf(0);
        if (nul < 0) throw new XsError("EINVAL", "WRITE without a path terminator");
        const p = this.#path(fromUtf8(msg.payload.subarray(0, nul)));
        const value = msg.payload.slice(nul + 1);
        this.#op(msg, after, (env) => opWrite(env, p, value));
        return OK;
      }
      case XS_MKDIR: {
        const p = this.#path(oneArg(msg));
        this.#op(msg, after, (env) => opMkdir(env, p));
        return OK;
      }
      case XS_RM: {
        const p = this.#path(oneArg(msg));
        this.#op(msg, after, (env) => opRm(env, p));
        return OK;
      }
      case XS_DIRECTORY: {
        const p = this.#path(oneArg(msg));
        const out = nulStrings(...this.#op(msg, after, (env) => opDirectory(env, p)));
        if (out.length > XENSTORE_PAYLOAD_MAX) throw new XsError("E2BIG", "use DIRECTORY_PART");
        return out;
      }
      case XS_DIRECTORY_PART:
        return this.#directoryPart(msg, after);
      case XS_GET_PERMS:
        return nulStrings(...formatPerms(this.#getPerms(msg, after)));
      case XS_SET_PERMS:
        this.#setPerms(msg, after);
        return OK;
      case XS_WATCH:
        return this.#watch(msg, after);
      case XS_UNWATCH: {
        const [raw, token] = args(msg, 2);
        if (!this.#store.watches.remove(this, this.#path(raw, true), token)) {
          throw new XsError("ENOENT", "no such watch");
        }
        return OK;
      }
      case XS_TRANSACTION_START:
        return this.#transactionStart(msg);
      case XS_TRANSACTION_END:
        return this.#transactionEnd(msg, after);
      case XS_INTRODUCE: {
        this.#requirePrivilege("INTRODUCE");
        const [d, m, pt] = args(msg, 3);
        this.#store.introduceFromClient(
          realDomid(d),
          parseNum(m, 0x7fffffff),
          parseNum(pt, 0xffffffff),
        );
        return OK;
      }
      case XS_RELEASE: {
        this.#requirePrivilege("RELEASE");
        if (!this.#store.releaseDomain(realDomid(oneArg(msg)))) {
          throw new XsError("ENOENT", "domain not introduced");
        }
        return OK;
      }
      case XS_GET_DOMAIN_PATH:
        return nulStrings(domainPath(parseNum(oneArg(msg), 0xffff)));
      case XS_IS_DOMAIN_INTRODUCED: {
        this.#requirePrivilege("IS_DOMAIN_INTRODUCED");
        return this.#store.isIntroduced(parseNum(oneArg(msg), 0xffff)) ? TRUE : FALSE;
      }
      case XS_RESUME: {
        this.#requirePrivilege("RESUME");
        const d = this.#store.domains.get(realDomid(oneArg(msg)));
        if (!d) throw new XsError("ENOENT", "domain not introduced");
        d.shutdownReported = false;
        return OK;
      }
      case XS_SET_TARGET: {
        this.#requirePrivilege("SET_TARGET");
        const [d, t] = args(msg, 2);
        const entry = this.#store.domains.get(realDomid(d));
        const target = realDomid(t);
        if (!entry || !this.#store.isIntroduced(target)) {
          throw new XsError("ENOENT", "domain not introduced");
        }
        entry.target = target;
        return OK;
      }
      case XS_RESET_WATCHES:
        this.#store.watches.removeAll(this);
        this.#txs.clear();
        return OK;
      case XS_CONTROL:
        return this.#control(msg);
      default:
        // XS_WATCH_EVENT and XS_ERROR only travel from the server; 20 was XS_RESTRICT
        throw new XsError("EINVAL", `message type ${msg.type} not accepted`);
    }
  }

  #directoryPart(msg: XsMessage, after: (() => void)[]): Uint8Array {
    const [raw, offStr] = args(msg, 2);
    const p = this.#path(raw);
    const offset = parseNum(offStr, 0x7fffffff);
    const layer = this.#layer(msg);
    const children = this.#op(msg, after, (env) => opDirectory(env, p));
    const gen = nulStrings(String(layer.get(p)?.gen ?? 0));
    const all = nulStrings(...children);
    if (offset > all.length) throw new XsError("EINVAL", "offset past the end");
    const room = XENSTORE_PAYLOAD_MAX - gen.length - 1;
    let end = offset;
    // take whole names only, as many as fit
    while (end < all.length) {
      const next = all.indexOf(0, end) + 1;
      if (next - offset > room) break;
      end = next;
    }
    const complete = end === all.length;
    const out = new Uint8Array(gen.length + (end - offset) + (complete ? 1 : 0));
    out.set(gen);
    out.set(all.subarray(offset, end), gen.length);
    return out;
  }

  #getPerms(msg: XsMessage, after: (() => void)[]): Perms {
    const p = this.#path(oneArg(msg), true);
    if (isSpecial(p)) {
      const perms = this.#store.specialPerms.get(p);
      if (!perms) throw new XsError("ENOENT", `${p}: no such special node`);
      return perms;
    }
    return this.#op(msg, after, (env) => opGetPerms(env, p));
  }

  #setPerms(msg: XsMessage, after: (() => void)[]): void {
    const { fields, rest } = splitFields(msg.payload);
    if (fields.length < 2 || rest.length > 0) throw new XsError("EINVAL", "SET_PERMS arguments");
    const p = this.#path(fromUtf8(fields[0]), true);
    const perms = parsePerms(fields.slice(1).map(fromUtf8));
    if (isSpecial(p)) {
      const old = this.#store.specialPerms.get(p);
      if (!old) throw new XsError("ENOENT", `${p}: no such special node`);
      this.#requirePrivilege("SET_PERMS on a special node");
      checkNewPerms(this.#store.env(this.accessor), old, perms);
      this.#store.specialPerms.set(p, perms);
      return;
    }
    this.#op(msg, after, (env) => opSetPerms(env, p, perms));
  }

  #watch(msg: XsMessage, after: (() => void)[]): Uint8Array {
    const [raw, token] = args(msg, 2);
    const p = this.#path(raw, true);
    const watches = this.#store.watches;
    if (!this.#privileged && watches.countFor(this) >= this.#store.quotas.watchesPerDomain) {
      throw new XsError("E2BIG", "watch quota exceeded");
    }
    watches.add(this, p, token, !raw.startsWith("/") && !isSpecial(raw));
    // xenstored fires every new watch once at once, with the path as given
    after.push(() => this.watchEvent(raw, token));
    return OK;
  }

  #transactionStart(msg: XsMessage): Uint8Array {
    if (msg.txId !== 0) throw new XsError("EBUSY", "TRANSACTION_START inside a transaction");
    if (!this.#privileged && this.#txs.size >= this.#store.quotas.transactionsPerConn) {
      throw new XsError("ENOSPC", "transaction quota exceeded");
    }
    const id = this.#store.nextTransactionId();
    const max = this.#privileged ? Infinity : this.#store.quotas.nodesPerTransaction;
    this.#txs.set(id, new Transaction(id, this.#store.live, max));
    return nulStrings(String(id));
  }

  #transactionEnd(msg: XsMessage, after: (() => void)[]): Uint8Array {
    const how = oneArg(msg);
    if (how !== "T" && how !== "F") throw new XsError("EINVAL", "TRANSACTION_END needs T or F");
    const tx = this.#txs.get(msg.txId);
    if (!tx) throw new XsError("ENOENT", `no transaction ${msg.txId}`);
    this.#txs.delete(msg.txId);
    if (how === "T") {
      const changes = tx.commit();
      if (changes.length > 0) after.push(() => this.#store.fire(changes));
    }
    return OK;
  }

  #control(msg: XsMessage): Uint8Array {
    this.#requirePrivilege("CONTROL");
    const { fields } = splitFields(msg.payload);
    const cmd = fields.length > 0 ? fromUtf8(fields[0]) : "";
    switch (cmd) {
      case "check":
      case "log":
      case "logfile":
      case "memreport":
        return OK;
      case "print":
        this.#store.log(`xenstore: ${fields.slice(1).map(fromUtf8).join(" ")}`);
        return OK;
      case "help":
        return utf8("check\nlog\nlogfile\nmemreport\nprint\nhelp\n\0");
      default:
        throw new XsError("EINVAL", `unknown control command "${cmd}"`);
    }
  }
}

/** The single nul-terminated string that must be the whole payload (xenstored's onearg). */
function oneArg(msg: XsMessage): string {
  const p = msg.payload;
  if (p.length === 0 || p.indexOf(0) !== p.length - 1) {
    throw new XsError("EINVAL", "expected one nul-terminated argument");
  }
  return fromUtf8(p.subarray(0, p.length - 1));
}

/** At least `n` nul-terminated strings (later reserved ones are ignored). */
function args(msg: XsMessage, n: number): string[] {
  const { fields } = splitFields(msg.payload);
  if (fields.length < n) throw new XsError("EINVAL", `expected ${n} arguments`);
  return fields.slice(0, n).map(fromUtf8);
}

/** A decimal number in 0..max. */
function parseNum(s: string, max: number): number {
  if (!/^[0-9]{1,10}$/.test(s)) throw new XsError("EINVAL", `bad number "${s}"`);
  const n = Number(s);
  if (n > max) throw new XsError("EINVAL", `number out of range "${s}"`);
  return n;
}

/** A real (non-zero, non-reserved) domain id. */
function realDomid(s: string): number {
  const d = parseNum(s, 0xffff);
  if (d === 0 || d >= DOMID_FIRST_RESERVED) throw new XsError("EINVAL", `bad domid "${s}"`);
  return d;
}
