/**
 * The real {@link DeviceHost}: pvx's backends act as dom0, with dom0's own event-channel
 * table and grant maptrack over the hypervisor's models; events for dom0 are delivered
 * by a 2-level scan (as a guest's upcall handler does) at slice boundaries.
 * @module
 */
import type { DeviceHost, DomId, EventPort, GrantMapping, StoreOps } from "./backend_api.ts";
import { EINVAL, ESRCH } from "../../abi/mod.ts";
import { PhysMemory } from "../../cpu/mod.ts";
import { PAGE_SIZE } from "../../abi/mod.ts";
import { NULL_TRACER, type Tracer } from "../trace/tracer.ts";
import { EventChannels, type EvtchnDirectory } from "../evtchn/channels.ts";
import { SharedInfoView } from "../evtchn/shared_info_view.ts";
import { type GnttabDirectory, GrantTable } from "../gnttab/table.ts";
import {
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_handle,
  GNTST_general_error,
  GNTST_okay,
  GNTTABOP_copy,
  GNTTABOP_unmap_grant_ref,
  TRC_PVX_GNTTAB_COPY,
} from "../../abi/mod.ts";
import { gnttabMapGrantRef, gnttabUnmapGrantRef, MapGrantResult } from "../gnttab/map.ts";
import { acquireGrantForCopy, releaseGrantForCopy } from "../gnttab/copy.ts";

/** dom0's id. */
const DOM0 = 0;
/** The host address dom0's grant maps are recorded at (the mapping is a JS view). */
const BACKEND_VIEW_ADDR = 1;

/** Construction options of {@link HypervisorDeviceHost}. */
export interface HypervisorDeviceHostOptions {
  /** Machine memory. */
  mem: PhysMemory;
  /** The store, as dom0 (the xenstore engineer's). */
  store: StoreOps;
  /** The guest domains' tables (it need not know dom0: lookups of 0 go to this host). */
  directory: EvtchnDirectory & GnttabDirectory;
  /** Owner domid of a machine frame, or -1 (checks mapForeignFrame). */
  frameOwner(mfn: number): number;
  /** Trace sink. */
  tracer?: Tracer;
  /** dom0's maptrack frame limit (256 handles each; default 1024). */
  maxMaptrackFrames?: number;
}

/** The backend's end of an interdomain channel. */
class DevicePort implements EventPort {
  readonly port: number;
  #host: HypervisorDeviceHost;
  closed = false;
  constructor(host: HypervisorDeviceHost, port: number) {
    this.#host = host;
    this.port = port;
  }
  notify(): void {
    if (!this.closed) this.#host.dom0Evtchn.send(this.port);
  }
}

/** DeviceHost over the evtchn/gnttab models, for the backends running as dom0. */
export class HypervisorDeviceHost implements DeviceHost {
  /** The store, as dom0. */
  readonly store: StoreOps;
  /** dom0's event channels (return it from the core's directory for domid 0). */
  readonly dom0Evtchn: EventChannels;
  /** dom0's grant table: its maptrack holds the backends' mappings. */
  readonly dom0Gnttab: GrantTable;
  /** Counters for tests and benches. */
  readonly stats = { mapped: 0, unmapped: 0, copies: 0, events: 0, deferred: 0 };
  readonly #mem: PhysMemory;
  readonly #dir: EvtchnDirectory & GnttabDirectory;
  readonly #frameOwner: (mfn: number) => number;
  readonly #dom0Shared: SharedInfoView;
  readonly #handlers = new Map<number, { port: DevicePort; onEvent: () => void }>();
  readonly #mapOut = new MapGrantResult();
  #tracer: Tracer;
  #deferred: (() => void)[] = [];
  #eventsPending = false;
  /**
   * Called when work is deferred from outside a slice (host I/O completing, host input):
   * the machine's owner sets it to wake an idle run loop.
   */
  onWork: () => void = () => {};

