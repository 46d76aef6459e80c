/*
 * control.c: honours the toolstack's shutdown requests, as a Linux PV guest does: a watch
 * on control/shutdown; "poweroff" or "halt" powers off, "reboot" reboots (the node is
 * cleared first to acknowledge). Polled where the kernel waits for console input.
 */
#include "kernel.h"

static int armed;
static int seen;

void control_init(void) {
  if (!xenbus_ready) return;
  if (xs_watch("control/shutdown", "control") == 0) armed = 1;
}

void control_poll(void) {
  if (!armed || xs_poll_watches() == seen) return;
  seen = xs_watch_events;
  char v[32];
  if (xs_read("control/shutdown", v, sizeof(v)) <= 0) return;
  int reason;
  if (!strcmp(v, "poweroff") || !strcmp(v, "halt")) reason = SHUTDOWN_poweroff;
  else if (!strcmp(v, "reboot")) reason = SHUTDOWN_reboot;
  else return;
  xs_write("control/shutdown", "");
  printk("pvx-guest: the toolstack asked for %s\n", v);
  console_ring_drain(1000000000ull);
  poweroff(reason);
}
