/**
 * Applies the TLB flushes the paging model queued (per-vcpu invlpg / full flush, and the
 * host-wide flush after a frame changed type or owner) to the CPUs, as Xen's flush_tlb_*
 * does on the way back to the guest.
 * @module
 */
import { FLUSH_ALL, FLUSH_MAX_PAGES, FLUSH_PAGES } from "../../paging/mod.ts";
import type { Domain } from "../domain/domain.ts";
import type { Host } from "./host.ts";

/**
 * Applies a domain's queued flushes, then any host-wide flush.
 * @param d the domain whose operation queued them
 */
export function applyFlushes(d: Domain): void {
  const q = d.mm.flush;
  for (const v of d.vcpus) {
    const kind = q.kind[v.id];
    if (kind === 0) continue;
    if (v.cpu) {
      if (kind === FLUSH_ALL) v.cpu.flushTlb();
      else if (kind === FLUSH_PAGES) {
        const n = q.pageCount[v.id];
        for (let i = 0; i < n; i++) v.cpu.invlpg(q.pages[v.id * FLUSH_MAX_PAGES + i]);
      }
    }
    q.clear(v.id);
  }
  if (d.host.frames.needFlushAll) flushEverything(d.host);
}

/** Flushes every vcpu of every domain and records it (frames.tlbFlushedAll). */
export function flushEverything(host: Host): void {
  for (const dom of host.domains.values()) {
    for (const v of dom.vcpus) if (v.cpu) v.cpu.flushTlb();
  }
  host.frames.tlbFlushedAll();
}