  /** @param o see {@link HypervisorDeviceHostOptions} */
  constructor(o: HypervisorDeviceHostOptions) {
    this.store = o.store;
    this.#mem = o.mem;
    this.#dir = o.directory;
    this.#frameOwner = o.frameOwner;
    this.#tracer = o.tracer ?? NULL_TRACER;
    // dom0 has no guest memory: its shared_info words live in a private frame.
    this.#dom0Shared = new SharedInfoView(new PhysMemory(1), 0, 1);
    const directory = {
      evtchn: (id: number) => (id === DOM0 ? this.dom0Evtchn : o.directory.evtchn(id)),
      gnttab: (id: number) => (id === DOM0 ? this.dom0Gnttab : o.directory.gnttab(id)),
    };
    this.dom0Evtchn = new EventChannels({
      domid: DOM0,
      shared: this.#dom0Shared,
      privileged: true,
      directory,
      tracer: this.#tracer,
      hooks: {
        kick: () => {
          this.#eventsPending = true;
        },
      },
    });
    // dom0's table has the one (empty) frame every Xen domain starts with, in a private
    // page: its entries grant nothing, so a guest naming them gets Xen's entry check.
    let dom0Frame = 0;
    this.dom0Gnttab = new GrantTable({
      domid: DOM0,
      mem: o.mem,
      tableMem: new PhysMemory(1),
      privileged: true,
      initialFrames: 1,
      maxMaptrackFrames: o.maxMaptrackFrames,
      directory,
      tracer: this.#tracer,
      hooks: {
        gfnToMfn: () => -1,
        allocFrame: () => dom0Frame--,
        // The backend's "host mapping" is the view mapGrant returns.
        hostMapper: { create: () => GNTST_okay, replace: () => GNTST_okay },
      },
    });
  }

  /** The tracer (setting it also retargets dom0's tables). */
  get tracer(): Tracer {
    return this.#tracer;
  }
  set tracer(t: Tracer) {
    this.#tracer = t;
    this.dom0Evtchn.tracer = t;
    this.dom0Gnttab.tracer = t;
  }

  /** Whether {@link runDeferred} has work (events for dom0 or deferred callbacks). */
  get hasPendingWork(): boolean {
    return this.#eventsPending || this.#deferred.length > 0;
  }

  // ---- GrantOps ----

  mapGrant(domid: DomId, gref: number, readonly: boolean): GrantMapping | number {
    const out = this.#mapOut;
    const flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0);
    const st = gnttabMapGrantRef(this.dom0Gnttab, domid, gref, flags, BACKEND_VIEW_ADDR, out);
    if (st !== GNTST_okay) return st;
    this.stats.mapped++;
    const base = out.mfn * PAGE_SIZE;
    return { page: this.#mem.u8.subarray(base, base + PAGE_SIZE), handle: out.handle, domid, gref };
  }

  unmapGrant(m: GrantMapping): number {
    const mt = this.dom0Gnttab.maptrack;
    // A stale mapping object must not unmap whoever reuses its handle now.
    if (!mt.live(m.handle) || mt.domid(m.handle) !== m.domid || mt.ref(m.handle) !== m.gref) {
      return this.dom0Gnttab.fail(GNTTABOP_unmap_grant_ref, m.handle, GNTST_bad_handle);
    }
    const st = gnttabUnmapGrantRef(this.dom0Gnttab, m.handle, BACKEND_VIEW_ADDR, 0);
    if (st === GNTST_okay) this.stats.unmapped++;
    return st;
  }

  copyFromGrant(domid: DomId, gref: number, offset: number, dst: Uint8Array): number {
    return this.#copy(domid, gref, offset, dst, false);
  }

  copyToGrant(domid: DomId, gref: number, offset: number, src: Uint8Array): number {
    return this.#copy(domid, gref, offset, src, true);
  }

  /** GNTTABOP_copy between a grant and backend memory (claim, then bounds, as Xen). */
  #copy(domid: DomId, gref: number, offset: number, buf: Uint8Array, toGuest: boolean): number {
    const rgt = this.#dir.gnttab(domid);
    let st: number;
    if (!rgt || domid === DOM0) {
      st = GNTST_bad_domain;
    } else {
      const mfn = acquireGrantForCopy(rgt, gref, DOM0, !toGuest);
      if (mfn < 0) {
        st = mfn;
      } else {
        const len = buf.length;
        if (toGuest && rgt.hooks.canWrite && !rgt.hooks.canWrite(mfn)) {
          st = GNTST_general_error;
        } else if (
          !Number.isInteger(offset) || offset < 0 || len > 0xffff || offset + len > PAGE_SIZE
        ) {
          st = GNTST_bad_copy_arg;
        } else if (
          offset < rgt.actStart[gref] || offset + len > rgt.actStart[gref] + rgt.actLength[gref]
        ) {
          st = GNTST_general_error; // outside a v2 sub-page grant's window
        } else {
          const a = mfn * PAGE_SIZE + offset;
          if (toGuest) this.#mem.write(a, buf);
          else buf.set(this.#mem.u8.subarray(a, a + len));
          st = GNTST_okay;
        }
        releaseGrantForCopy(rgt, gref, !toGuest);
      }
    }
    if (this.#tracer.on) {
      const s = toGuest ? DOM0 : domid, d = toGuest ? domid : DOM0;
      this.#tracer.rec(TRC_PVX_GNTTAB_COPY, 5, DOM0, s, d, buf.length, -st, 0);
    }
    if (st !== GNTST_okay) return this.dom0Gnttab.fail(GNTTABOP_copy, gref, st);
    this.stats.copies++;
    return GNTST_okay;
  }

