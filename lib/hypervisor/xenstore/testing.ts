/**
 * Test builders for XenStore: a guest-side xenstore ring driver (what a PV kernel's
 * xenbus does with xenstore_domain_interface) over the fake device host, and a minimal
 * async socket client. For tests, benches and examples; not used by pvx itself.
 * @module
 */
import type { ByteConn } from "../../host_io.ts";
import { FakeDeviceHost, type FakeGuest } from "../backend/testing_host.ts";
import {
  XENSTORE_RING_SIZE,
  XenstoreRingBackend,
  XS_RING_REQ,
  XS_RING_REQ_CONS,
  XS_RING_REQ_PROD,
  XS_RING_RSP,
  XS_RING_RSP_CONS,
  XS_RING_RSP_PROD,
} from "./ring_backend.ts";
import { XenStore, type XenStoreOptions } from "./store.ts";
import { XsConnection } from "./connection.ts";
import { decodeMessages, encodeMessage, fromUtf8, splitFields, type XsMessage } from "./wire.ts";

/** A connection whose replies are collected in memory. */
export interface MemoryConnection {
  /** The connection. */
  conn: XsConnection;
  /** Messages sent to this client and not yet taken. */
  inbox: XsMessage[];
  /** Runs a request; returns (and removes) every message produced since. */
  call(type: number, payload: Uint8Array, txId?: number): XsMessage[];
}

/** A connection to `store` for `domid` that keeps its replies in memory. */
export function memoryConnection(
  store: XenStore,
  domid: number,
  privileged: boolean,
): MemoryConnection {
  const inbox: XsMessage[] = [];
  let pending = 0;
  const conn = new XsConnection(store, domid, privileged, {
    send(b) {
      pending += b.length;
      inbox.push(...decodeMessages(b).msgs);
    },
    pending: () => pending,
  });
  let nextReq = 1;
  return {
    conn,
    inbox,
    call(type, payload, txId = 0) {
      const reqId = nextReq++;
      conn.handle({ type, reqId, txId, payload });
      pending = 0;
      return inbox.splice(0);
    },
  };
}

/** The nul-terminated strings of a payload, decoded (the unterminated rest is dropped). */
export function payloadStrings(m: XsMessage): string[] {
  return splitFields(m.payload).fields.map(fromUtf8);
}

/** The guest's end of a xenstore ring page. */
export class GuestXenstoreRing {
  /** The ring page as the guest sees it. */
  readonly page: Uint8Array;
  readonly #dv: DataView;
  readonly #notify: () => void;
  #rx = new Uint8Array(0);
  #nextReq = 1;

  /**
   * Drives a ring page.
   * @param page the ring page
   * @param notify sends on the guest's event channel
   */
  constructor(page: Uint8Array, notify: () => void) {
    this.page = page;
    this.#dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
    this.#notify = notify;
  }

  /** A shared-page u32 field. */
  u32(off: number): number {
    return this.#dv.getUint32(off, true);
  }

  /** Sets a shared-page u32 field (hostile tests set anything). */
  setU32(off: number, v: number): void {
    this.#dv.setUint32(off, v >>> 0, true);
  }

  /**
   * Copies as much of `bytes` into req[] as fits and publishes it.
   * @returns bytes written (the rest must be sent later)
   */
  writeRaw(bytes: Uint8Array, notify = true): number {
    let prod = this.u32(XS_RING_REQ_PROD);
    const cons = this.u32(XS_RING_REQ_CONS);
    let space = XENSTORE_RING_SIZE - ((prod - cons) >>> 0);
    let done = 0;
    while (space > 0 && done < bytes.length) {
      const off = prod & (XENSTORE_RING_SIZE - 1);
      const n = Math.min(space, bytes.length - done, XENSTORE_RING_SIZE - off);
      this.page.set(bytes.subarray(done, done + n), XS_RING_REQ + off);
      done += n;
      prod = (prod + n) >>> 0;
      space -= n;
    }
    this.setU32(XS_RING_REQ_PROD, prod);
    if (notify && done > 0) this.#notify();
    return done;
  }

  /** Encodes and writes one request. @returns its req_id */
  send(type: number, payload: Uint8Array, txId = 0): number {
    const reqId = this.#nextReq++;
    const b = encodeMessage(type, reqId, txId, payload);
    const n = this.writeRaw(b);
    if (n !== b.length) throw new Error("xenstore request does not fit the ring now");
    return reqId;
  }

