/**
 * A PV domain (Xen's struct domain): its pseudo-physical memory (a P2M over machine
 * frames from lib/paging), shared_info page, vcpus, vm_assist bits and shutdown state.
 * @module
 */
import type { Host } from "../machine/host.ts";
import { Vcpu } from "./vcpu.ts";
import { VCPU_INFO_SIZE, VI_UPCALL_MASK } from "../../abi/mod.ts";
import { XEN_LEGACY_MAX_VCPUS } from "../../abi/mod.ts";
import type { P2m } from "../../paging/mod.ts";
import { PagingDomain } from "../../paging/mod.ts";
import { INVALID_MFN } from "../../paging/mod.ts";
import type { EventChannels } from "../evtchn/channels.ts";
import type { GrantTable } from "../gnttab/table.ts";
import { asGfn, asMfn } from "../../abi/mod.ts";

/** One PV guest. */
export class Domain {
  /** Domain id. */
  readonly domid: number;
  /** The host it lives on. */
  readonly host: Host;
  /** Most pages it may own (XENMEM_maximum_reservation). */
  maxPages: number;
  /** Its paging context (P2M, base pointers, walkers, pending flushes) in lib/paging. */
  readonly mm: PagingDomain;
  /** Pseudo-physical to machine (the paging context's). */
  readonly p2m: P2m;
  /** Machine frame of shared_info (a Xen page shared with the guest). */
  sharedInfoMfn = -1;
  /** vcpus. */
  readonly vcpus: Vcpu[] = [];
  /** VMASST_TYPE_* bits enabled. */
  vmAssist = 0;
  /** SHUTDOWN_* once shut down, else -1. */
  shutdownReason = -1;
  /** The code set by SCHEDOP_shutdown_code, or -1. */
  shutdownCode = -1;
  /** Its event channels (set up by the machine after the domain exists). */
  evtchn: EventChannels | null = null;
  /** Its grant table (set up by the machine). */
  gnttab: GrantTable | null = null;
  /** Why the domain crashed (for the dump), when it did. */
  crashReason = "";
  /** Watchdog deadlines (system-time ns, -1 = free), NR_DOMAIN_WATCHDOG_TIMERS of them. */
  readonly watchdogNs: number[] = [-1, -1];
  /** Whether this domain is privileged (dom0): pvx guests never are. */
  readonly privileged = false;

  /**
   * @param host the host
   * @param domid its id
   * @param maxPages its memory limit in pages
   * @param nrVcpus vcpus (1 by default)
   * @param translated translated paging (XENFEAT_auto_translated_physmap)
   * @param pv64 a 64-bit PV domain (4-level tables under Xen's 64-bit rules)
   */
  constructor(
    host: Host,
    domid: number,
    maxPages: number,
    nrVcpus = 1,
    translated = false,
    pv64 = false,
  ) {
    this.host = host;
    this.domid = domid;
    this.maxPages = maxPages;
    nrVcpus = Math.max(1, Math.min(nrVcpus, XEN_LEGACY_MAX_VCPUS));
    this.mm = new PagingDomain(host.frames, domid, {
      vcpus: nrVcpus,
      maxPfns: maxPages,
      translated,
      pv64,
    });
    this.p2m = this.mm.p2m;
    for (let i = 0; i < nrVcpus; i++) {
      this.vcpus.push(new Vcpu(this, i));
    }
    host.domains.set(domid, this);
  }

  /**
   * Xen pages shared with the domain (shared_info, grant-table frames): owned by it so
   * it may map them, but never counted in tot_pages nor given back by the guest.
   */
  readonly xenShared: Set<number> = new Set();

  /** Pages it owns now (tot_pages). */
  get totPages(): number {
    return this.host.frames.domainPages(this.domid) - this.xenShared.size;
  }

  /** The shared_info page as a DataView. */
  sharedInfo(): DataView {
    return new DataView(this.host.mem.buffer, this.sharedInfoMfn * 4096, 4096);
  }

  /**
   * Allocates the shared_info frame (all upcall masks set, as the builder leaves them).
   * It is owned by DOMID_XEN and shared, so it does not count in tot_pages.
   * @returns false when memory is exhausted
   */
  allocSharedInfo(): boolean {
    const f = this.host.frames;
    const mfn = f.allocDomainFrame(this.domid);
    if (mfn < 0) return false;
    this.sharedInfoMfn = mfn;
    this.xenShared.add(mfn);
    const u8 = this.host.mem.u8;
    for (let i = 0; i < XEN_LEGACY_MAX_VCPUS; i++) {
      u8[mfn * 4096 + i * VCPU_INFO_SIZE + VI_UPCALL_MASK] = 1;
    }
    for (const v of this.vcpus) v.vcpuInfoMaddr = mfn * 4096 + v.vcpuInfoOffset;
    return true;
  }

  /**
   * Populates pfn with a fresh frame (guest_physmap_add_page + M2P update).
   * @returns the mfn, or -1 when over the limit, out of memory or already populated
   */
  populate(pfn: number): number {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.p2m.maxPfns) return -1;
    if (this.p2m.get(asGfn(pfn)) !== INVALID_MFN) return -1;
    if (this.totPages >= this.maxPages) return -1;
    const f = this.host.frames;
    const mfn = f.allocDomainFrame(this.domid);
    if (mfn < 0) return -1;
    this.p2m.set(asGfn(pfn), asMfn(mfn));
    f.m2p.set(asMfn(mfn), asGfn(pfn));
    return mfn;
  }

  /** The mfn of a pfn, or INVALID_MFN. */
  mfnOf(pfn: number): number {
    return this.p2m.get(asGfn(pfn));
  }

  /** Whether machine frame `mfn` belongs to this domain. */
  owns(mfn: number): boolean {
    return this.host.frames.isOwnedBy(mfn, this.domid);
  }

  /** Whether the domain has shut down. */
  get isShutdown(): boolean {
    return this.shutdownReason >= 0;
  }
}
