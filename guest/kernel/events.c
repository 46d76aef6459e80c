/*
 * events.c: event channels (2-level ABI, words of 32 or 64 ports as xen_ulong_t). The
 * upcall scans vcpu_info pending_sel, then shared_info pending & ~mask, clearing each
 * pending bit before calling the port's handler. Masking follows the ABI: unmask re-raises a pending port by setting
 * pending_sel and upcall_pending, and any hypercall makes Xen deliver it.
 */
#include "kernel.h"

#define NR_PORTS 1024
static evtchn_handler_t handlers[NR_PORTS];
volatile u32 stat_events;
volatile u32 evtchn_hits[64];

static inline struct vcpu_info *vcpu(void) { return &shared->vcpu_info[0]; }

void local_irq_disable(void) {
  vcpu()->evtchn_upcall_mask = 1;
  barrier();
}

void local_irq_enable(void) {
  barrier();
  vcpu()->evtchn_upcall_mask = 0;
  barrier();
  if (vcpu()->evtchn_upcall_pending) HYPERVISOR_xen_version(0, 0); /* force the callback */
}

void evtchn_do_upcall(struct regs *r) {
  struct vcpu_info *v = vcpu();
  do {
    v->evtchn_upcall_pending = 0;
    barrier();
    ulong sel = xchg(&v->evtchn_pending_sel, 0);
    while (sel) {
      int l1 = __builtin_ctzl(sel);
      sel &= sel - 1;
      ulong bits;
      while ((bits = shared->evtchn_pending[l1] & ~shared->evtchn_mask[l1])) {
        int b = __builtin_ctzl(bits);
        u32 port = (u32)(l1 * BITS_PER_LONG + b);
        clear_bit(port, shared->evtchn_pending);
        stat_events++;
        if (port < ARRAY_SIZE(evtchn_hits)) evtchn_hits[port]++;
        if (handlers[port]) handlers[port](port, r);
      }
    }
  } while (v->evtchn_upcall_pending);
}

void mask_evtchn(u32 port) { set_bit(port, shared->evtchn_mask); }

void unmask_evtchn(u32 port) {
  clear_bit(port, shared->evtchn_mask);
  barrier();
  if (test_bit(port, shared->evtchn_pending)) {
    set_bit((int)port / BITS_PER_LONG, &vcpu()->evtchn_pending_sel);
    vcpu()->evtchn_upcall_pending = 1;
    if (!vcpu()->evtchn_upcall_mask) HYPERVISOR_xen_version(0, 0);
  }
}

void clear_evtchn(u32 port) { clear_bit(port, shared->evtchn_pending); }

void bind_port(u32 port, evtchn_handler_t h) {
  if (port >= NR_PORTS) return;
  handlers[port] = h;
  unmask_evtchn(port);
}

int bind_virq(u32 virq, evtchn_handler_t h) {
  struct evtchn_bind_virq op = {virq, 0, 0};
  int rc = (int)HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
  if (rc < 0) return rc;
  bind_port(op.port, h);
  return (int)op.port;
}

int alloc_unbound(u16 remote, evtchn_handler_t h) {
  struct evtchn_alloc_unbound op = {DOMID_SELF, remote, 0};
  int rc = (int)HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
  if (rc < 0) return rc;
  if (h) bind_port(op.port, h);
  return (int)op.port;
}

int notify_remote(u32 port) {
  struct evtchn_port_op op = {port};
  return (int)HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

void events_init(void) {
  for (unsigned i = 0; i < ARRAY_SIZE(shared->evtchn_mask); i++) shared->evtchn_mask[i] = ~0ul;
  local_irq_enable();
}

/* sleep until an event arrives (SCHEDOP_block re-enables event delivery) */
void wait_for_event(void) {
  local_irq_disable();
  if (!vcpu()->evtchn_upcall_pending) HYPERVISOR_sched_op(SCHEDOP_block, 0);
  local_irq_enable();
}

/* waits (SCHEDOP_poll) until port is pending or system time reaches deadline_ns */
void poll_port(u32 port, u64 deadline_ns) {
  local_irq_disable();
  struct sched_poll sp = {&port, 1, deadline_ns};
  HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
  local_irq_enable();
}
