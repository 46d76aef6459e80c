/**
 * A blkback + TS blkfront pair over the hypervisor's own grant tables and event channels
 * (HypervisorDeviceHost on TestWorld's gnttab/evtchn models), with a pump that runs
 * dom0's deferred work and the guest's upcall at each "slice boundary".
 * @module
 */
import { setImmediate } from "node:timers";
import { Blkback, type BlkbackOptions } from "../../lib/blkfront/backend.ts";
import type { DiskImage } from "../../lib/blkfront/disk_image.ts";
import { Blkfront, type BlkfrontGuest, type BlkfrontOptions } from "../../lib/blkfront/frontend.ts";
import { writeVbdLayout } from "../../lib/blkfront/xenbus.ts";
import { HypervisorDeviceHost } from "../../lib/hypervisor/backend/device_host.ts";
import { DOMID_SELF } from "../../lib/hypervisor/evtchn/mod.ts";
import { type TestDomain, TestWorld } from "../../lib/hypervisor/gnttab/testing.ts";
import { MemStore } from "../../lib/hypervisor/backend/testing_host.ts";

/** The byte unallocated frames hold. */
export const WORLD_CANARY = 0xa5;

/** The guest side over a TestWorld domain; events are polled from its shared_info. */
export class WorldGuest implements BlkfrontGuest {
  readonly domid: number;
  readonly handlers = new Map<number, () => void>();
  nextRef = 8;
  constructor(readonly w: TestWorld, readonly d: TestDomain) {
    this.domid = d.domid;
  }
  allocFrame(): number {
    return this.w.allocFrame(this.domid);
  }
  frame(mfn: number): Uint8Array {
    return this.w.frame(mfn);
  }
  grant(mfn: number, readonly = false, toDom = 0): number {
    const ref = this.nextRef++;
    // As a guest does with GNTTABOP_setup_table: grow the table to hold the ref.
    const need = Math.floor(ref / 512) + 1;
    if (this.d.gnttab.nrFrames < need && this.d.gnttab.growTo(need) < 0) {
      throw new Error(`grant table cannot hold ref ${ref}`);
    }
    this.w.grant(this.domid, ref, mfn, toDom, readonly);
    return ref;
  }
  endGrant(gref: number): boolean {
    this.w.setEntry(this.domid, gref, 0, 0, 0);
    return true;
  }
  allocUnbound(onEvent: () => void): number {
    const port = this.d.evtchn.allocUnbound(DOMID_SELF, 0);
    this.handlers.set(port, onEvent);
    return port;
  }
  notify(port: number): void {
    this.d.evtchn.send(port);
  }
  /** The guest's upcall: runs the handler of every pending port. */
  upcall(): number {
    let n = 0;
    for (const [port, fn] of this.handlers) {
      if (this.d.evtchn.shared.testAndClearPending(port)) {
        fn();
        n++;
      }
    }
    return n;
  }
}

/** A connected pair over the hypervisor models. */
export interface WorldRig {
  world: TestWorld;
  host: HypervisorDeviceHost;
  guest: WorldGuest;
  store: MemStore;
  backend: Blkback;
  frontend: Blkfront;
  /** True when every frame no domain owns still holds {@link WORLD_CANARY}. */
  canariesIntact(): boolean;
  /** Stops the background pump. */
  stop(): void;
}

/**
 * Builds the pair (domain 1, xvda) and starts a background pump (setImmediate loop).
 */
export async function makeWorldRig(
  image: DiskImage,
  opts: {
    frames?: number;
    frontend?: Partial<BlkfrontOptions>;
    backend?: Partial<BlkbackOptions>;
  } = {},
): Promise<WorldRig> {
  const world = new TestWorld(opts.frames ?? 4096);
  world.mem.u8.fill(WORLD_CANARY);
  const store = new MemStore();
  const host = new HypervisorDeviceHost({
    mem: world.mem,
    store,
    directory: {
      evtchn: (id) => world.domains.get(id)?.evtchn,
      gnttab: (id) => world.domains.get(id)?.gnttab,
    },
    frameOwner: (mfn) => world.ownerOf(mfn),
  });
  world.domains.set(0, {
    domid: 0,
    evtchn: host.dom0Evtchn,
    gnttab: host.dom0Gnttab,
    sharedMfn: -1,
  });
  const guest = new WorldGuest(world, world.addDomain(1, { maxGrantFrames: 16 }));
  writeVbdLayout(store, { domid: 1, devid: 51712, vdev: "xvda", params: "m", readonly: false });
  const backend = new Blkback(host, { domid: 1, devid: 51712, image, ...opts.backend });
  const frontend = new Blkfront(guest, store, { devid: 51712, ...opts.frontend });
  let running = true;
  (async () => {
    while (running) {
      host.runDeferred();
      guest.upcall();
      await new Promise((r) => setImmediate(r));
    }
  })();
  await frontend.connect();
  return {
    world,
    host,
    guest,
    store,
    backend,
    frontend,
    canariesIntact() {
      const u8 = world.mem.u8;
      for (let f = 0; f < world.mem.frames; f++) {
        if (world.owner[f] !== -1) continue;
        for (let i = f * 4096, e = i + 4096; i < e; i++) if (u8[i] !== WORLD_CANARY) return false;
      }
      return true;
    },
    stop() {
      running = false;
    },
  };
}
