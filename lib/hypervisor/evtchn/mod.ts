/**
 * Event channels, 2-level and FIFO ABIs, as a hypervisor model: per-domain port tables
 * ({@link EventChannels}) and the shared_info/vcpu_info event words they drive
 * ({@link SharedInfoView}). Models take decoded values, never guest pointers, and return a
 * port (>= 0), 0, or a negative Xen errno.
 *
 * What the hypervisor core provides (implemented by its Domain/Vcpu, passed in):
 * - {@link EvtchnDomainHooks}: `kick(vcpu)` when a vcpu's evtchn_upcall_pending goes
 *   0 -> 1 (deliver the event callback at the next instruction boundary once
 *   evtchn_upcall_mask is clear; wake a blocked vcpu), optional `pollWake(port)` for
 *   SCHEDOP_poll.
 * - {@link EvtchnDirectory}: `evtchn(domid)` -> that domain's table (dom0's included:
 *   the device host's `dom0Evtchn`), or undefined.
 * - A {@link SharedInfoView} over PhysMemory and the shared_info mfn; the core calls
 *   `setVcpuInfo(vcpu, maddr)` on VCPUOP_register_vcpu_info.
 *
 * The hypercall shell (hypercalls/event_channel.ts) maps commands to methods:
 * alloc_unbound -> `allocUnbound(dom, remoteDom)`, bind_interdomain ->
 * `bindInterdomain(remoteDom, remotePort)`, bind_virq -> `bindVirq(virq, vcpu)`,
 * bind_ipi -> `bindIpi(vcpu)`, bind_pirq -> `bindPirq(pirq)` (-EPERM), close ->
 * `close(port)`, send -> `send(port)`, status -> `status(dom, port)` (an object or
 * -errno), bind_vcpu -> `bindVcpu(port, vcpu)`, unmask -> `unmask(port)`, reset ->
 * `reset(dom)`, init_control / expand_array / set_priority -> `initControl(gfn, offset,
 * vcpu)`, `expandArray(gfn)`, `setPriority(port, priority)`: the FIFO ABI ({@link FifoEvtchn},
 * offered when the core passes `fifoPages` to map guest frames). Timers call
 * `sendVirq(vcpu, VIRQ_TIMER)`; domain teardown calls `closeAll()`.
 *
 * @example
 * ```ts
 * import { PhysMemory } from "../../cpu/phys_memory.ts";
 * import { EventChannels, SharedInfoView } from "./mod.ts";
 * const mem = new PhysMemory(16);
 * const tables = new Map<number, EventChannels>();
 * const d1 = new EventChannels({
 *   domid: 1,
 *   shared: new SharedInfoView(mem, 3, 1),
 *   hooks: { kick: (v) => console.log("upcall vcpu", v) },
 *   directory: { evtchn: (id) => tables.get(id) },
 * });
 * tables.set(1, d1);
 * const port = d1.bindIpi(0);
 * d1.send(port); // logs "upcall vcpu 0"
 * ```
 * @module
 */

export {
  BITS_PER_EVTCHN_WORD_32,
  DOMID_FIRST_RESERVED,
  DOMID_SELF,
  ECS_FREE,
  ECS_INTERDOMAIN,
  ECS_IPI,
  ECS_PIRQ,
  ECS_RESERVED,
  ECS_UNBOUND,
  ECS_VIRQ,
  EVTCHN_2L_NR_CHANNELS_32,
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_pirq,
  EVTCHNOP_bind_vcpu,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_expand_array,
  EVTCHNOP_init_control,
  EVTCHNOP_reset,
  EVTCHNOP_send,
  EVTCHNOP_set_priority,
  EVTCHNOP_status,
  EVTCHNOP_unmask,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_ipi,
  EVTCHNSTAT_pirq,
  EVTCHNSTAT_unbound,
  EVTCHNSTAT_virq,
  NR_VIRQS,
  TRC_PVX_EVTCHN,
  TRC_PVX_EVTCHN_FAIL,
  TRC_PVX_EVTCHN_SEND,
  TRC_PVX_EVTCHN_UPCALL,
  VIRQ_CON_RING,
  VIRQ_CONSOLE,
  VIRQ_DEBUG,
  VIRQ_DEBUGGER,
  VIRQ_DOM_EXC,
  VIRQ_TBUF,
  VIRQ_TIMER,
  VIRQ_XENOPROF,
  VIRQ_XENPMU,
} from "../../abi/mod.ts";
export {
  EventChannels,
  type EventChannelsOptions,
  type EvtchnDirectory,
  type EvtchnDomainHooks,
  type EvtchnStatusInfo,
  virqIsGlobal,
} from "./channels.ts";
export {
  evtchn2lClearPending,
  evtchn2lSetPending,
  evtchn2lUnmask,
  SET_ALREADY_PENDING,
  SET_PENDING,
  SET_PENDING_KICK,
} from "./ports_2l.ts";
export * from "./fifo.ts";
export {
  EVTCHN_WORDS_32,
  SHARED_INFO_EVTCHN_MASK,
  SHARED_INFO_EVTCHN_PENDING,
  SHARED_INFO_SIZE_32,
  SharedInfoView,
  VCPU_INFO_PENDING_SEL,
  VCPU_INFO_SIZE,
  VCPU_INFO_UPCALL_MASK,
  VCPU_INFO_UPCALL_PENDING,
  XEN_LEGACY_MAX_VCPUS,
} from "./shared_info_view.ts";
