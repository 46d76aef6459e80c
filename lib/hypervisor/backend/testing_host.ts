/**
 * An in-memory {@link DeviceHost} with a scriptable "guest side", for testing, benchmarking
 * and replaying backends without a CPU: guests allocate frames, grant them to dom0 in
 * real `grant_entry_v1` form, open unbound event channels and notify. Unallocated frames
 * hold a canary so tests can prove a backend never touched memory it was not granted.
 * @module
 */
import type { DeviceHost, DomId, EventPort, GrantMapping, StoreOps } from "./backend_api.ts";
import { PhysMemory } from "../../cpu/mod.ts";
import { PAGE_SIZE } from "../../abi/mod.ts";
import {
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
} from "../../abi/mod.ts";

/** GNTST_* status codes of grant_table.h (lib/abi/grant_table.ts). */
export {
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
};

const GTF_permit_access = 1;
const GTF_readonly = 1 << 2;
const GTF_reading = 1 << 3;
const GTF_writing = 1 << 4;

/** The byte every unallocated frame is filled with. */
export const CANARY = 0xa5;

const EINVAL = -22;
const ESRCH = -3;

/** A simple in-memory store (dom0's view): nodes, and watches with an initial fire. */
export class MemStore implements StoreOps {
  /** The nodes, by path. */
  readonly nodes: Map<string, string> = new Map();
  #watches: { path: string; cb: (p: string) => void }[] = [];

  read(path: string): string | undefined {
    return this.nodes.get(path);
  }
  write(path: string, value: string): void {
    const parts = path.split("/").filter((s) => s !== "");
    for (let i = 1; i < parts.length; i++) {
      const p = "/" + parts.slice(0, i).join("/");
      if (!this.nodes.has(p)) this.nodes.set(p, "");
    }
    this.nodes.set(path, value);
    this.#fire(path);
  }
  rm(path: string): void {
    let removed = false;
    for (const k of [...this.nodes.keys()]) {
      if (k === path || k.startsWith(path + "/")) {
        this.nodes.delete(k);
        removed = true;
      }
    }
    if (removed) this.#fire(path);
  }
  directory(path: string): string[] | undefined {
    if (!this.nodes.has(path) && path !== "/") return undefined;
    const prefix = path === "/" ? "/" : path + "/";
    const out = new Set<string>();
    for (const k of this.nodes.keys()) {
      if (k.startsWith(prefix)) out.add(k.slice(prefix.length).split("/")[0]);
    }
    return [...out];
  }
  watch(path: string, onChange: (changedPath: string) => void): () => void {
    const w = { path, cb: onChange };
    this.#watches.push(w);
    onChange(path);
    return () => {
      this.#watches = this.#watches.filter((x) => x !== w);
    };
  }
  #fire(changed: string): void {
    for (const w of [...this.#watches]) {
      if (
        changed === w.path || changed.startsWith(w.path + "/") || w.path.startsWith(changed + "/")
      ) {
        w.cb(changed);
      }
    }
  }
}

/** A guest's event-channel port. */
export interface GuestPort {
  remoteDom: DomId;
  bound: boolean;
  onEvent: () => void;
  backendPort: number;
}

/** The guest side of a fake domain: frames, grants, event channels. */
export class FakeGuest {
  readonly domid: DomId;
  readonly #host: FakeDeviceHost;
  /** The guest's grant table (grant_entry_v1: flags u16, domid u16, frame u32). */
  readonly grantTable: DataView;
  readonly #gtBytes: Uint8Array;
  readonly maxGrants: number;
  /** Guest ports by number. */
  readonly ports: Map<number, GuestPort> = new Map();
  #nextPort = 1;
  #nextGref = 8; // refs 0..7 are reserved, as Linux reserves them

