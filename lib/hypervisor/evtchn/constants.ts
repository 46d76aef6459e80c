/**
 * Event-channel numbers of public/event_channel.h and public/xen.h (commands, status
 * codes, VIRQs, the 2-level port limit for 32-bit guests), pvx's internal port states,
 * and pvx's trace ids for event sends and upcalls.
 * @module
 */

/** EVTCHNOP_* commands (event_channel.h). */
export const EVTCHNOP_bind_interdomain = 0;
/** EVTCHNOP_bind_virq. */
export const EVTCHNOP_bind_virq = 1;
/** EVTCHNOP_bind_pirq. */
export const EVTCHNOP_bind_pirq = 2;
/** EVTCHNOP_close. */
export const EVTCHNOP_close = 3;
/** EVTCHNOP_send. */
export const EVTCHNOP_send = 4;
/** EVTCHNOP_status. */
export const EVTCHNOP_status = 5;
/** EVTCHNOP_alloc_unbound. */
export const EVTCHNOP_alloc_unbound = 6;
/** EVTCHNOP_bind_ipi. */
export const EVTCHNOP_bind_ipi = 7;
/** EVTCHNOP_bind_vcpu. */
export const EVTCHNOP_bind_vcpu = 8;
/** EVTCHNOP_unmask. */
export const EVTCHNOP_unmask = 9;
/** EVTCHNOP_reset. */
export const EVTCHNOP_reset = 10;
/** EVTCHNOP_init_control (FIFO ABI; pvx answers -ENOSYS). */
export const EVTCHNOP_init_control = 11;
/** EVTCHNOP_expand_array (FIFO ABI; pvx answers -ENOSYS). */
export const EVTCHNOP_expand_array = 12;
/** EVTCHNOP_set_priority (FIFO ABI; pvx answers -ENOSYS). */
export const EVTCHNOP_set_priority = 13;

/** EVTCHNSTAT_* values of evtchn_status.status. */
export const EVTCHNSTAT_closed = 0;
/** Waiting for an interdomain connection. */
export const EVTCHNSTAT_unbound = 1;
/** Connected to a remote domain. */
export const EVTCHNSTAT_interdomain = 2;
/** Bound to a physical IRQ. */
export const EVTCHNSTAT_pirq = 3;
/** Bound to a virtual IRQ. */
export const EVTCHNSTAT_virq = 4;
/** Bound to an IPI. */
export const EVTCHNSTAT_ipi = 5;

/** VIRQ_* (xen.h). V = per-vcpu, G = global. */
export const VIRQ_TIMER = 0; // V
/** V. Request guest to dump debug info. */
export const VIRQ_DEBUG = 1;
/** G. (DOM0) Bytes received on emergency console. */
export const VIRQ_CONSOLE = 2;
/** G. (DOM0) Exceptional event for some domain. */
export const VIRQ_DOM_EXC = 3;
/** G. Trace buffer has records. */
export const VIRQ_TBUF = 4;
/** G. A domain paused for debugging. */
export const VIRQ_DEBUGGER = 6;
/** V. XenOprofile sample. */
export const VIRQ_XENOPROF = 7;
/** G. Bytes received on the console ring. */
export const VIRQ_CON_RING = 8;
/** V. PMC interrupt. */
export const VIRQ_XENPMU = 13;
/** NR_VIRQS (Xen's internal bound: VIRQ_ARCH_7 + 1). */
export const NR_VIRQS = 24;

/**
 * Ports of the 2-level ABI for a 32-bit guest: EVTCHN_2L_NR_CHANNELS with a 32-bit
 * xen_ulong_t (32 words of 32 bits).
 */
export const EVTCHN_2L_NR_CHANNELS_32 = 1024;
/** Bits per pending/mask word for a 32-bit guest (BITS_PER_EVTCHN_WORD). */
export const BITS_PER_EVTCHN_WORD_32 = 32;

/** DOMID_SELF (xen.h). */
export const DOMID_SELF = 0x7ff0;
/** DOMID_FIRST_RESERVED (xen.h): ids at or above it name no ordinary domain. */
export const DOMID_FIRST_RESERVED = 0x7ff0;

/** Internal port states (Xen's ECS_*). */
export const ECS_FREE = 0;
/** Port 0: never allocated (Xen reserves it at domain creation). */
export const ECS_RESERVED = 1;
/** Allocated, waiting for a remote domain to bind. */
export const ECS_UNBOUND = 2;
/** Connected to a remote domain's port. */
export const ECS_INTERDOMAIN = 3;
/** Bound to a physical IRQ (never reached: domUs get -EPERM). */
export const ECS_PIRQ = 4;
/** Bound to a VIRQ. */
export const ECS_VIRQ = 5;
/** Bound to an IPI. */
export const ECS_IPI = 6;

/** pvx trace class (pvx class, see trace/events.ts): event channels. */
export const TRC_PVX_EVTCHN = 0x00808000;
/** An event send: d0 = sender domid, d1 = local port, d2 = target domid, d3 = target port. */
export const TRC_PVX_EVTCHN_SEND = TRC_PVX_EVTCHN + 1;
/** An upcall request (evtchn_upcall_pending 0 -> 1): d0 = domid, d1 = vcpu, d2 = port. */
export const TRC_PVX_EVTCHN_UPCALL = TRC_PVX_EVTCHN + 2;
/** A rejected operation: d0 = domid, d1 = EVTCHNOP_*, d2 = port/arg, d3 = -errno. */
export const TRC_PVX_EVTCHN_FAIL = TRC_PVX_EVTCHN + 3;
