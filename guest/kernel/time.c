/*
 * time.c: Xen system time from vcpu_info.time (version odd/even protocol, tsc_to_system
 * mul/shift), wallclock from shared_info (wc_version protocol), and a periodic tick:
 * VIRQ_TIMER re-armed with set_timer_op every TICK_NS.
 */
#include "kernel.h"

#define TICK_NS 10000000ull /* 10 ms */

volatile u32 stat_ticks;
volatile u64 last_tick_ns;
u32 timer_port;
static u64 tick_period = TICK_NS;
static u64 next_tick;

static u64 scale_delta(u64 delta, u32 mul, s8 shift) {
  if (shift < 0) delta >>= -shift;
  else delta <<= shift;
  /* (delta * mul) >> 32 with 32x32 partial products */
  u64 lo = (u64)(u32)delta * mul;
  u64 hi = (u64)(u32)(delta >> 32) * mul;
  return hi + (lo >> 32);
}

u64 monotonic_ns(void) {
  volatile struct vcpu_time_info *t = &shared->vcpu_info[0].time;
  u32 ver;
  u64 tsc_ts, sys, now;
  u32 mul;
  s8 shift;
  do {
    ver = t->version;
    barrier();
    tsc_ts = t->tsc_timestamp;
    sys = t->system_time;
    mul = t->tsc_to_system_mul;
    shift = t->tsc_shift;
    now = rdtsc();
    barrier();
  } while ((ver & 1) || ver != t->version);
  return sys + scale_delta(now - tsc_ts, mul, shift);
}

u64 wallclock_sec(void) {
  u32 ver, sec;
  do {
    ver = shared->wc_version;
    barrier();
    sec = shared->wc_sec;
    barrier();
  } while ((ver & 1) || ver != shared->wc_version);
  /* wc_* is the wallclock at system time 0 */
  return sec + monotonic_ns() / 1000000000ull;
}

static void timer_event(u32 port, struct regs *r) {
  (void)port, (void)r;
  u64 now = monotonic_ns();
  stat_ticks++;
  last_tick_ns = now;
  while (next_tick <= now) next_tick += tick_period;
  HYPERVISOR_set_timer_op(next_tick);
}

void set_periodic(u64 period_ns) {
  tick_period = period_ns;
  next_tick = monotonic_ns() + period_ns;
  HYPERVISOR_set_timer_op(next_tick);
}

void time_init(void) {
  int port = bind_virq(VIRQ_TIMER, timer_event);
  if (port < 0) panic("time: bind VIRQ_TIMER failed (%d)", port);
  timer_port = (u32)port;
  set_periodic(TICK_NS);
}

/*
 * Sleep until monotonic time reaches ns: SCHEDOP_poll on the timer port with a timeout,
 * so the wait is bounded even when timer events stop arriving.
 */
void block_until(u64 ns) {
  for (;;) {
    local_irq_disable();
    if (monotonic_ns() >= ns) break;
    if (ns < next_tick) HYPERVISOR_set_timer_op(ns);
    u32 port = timer_port;
    struct sched_poll sp = {&port, 1, ns};
    HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
    local_irq_enable();
  }
  local_irq_enable();
}

/*
 * Tickless waits: stop the tick (set_timer_op(0)) while waiting on a device that answers
 * after host I/O, so virtual time does not run ahead of the device; tick_resume re-arms.
 */
void tick_stop(void) { HYPERVISOR_set_timer_op(0); }
void tick_resume(void) { set_periodic(tick_period); }