  constructor(host: FakeDeviceHost, domid: DomId, grantFrames: number) {
    this.#host = host;
    this.domid = domid;
    this.maxGrants = (grantFrames * PAGE_SIZE) / 8;
    this.#gtBytes = new Uint8Array(grantFrames * PAGE_SIZE);
    this.grantTable = new DataView(this.#gtBytes.buffer);
  }

  /** Allocates one frame owned by this guest (zeroed). @returns its mfn */
  allocFrame(): number {
    return this.#host.allocFrame(this.domid);
  }

  /** A live view of one of this guest's frames. */
  frame(mfn: number): Uint8Array {
    return this.#host.mem.u8.subarray(mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
  }

  /**
   * Grants `mfn` to `toDom` (GTF_permit_access, optionally GTF_readonly).
   * @returns the grant reference
   */
  grant(mfn: number, readonly = false, toDom: DomId = 0): number {
    const gref = this.#nextGref++;
    if (gref >= this.maxGrants) throw new Error("grant table full");
    this.setGrant(gref, mfn, readonly, toDom);
    return gref;
  }

  /** Writes grant entry `gref` directly (hostile tests may write anything). */
  setGrant(gref: number, mfn: number, readonly = false, toDom: DomId = 0): void {
    const off = gref * 8;
    this.grantTable.setUint16(off + 2, toDom, true);
    this.grantTable.setUint32(off + 4, mfn, true);
    this.grantTable.setUint16(off, GTF_permit_access | (readonly ? GTF_readonly : 0), true);
  }

  /** Ends access to `gref` (clears the entry). @returns false while the grant is in use */
  endGrant(gref: number): boolean {
    const flags = this.grantTable.getUint16(gref * 8, true);
    if (flags & (GTF_reading | GTF_writing)) return false;
    this.grantTable.setUint16(gref * 8, 0, true);
    return true;
  }

  /** Grant-entry flags of `gref` (to check the in-use bits). */
  grantFlags(gref: number): number {
    return this.grantTable.getUint16(gref * 8, true);
  }

  /** EVTCHNOP_alloc_unbound for remote `remoteDom`. @returns the guest's port */
  allocUnbound(onEvent: () => void = () => {}, remoteDom: DomId = 0): number {
    const port = this.#nextPort++;
    this.ports.set(port, { remoteDom, bound: false, onEvent, backendPort: 0 });
    return port;
  }

  /** EVTCHNOP_send from the guest on `port`: the backend's handler runs at the next drain. */
  notify(port: number): void {
    const p = this.ports.get(port);
    if (!p || !p.bound) return;
    this.#host.notifyBackend(p.backendPort);
  }
}

interface BackendPortState {
  domid: DomId;
  guestPort: number;
  onEvent: () => void;
  open: boolean;
}

/** The fake host: machine memory, guests, dom0's grant maps and ports, a defer queue. */
export class FakeDeviceHost implements DeviceHost {
  readonly mem: PhysMemory;
  readonly store: StoreOps;
  readonly guests: Map<DomId, FakeGuest> = new Map();
  /** Frame owner (-1 = free). */
  readonly owner: Int32Array;
  #nextFrame = 1;
  #deferred: (() => void)[] = [];
  #backendPorts = new Map<number, BackendPortState>();
  #nextBackendPort = 1;
  #maps = new Map<number, { domid: DomId; gref: number; readonly: boolean }>();
  #nextHandle = 1;
  /** Counters for tests and benches. */
  readonly stats: { mapped: number; unmapped: number; copies: number; notifies: number } = {
    mapped: 0,
    unmapped: 0,
    copies: 0,
    notifies: 0,
  };

  /**
   * @param frames machine frames available (all filled with the canary)
   * @param store the store (a {@link MemStore} by default)
   */
  constructor(frames = 1024, store: StoreOps = new MemStore()) {
    this.mem = new PhysMemory(frames);
    this.mem.u8.fill(CANARY);
    this.owner = new Int32Array(frames).fill(-1);
    this.store = store;
  }

  /** Creates a guest domain with `grantFrames` grant-table frames. */
  addGuest(domid: DomId, grantFrames = 4): FakeGuest {
    const g = new FakeGuest(this, domid, grantFrames);
    this.guests.set(domid, g);
    return g;
  }

