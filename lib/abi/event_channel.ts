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
/** EVTCHNOP_init_control (FIFO ABI, evtchn/fifo.ts). */
export const EVTCHNOP_init_control = 11;
/** EVTCHNOP_expand_array (FIFO ABI, evtchn/fifo.ts). */
export const EVTCHNOP_expand_array = 12;
/** EVTCHNOP_set_priority (FIFO ABI, evtchn/fifo.ts). */
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

/**
 * Ports of the 2-level ABI for a 32-bit guest: EVTCHN_2L_NR_CHANNELS with a 32-bit
 * xen_ulong_t (32 words of 32 bits).
 */
export const EVTCHN_2L_NR_CHANNELS_32 = 1024;
/** Ports of the 2-level ABI for a 64-bit guest (64 words of 64 bits). */
export const EVTCHN_2L_NR_CHANNELS_64 = 4096;
/** Bits per pending/mask word for a 32-bit guest (BITS_PER_EVTCHN_WORD). */
export const BITS_PER_EVTCHN_WORD_32 = 32;

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
/** Trace events of event channels (defined in ./trace.ts). */
export { TRC_PVX_EVTCHN_FAIL, TRC_PVX_EVTCHN_SEND, TRC_PVX_EVTCHN_UPCALL } from "./trace.ts";
/** VIRQs and domain ids (xen.h; defined in ./xen.ts). VIRQ_TIMER is per-vcpu. */
export {
  DOMID_FIRST_RESERVED,
  DOMID_SELF,
  NR_VIRQS,
  VIRQ_CON_RING,
  VIRQ_CONSOLE,
  VIRQ_DEBUG,
  VIRQ_DEBUGGER,
  VIRQ_DOM_EXC,
  VIRQ_TBUF,
  VIRQ_TIMER,
  VIRQ_XENOPROF,
  VIRQ_XENPMU,
} from "./xen.ts";

/** EVTCHNOP_* names, for debug lines. */
export const EVTCHNOP_NAMES: readonly string[] = [
  "bind_interdomain",
  "bind_virq",
  "bind_pirq",
  "close",
  "send",
  "status",
  "alloc_unbound",
  "bind_ipi",
  "bind_vcpu",
  "unmask",
  "reset",
  "init_control",
  "expand_array",
  "set_priority",
];

// ---- the FIFO ABI (public/event_channel.h) ----

/** Event word bits. */
export const EVTCHN_FIFO_PENDING = 31, EVTCHN_FIFO_MASKED = 30, EVTCHN_FIFO_LINKED = 29;
/** Event word: the guest is consuming the event (BUSY). */
export const EVTCHN_FIFO_BUSY = 28;
/** Bits of the LINK field (the next port on the queue). */
export const EVTCHN_FIFO_LINK_BITS = 17;
/** Mask of the LINK field. */
export const EVTCHN_FIFO_LINK_MASK = (1 << EVTCHN_FIFO_LINK_BITS) - 1;
/** Queues per vcpu (priorities 0 = highest .. 15). */
export const EVTCHN_FIFO_MAX_QUEUES = 16;
/** The priority every port starts with. */
export const EVTCHN_FIFO_PRIORITY_DEFAULT = 7;
/** The lowest priority. */
export const EVTCHN_FIFO_PRIORITY_MIN = 15;
/** Event words per array page. */
export const EVTCHN_FIFO_EVENT_WORDS_PER_PAGE = 4096 / 4;
/** Array pages at most (2^17 ports). */
export const EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES = (1 << EVTCHN_FIFO_LINK_BITS) /
  EVTCHN_FIFO_EVENT_WORDS_PER_PAGE;
/** sizeof(evtchn_fifo_control_block_t): ready u32, reserved u32, head[16] u32. */
export const EVTCHN_FIFO_CONTROL_BLOCK_SIZE = 72;
