/*
 * console.c: printk. Early output goes through console_io(CONSOLEIO_write); once the
 * PV console ring (start_info console mfn/evtchn) is set up, output goes to the ring.
 */
#include "kernel.h"

static struct xencons_interface *cons;
static u32 cons_port;
static int ring_active;
static __attribute__((aligned(4096))) char cons_page[4096];

int console_ring_active(void) { return ring_active; }

static void ring_write(const char *s, size_t n) {
  while (n) {
    u32 prod = cons->out_prod;
    mb();
    u32 space = sizeof(cons->out) - (prod - cons->out_cons);
    if (space == 0) {
      notify_remote(cons_port);
      HYPERVISOR_sched_op(SCHEDOP_yield, 0);
      continue;
    }
    while (n && space) {
      cons->out[prod++ & (sizeof(cons->out) - 1)] = *s++;
      n--, space--;
    }
    mb();
    cons->out_prod = prod;
  }
  notify_remote(cons_port);
}

void console_write(const char *s, size_t n) {
  if (ring_active) ring_write(s, n);
  else HYPERVISOR_console_io(CONSOLEIO_write, n, s);
}

/* waits until the backend consumed everything written to the ring */
int console_ring_drain(u64 timeout_ns) {
  u64 deadline = monotonic_ns() + timeout_ns;
  while (cons->out_cons != cons->out_prod) {
    if (monotonic_ns() > deadline) return -1;
    notify_remote(cons_port);
    wait_for_event();
  }
  return 0;
}

int console_read(char *buf, size_t n) {
  if (!ring_active) return 0;
  size_t got = 0;
  u32 cons_i = cons->in_cons, prod = cons->in_prod;
  mb();
  while (got < n && cons_i != prod) buf[got++] = cons->in[cons_i++ & (sizeof(cons->in) - 1)];
  mb();
  cons->in_cons = cons_i;
  if (got) notify_remote(cons_port);
  return (int)got;
}

static void cons_event(u32 port, struct regs *r) { (void)port, (void)r; }

void console_ring_init(void) {
  if (!start_info->console_mfn) return;
  ulong mfn = start_info->console_mfn;
  if (translated) mfn = start_info->console_mfn; /* a gpfn in translated mode */
  if (map_frame_at(cons_page, mfn, PTE_KERNEL) != 0) {
    printk("console: cannot map the console ring (mfn %lx)\n", mfn);
    return;
  }
  cons = (struct xencons_interface *)cons_page;
  cons_port = start_info->console_evtchn;
  bind_port(cons_port, cons_event);
  ring_active = 1;
}

void printk(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > (int)sizeof(buf) - 1) n = sizeof(buf) - 1;
  console_write(buf, n);
}

void poweroff(int reason) {
  struct sched_shutdown s = {(u32)reason};
  for (;;) HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
}

void panic(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  /* straight to console_io so a broken ring cannot hide the message */
  HYPERVISOR_console_io(CONSOLEIO_write, 7, "PANIC: ");
  HYPERVISOR_console_io(CONSOLEIO_write, strlen(buf), buf);
  HYPERVISOR_console_io(CONSOLEIO_write, 1, "\n");
  poweroff(SHUTDOWN_crash);
}
