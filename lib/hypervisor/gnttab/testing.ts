/**
 * A small machine for testing the event-channel and grant-table models without a CPU:
 * machine memory with frame ownership, domains with both tables and a shared_info
 * page, recorded upcall kicks, and helpers that write grant entries as a guest does.
 * @module
 */
import { PhysMemory } from "../../cpu/mod.ts";
import { PAGE_SIZE } from "../../abi/mod.ts";
import { EventChannels } from "../evtchn/channels.ts";
import { SharedInfoView } from "../evtchn/shared_info_view.ts";
import { GTF_permit_access, GTF_readonly, GTF_sub_page, GTF_transitive } from "../../abi/mod.ts";
import { type GrantHostMapper, GrantTable } from "./table.ts";

/** One domain of a {@link TestWorld}. */
export interface TestDomain {
  /** Its id. */
  readonly domid: number;
  /** Its event channels. */
  readonly evtchn: EventChannels;
  /** Its grant table. */
  readonly gnttab: GrantTable;
  /** Its shared_info frame. */
  readonly sharedMfn: number;
}

/** Options of {@link TestWorld.addDomain}. */
export interface TestDomainOptions {
  /** Number of vcpus (default 1). */
  vcpus?: number;
  /** Control domain (default false). */
  privileged?: boolean;
  /** Grant frame limit (default 4). */
  maxGrantFrames?: number;
  /** Maptrack frame limit (default 1). */
  maxMaptrackFrames?: number;
  /** A host mapper for GNTMAP_host_map. */
  hostMapper?: GrantHostMapper;
}

/** Machine memory, frame ownership and a set of domains. */
export class TestWorld {
  /** Machine memory. */
  readonly mem: PhysMemory;
  /** Owner domid per frame (-1 = free). */
  readonly owner: Int32Array;
  /** Domains by id. */
  readonly domains = new Map<number, TestDomain>();
  /** Upcall kicks as "domid:vcpu" strings, in order. */
  readonly kicks: string[] = [];
  /** Frames that may not be written through grants (page tables, say). */
  readonly readOnlyFrames = new Set<number>();
  /** Table frames the guest still maps (a status frame in use: set_version -EBUSY). */
  readonly busyFrames = new Set<number>();
  #next = 1;

  /** @param frames machine frames */
  constructor(frames = 512) {
    this.mem = new PhysMemory(frames);
    this.owner = new Int32Array(frames).fill(-1);
  }

  /** Allocates a zeroed frame for `domid` (a stride walk, never identity order). */
  allocFrame(domid: number): number {
    for (let tries = 0; tries < this.mem.frames; tries++) {
      const mfn = this.#next;
      this.#next = (this.#next + 37) % this.mem.frames || 1;
      if (this.owner[mfn] === -1) {
        this.owner[mfn] = domid;
        this.mem.u8.fill(0, mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
        return mfn;
      }
    }
    return -1;
  }

  /** Owner of a frame, or -1. */
  ownerOf(mfn: number): number {
    return mfn >= 0 && mfn < this.owner.length ? this.owner[mfn] : -1;
  }

  /** Creates a domain with both tables. */
  addDomain(domid: number, o: TestDomainOptions = {}): TestDomain {
    const sharedMfn = this.allocFrame(domid);
    const shared = new SharedInfoView(this.mem, sharedMfn, o.vcpus ?? 1);
    const evtchn = new EventChannels({
      domid,
      shared,
      privileged: o.privileged,
      hooks: { kick: (v) => this.kicks.push(`${domid}:${v}`) },
      directory: { evtchn: (id) => this.domains.get(id)?.evtchn },
    });
    const gnttab = new GrantTable({
      domid,
      mem: this.mem,
      privileged: o.privileged,
      maxFrames: o.maxGrantFrames ?? 4,
      maxMaptrackFrames: o.maxMaptrackFrames ?? 1,
      directory: { gnttab: (id) => this.domains.get(id)?.gnttab },
      hooks: {
        gfnToMfn: (gfn) => (this.ownerOf(gfn) === domid ? gfn : -1),
        canWrite: (mfn) => !this.readOnlyFrames.has(mfn),
        allocFrame: () => this.allocFrame(domid),
        frameBusy: (mfn) => this.busyFrames.has(mfn),
        freeFrame: (mfn) => {
          if (this.owner[mfn] === domid) this.owner[mfn] = -1;
        },
        hostMapper: o.hostMapper,
      },
    });
    const d = { domid, evtchn, gnttab, sharedMfn };
    this.domains.set(domid, d);
    return d;
  }

  /** Writes grant entry `ref` of `domid` as a guest does (domid, frame, then flags). */
  grant(domid: number, ref: number, mfn: number, toDom: number, readonly = false): void {
    const t = this.domains.get(domid)!.gnttab;
    const a = t.entryMaddr(ref);
    this.mem.dv.setUint16(a + 2, toDom, true);
    this.mem.dv.setUint32(a + 4, mfn, true);
    this.mem.dv.setUint16(a, GTF_permit_access | (readonly ? GTF_readonly : 0), true);
  }

  /** Writes raw entry fields (hostile tests). */
  setEntry(domid: number, ref: number, flags: number, toDom: number, frame: number): void {
    const t = this.domains.get(domid)!.gnttab;
    const a = t.entryMaddr(ref);
    this.mem.dv.setUint16(a, flags, true);
    this.mem.dv.setUint16(a + 2, toDom, true);
    this.mem.dv.setUint32(a + 4, frame, true);
  }

  /**
   * Writes v2 entry `ref` of `domid` as a guest does: a full-page grant of `frame`, or
   * with `sub` a sub-page one, or with `trans` a transitive one (flags last).
   */
  grantV2(
    domid: number,
    ref: number,
    frame: number,
    toDom: number,
    o: { readonly?: boolean; sub?: [number, number]; trans?: [number, number] } = {},
  ): void {
    const t = this.domains.get(domid)!.gnttab;
    const a = t.entryMaddr(ref), dv = this.mem.dv;
    dv.setUint16(a + 2, toDom, true);
    let flags = GTF_permit_access;
    if (o.trans) {
      flags = GTF_transitive;
      dv.setUint16(a + 4, o.trans[0], true);
      dv.setUint32(a + 8, o.trans[1], true);
    } else {
      if (o.sub) {
        flags |= GTF_sub_page;
        dv.setUint16(a + 4, o.sub[0], true);
        dv.setUint16(a + 6, o.sub[1], true);
      }
      dv.setUint32(a + 8, frame % 2 ** 32, true);
      dv.setUint32(a + 12, Math.floor(frame / 2 ** 32), true);
    }
    dv.setUint16(a, flags | (o.readonly ? GTF_readonly : 0), true);
  }

  /** A live view of a frame. */
  frame(mfn: number): Uint8Array {
    return this.mem.u8.subarray(mfn * PAGE_SIZE, (mfn + 1) * PAGE_SIZE);
  }
}
