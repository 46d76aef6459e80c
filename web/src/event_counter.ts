/**
 * A tracer for the page's live view: counts event-channel sends and upcalls per (domain,
 * port) and hypercalls by number, and passes every record on to the trace writer when
 * the run is traced.
 * @module
 */
import type { Tracer } from "../../lib/hypervisor/trace/tracer.ts";
import {
  TRC_PV_HYPERCALL_V2,
  TRC_PVX_EVTCHN_SEND,
  TRC_PVX_EVTCHN_UPCALL,
} from "../../lib/abi/trace.ts";

/** Counts per port of one domain. */
export interface PortCounts {
  /** Notifications sent from this port. */
  sends: number;
  /** Notifications that arrived at this port (its peer's sends, or its own loopback). */
  received: number;
  /** Upcalls requested for this port. */
  upcalls: number;
}

/** The counting tee. */
export class EventCounter implements Tracer {
  readonly on = true;
  /** The writer records go on to (null: counting only). */
  next: Tracer | null = null;
  /** "domid:port" -> counts. */
  readonly ports = new Map<string, PortCounts>();
  /** Hypercalls by number. */
  readonly hypercalls = new Float64Array(64);
  /** Records seen. */
  records = 0;

  rec(
    event: number,
    n: number,
    d0: number,
    d1: number,
    d2: number,
    d3: number,
    d4: number,
    d5: number,
  ): void {
    this.records++;
    if (event === TRC_PVX_EVTCHN_SEND) {
      this.#port(d0, d1).sends++;
      this.#port(d2, d3).received++;
    } else if (event === TRC_PVX_EVTCHN_UPCALL) this.#port(d0, d2).upcalls++;
    else if (event === TRC_PV_HYPERCALL_V2) {
      const nr = d0 & 0xffff;
      if (nr < this.hypercalls.length) this.hypercalls[nr]++;
    }
    const w = this.next;
    if (w !== null && w.on) w.rec(event, n, d0, d1, d2, d3, d4, d5);
  }

  switchTo(domid: number, vcpu: number): void {
    this.next?.switchTo(domid, vcpu);
  }

  #port(dom: number, port: number): PortCounts {
    const k = `${dom}:${port}`;
    let c = this.ports.get(k);
    if (!c) {
      c = { sends: 0, received: 0, upcalls: 0 };
      this.ports.set(k, c);
    }
    return c;
  }
}