  /** Consumes rsp[] and returns the complete messages received so far. */
  receive(): XsMessage[] {
    let cons = this.u32(XS_RING_RSP_CONS);
    const prod = this.u32(XS_RING_RSP_PROD);
    const avail = (prod - cons) >>> 0;
    const got = new Uint8Array(this.#rx.length + avail);
    got.set(this.#rx);
    for (let i = 0; i < avail; i++) {
      got[this.#rx.length + i] = this.page[XS_RING_RSP + (cons & (XENSTORE_RING_SIZE - 1))];
      cons = (cons + 1) >>> 0;
    }
    this.setU32(XS_RING_RSP_CONS, cons);
    if (avail > 0) this.#notify();
    const { msgs, leftover } = decodeMessages(got);
    this.#rx = got.slice(got.length - leftover);
    return msgs;
  }
}

/** A fake host with a {@link XenStore}, one guest and its xenstore ring, wired up. */
export interface XenstoreRig {
  /** The fake host (its store is {@link store}). */
  host: FakeDeviceHost;
  /** The store. */
  store: XenStore;
  /** The guest domain. */
  guest: FakeGuest;
  /** The ring backend under test. */
  backend: XenstoreRingBackend;
  /** The guest's end of the ring. */
  ring: GuestXenstoreRing;
  /** Runs deferred work (event deliveries) until quiet. */
  run(): void;
  /** Sends a request, runs, and returns every message received since. */
  call(type: number, payload: Uint8Array, txId?: number): XsMessage[];
}

/**
 * Builds a {@link XenstoreRig} for domain `domid`.
 * @example
 * ```ts
 * const rig = makeXenstoreRig(1);
 * const [reply] = rig.call(XS_READ, nulStrings("name"));
 * ```
 */
export function makeXenstoreRig(domid = 1, opts: XenStoreOptions = {}): XenstoreRig {
  const store = new XenStore(opts);
  const host = new FakeDeviceHost(256, store);
  const guest = host.addGuest(domid);
  const mfn = guest.allocFrame();
  const port = guest.allocUnbound();
  store.mkdir(`/local/domain/${domid}`);
  store.setPerms(`/local/domain/${domid}`, [`n${domid}`]);
  const backend = new XenstoreRingBackend(host, store, domid, mfn, port);
  const ring = new GuestXenstoreRing(guest.frame(mfn), () => guest.notify(port));
  const run = () => {
    host.drain();
  };
  return {
    host,
    store,
    guest,
    backend,
    ring,
    run,
    call(type, payload, txId = 0) {
      ring.send(type, payload, txId);
      run();
      return ring.receive();
    },
  };
}

/** A minimal xenstore socket client (tests without Debian's binaries). */
export class XsSocketClient {
  readonly #conn: ByteConn;
  #rx = new Uint8Array(0);
  #queue: XsMessage[] = [];
  #nextReq = 1;

  /** @param conn a connection to the server (a unix socket: `Deno.connect({ transport: "unix", path })`) */
  constructor(conn: ByteConn) {
    this.#conn = conn;
  }

  /** Writes raw bytes. */
  async writeRaw(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) off += await this.#conn.write(b.subarray(off));
  }

  /** Sends one request. @returns its req_id */
  async send(type: number, payload: Uint8Array, txId = 0): Promise<number> {
    const id = this.#nextReq++;
    await this.writeRaw(encodeMessage(type, id, txId, payload));
    return id;
  }

  /** The next message (null when the server closed the connection). */
  async next(): Promise<XsMessage | null> {
    const buf = new Uint8Array(8192);
    while (this.#queue.length === 0) {
      const n = await this.#conn.read(buf);
      if (n === null) return null;
      const got = new Uint8Array(this.#rx.length + n);
      got.set(this.#rx);
      got.set(buf.subarray(0, n), this.#rx.length);
      const { msgs, leftover } = decodeMessages(got);
      this.#queue.push(...msgs);
      this.#rx = got.slice(got.length - leftover);
    }
    return this.#queue.shift()!;
  }

  /** Sends a request and returns the next message. */
  async call(type: number, payload: Uint8Array, txId = 0): Promise<XsMessage | null> {
    await this.send(type, payload, txId);
    return await this.next();
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
