/**
 * The one tracing interface every hypervisor hook calls (hypercalls, bounces, page
 * faults, emulation, event sends and upcalls, grant ops, mmu updates, scheduler events,
 * ring notifications). A no-op by default: callers guard with `tracer.on`, so tracing
 * costs one branch when off (as Xen's `tb_init_done`). Event ids are trace.h's
 * (`TRC_PV_HYPERCALL`, ...) or pvx's own documented class (see events.ts).
 * @module
 */

/** Receives trace records. Implemented by the xentrace-format writer. */
export interface Tracer {
  /** True while recording; check it before building any record. */
  readonly on: boolean;
  /**
   * Emits one record stamped with the current TSC of the running vcpu.
   * @param event the 28-bit event id (class | subclass | event)
   * @param n how many data words follow (0..6); the rest are ignored
   */
  rec(
    event: number,
    n: number,
    d0: number,
    d1: number,
    d2: number,
    d3: number,
    d4: number,
    d5: number,
  ): void;
  /** Tells the tracer which domain/vcpu runs now on pcpu 0 (a scheduler switch record). */
  switchTo(domid: number, vcpu: number): void;
}

/** The tracer used when tracing is off. */
export const NULL_TRACER: Tracer = {
  on: false,
  rec() {},
  switchTo() {},
};