  /** Allocates a zeroed frame for `domid` (frames are handed out with a stride, not 0..n). */
  allocFrame(domid: DomId): number {
    const stride = this.mem.frames % 7 === 0 ? 11 : 7; // coprime with the frame count
    for (let tries = 0; tries < this.mem.frames; tries++) {
      const mfn = (this.#nextFrame++ * stride) % this.mem.frames;
      if (mfn !== 0 && this.owner[mfn] === -1) {
        this.owner[mfn] = domid;
        this.mem.u8.fill(0, mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
        return mfn;
      }
    }
    throw new Error("out of machine frames");
  }

  /** True when every unallocated frame still holds the canary. */
  canariesIntact(): boolean {
    const u8 = this.mem.u8;
    for (let f = 0; f < this.mem.frames; f++) {
      if (this.owner[f] !== -1) continue;
      for (let i = f * PAGE_SIZE, e = i + PAGE_SIZE; i < e; i++) if (u8[i] !== CANARY) return false;
    }
    return true;
  }

  #checkGrant(domid: DomId, gref: number, write: boolean): number {
    const g = this.guests.get(domid);
    if (!g) return GNTST_bad_domain;
    if (!Number.isInteger(gref) || gref < 0 || gref >= g.maxGrants) return GNTST_bad_gntref;
    const off = gref * 8;
    const flags = g.grantTable.getUint16(off, true);
    if ((flags & 3) !== GTF_permit_access) return GNTST_bad_gntref;
    if (g.grantTable.getUint16(off + 2, true) !== 0) return GNTST_permission_denied;
    if (write && (flags & GTF_readonly)) return GNTST_permission_denied;
    const mfn = g.grantTable.getUint32(off + 4, true);
    if (mfn >= this.mem.frames || this.owner[mfn] !== domid) return GNTST_general_error;
    return mfn;
  }

  mapGrant(domid: DomId, gref: number, readonly: boolean): GrantMapping | number {
    const mfn = this.#checkGrant(domid, gref, !readonly);
    if (mfn < 0) return mfn;
    const g = this.guests.get(domid)!;
    const off = gref * 8;
    g.grantTable.setUint16(
      off,
      g.grantTable.getUint16(off, true) | GTF_reading | (readonly ? 0 : GTF_writing),
      true,
    );
    const handle = this.#nextHandle++;
    this.#maps.set(handle, { domid, gref, readonly });
    this.stats.mapped++;
    return {
      handle,
      domid,
      gref,
      page: this.mem.u8.subarray(mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE),
    };
  }

  unmapGrant(m: GrantMapping): number {
    const rec = this.#maps.get(m.handle);
    if (!rec) return GNTST_bad_handle;
    this.#maps.delete(m.handle);
    const stillMapped = [...this.#maps.values()].filter((r) =>
      r.domid === rec.domid && r.gref === rec.gref
    );
    const g = this.guests.get(rec.domid);
    if (g) {
      const off = rec.gref * 8;
      let flags = g.grantTable.getUint16(off, true);
      if (stillMapped.length === 0) flags &= ~GTF_reading;
      if (!stillMapped.some((r) => !r.readonly)) flags &= ~GTF_writing;
      g.grantTable.setUint16(off, flags, true);
    }
    this.stats.unmapped++;
    return GNTST_okay;
  }

  copyFromGrant(domid: DomId, gref: number, offset: number, dst: Uint8Array): number {
    if (!(offset >= 0 && offset + dst.length <= PAGE_SIZE)) return GNTST_bad_copy_arg;
    const mfn = this.#checkGrant(domid, gref, false);
    if (mfn < 0) return mfn;
    const base = mfn * PAGE_SIZE + offset;
    dst.set(this.mem.u8.subarray(base, base + dst.length));
    this.stats.copies++;
    return GNTST_okay;
  }

  copyToGrant(domid: DomId, gref: number, offset: number, src: Uint8Array): number {
    if (!(offset >= 0 && offset + src.length <= PAGE_SIZE)) return GNTST_bad_copy_arg;
    const mfn = this.#checkGrant(domid, gref, true);
    if (mfn < 0) return mfn;
    this.mem.write(mfn * PAGE_SIZE + offset, src);
    this.stats.copies++;
    return GNTST_okay;
  }

  bindInterdomain(domid: DomId, remotePort: number, onEvent: () => void): EventPort | number {
    const g = this.guests.get(domid);
    if (!g) return ESRCH;
    const gp = g.ports.get(remotePort);
    if (!gp || gp.bound || gp.remoteDom !== 0) return EINVAL;
    const port = this.#nextBackendPort++;
    gp.bound = true;
    gp.backendPort = port;
    this.#backendPorts.set(port, { domid, guestPort: remotePort, onEvent, open: true });
    return {
      port,
      notify: () => {
        const st = this.#backendPorts.get(port);
        if (!st?.open) return;
        this.stats.notifies++;
        const target = this.guests.get(st.domid)?.ports.get(st.guestPort);
        if (target) this.defer(target.onEvent);
      },
    };
  }

  close(p: EventPort): void {
    const st = this.#backendPorts.get(p.port);
    if (!st) return;
    st.open = false;
    this.#backendPorts.delete(p.port);
    const gp = this.guests.get(st.domid)?.ports.get(st.guestPort);
    if (gp) gp.bound = false;
  }

  /** Called by {@link FakeGuest.notify}. */
  notifyBackend(port: number): void {
    const st = this.#backendPorts.get(port);
    if (st?.open) this.defer(st.onEvent);
  }

  mapForeignFrame(domid: DomId, mfn: number): Uint8Array | number {
    if (!this.guests.has(domid)) return ESRCH;
    if (!Number.isInteger(mfn) || mfn < 0 || mfn >= this.mem.frames || this.owner[mfn] !== domid) {
      return EINVAL;
    }
    return this.mem.u8.subarray(mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
  }

  defer(fn: () => void): void {
    this.#deferred.push(fn);
  }

  /** Runs deferred callbacks until none remain (bounded). @returns how many ran */
  drain(limit = 1_000_000): number {
    let n = 0;
    while (this.#deferred.length > 0 && n < limit) {
      const batch = this.#deferred;
      this.#deferred = [];
      for (const fn of batch) {
        fn();
        n++;
      }
    }
    return n;
  }

  /**
   * Drains, then lets host I/O complete (awaits macrotasks), until quiet for `quietRounds`
   * consecutive rounds or `maxRounds` pass.
   */
  async runUntilIdle(maxRounds = 10_000, quietRounds = 3): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < maxRounds && quiet < quietRounds; i++) {
      quiet = this.drain() === 0 ? quiet + 1 : 0;
      await new Promise((r) => setTimeout(r, 0));
    }
  }
}