  // ---- EventOps ----

  bindInterdomain(domid: DomId, remotePort: number, onEvent: () => void): EventPort | number {
    if (domid === DOM0) return -EINVAL; // a backend binds to guests, not to itself
    const port = this.dom0Evtchn.bindInterdomain(domid, remotePort);
    if (port < 0) return port;
    const p = new DevicePort(this, port);
    this.#handlers.set(port, { port: p, onEvent });
    return p;
  }

  close(p: EventPort): void {
    const h = this.#handlers.get(p.port);
    if (!h || h.port !== p) return; // unknown or stale port object
    h.port.closed = true;
    this.#handlers.delete(p.port);
    this.dom0Evtchn.close(p.port);
  }

  /**
   * Drops everything dom0 holds on a domain being destroyed or rebooted: its grant
   * mappings (their views must no longer be used) and the backend ports bound to it
   * (their `onEvent` will not run again). Backends learn of the teardown from the store.
   * @returns how many mappings and ports were dropped
   */
  forgetDomain(domid: DomId): number {
    let n = 0;
    const mt = this.dom0Gnttab.maptrack;
    for (let h = 0; h < mt.highWater; h++) {
      if (mt.live(h) && mt.domid(h) === domid) {
        gnttabUnmapGrantRef(this.dom0Gnttab, h, BACKEND_VIEW_ADDR, 0);
        n++;
      }
    }
    for (const [port, h] of [...this.#handlers]) {
      if (this.dom0Evtchn.remoteDom(port) === domid) {
        this.close(h.port);
        n++;
      }
    }
    return n;
  }

  // ---- foreign frames, deferral ----

  mapForeignFrame(domid: DomId, mfn: number): Uint8Array | number {
    if (domid === DOM0 || !this.#dir.evtchn(domid)) return -ESRCH;
    if (!Number.isInteger(mfn) || mfn < 0 || mfn >= this.#mem.frames) return -EINVAL;
    if (this.#frameOwner(mfn) !== domid) return -EINVAL;
    return this.#mem.u8.subarray(mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
  }

  defer(fn: () => void): void {
    this.#deferred.push(fn);
    this.onWork();
  }

  /**
   * Runs, at a slice boundary, dom0's pending events (each bound port's `onEvent`, once
   * per pending bit) and the deferred callbacks, repeating while either produces more,
   * up to `limit` callbacks (the rest waits for the next boundary).
   * @returns how many callbacks ran
   */
  runDeferred(limit = 100_000): number {
    let n = 0;
    while (n < limit && this.hasPendingWork) {
      n += this.#deliverEvents(limit - n);
      if (this.#deferred.length > 0 && n < limit) {
        const batch = this.#deferred;
        this.#deferred = [];
        let i = 0;
        for (; i < batch.length && n < limit; i++, n++) batch[i]();
        this.stats.deferred += i;
        if (i < batch.length) this.#deferred = batch.slice(i).concat(this.#deferred);
      }
    }
    return n;
  }

  /** dom0's upcall: clear upcall_pending, take the selector, scan pending & ~mask. */
  #deliverEvents(limit: number): number {
    if (!this.#eventsPending) return 0;
    this.#eventsPending = false;
    const si = this.#dom0Shared;
    si.setUpcallPending(0, 0);
    let sel = si.takePendingSel(0);
    let n = 0;
    while (sel !== 0) {
      const w = 31 - Math.clz32(sel & -sel);
      sel &= sel - 1;
      let bits = (si.pendingWord(w) & ~si.maskWord(w)) >>> 0;
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const port = w * 32 + b;
        if (n >= limit) {
          // Out of budget: leave the rest pending and re-raise for the next boundary.
          si.testAndSetPendingSel(0, w);
          for (; sel !== 0; sel &= sel - 1) si.testAndSetPendingSel(0, 31 - Math.clz32(sel & -sel));
          si.setUpcallPending(0, 1);
          this.#eventsPending = true;
          return n;
        }
        si.testAndClearPending(port);
        const h = this.#handlers.get(port);
        if (h) {
          n++;
          this.stats.events++;
          h.onEvent();
        }
      }
    }
    return n;
  }
}
