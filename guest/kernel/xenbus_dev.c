/*
 * xenbus_dev.c: the frontend side of the xenbus handshake shared by blkfront and
 * netfront: find the first device of a kind, read its backend, wait for states.
 */
#include "kernel.h"
#include "xenbus_dev.h"

int xenbus_find(const char *kind, struct xenbus_dev *d) {
  char list[128];
  snprintf(d->fe, sizeof(d->fe), "device/%s", kind);
  if (!xenbus_ready || xs_directory(d->fe, list, sizeof(list)) <= 0) return -1;
  char *sp = list;
  while (*sp && *sp != ' ') sp++;
  *sp = 0;
  d->devid = strtoul(list, NULL, 10);
  snprintf(d->fe, sizeof(d->fe), "device/%s/%s", kind, list);
  char key[96], val[32];
  snprintf(key, sizeof(key), "%s/backend", d->fe);
  if (xs_read(key, d->be, sizeof(d->be)) <= 0) return -2;
  snprintf(key, sizeof(key), "%s/backend-id", d->fe);
  if (xs_read(key, val, sizeof(val)) <= 0) return -3;
  d->backend_id = (u16)strtoul(val, NULL, 10);
  return 0;
}

int xenbus_read_int(const char *dir, const char *node, ulong *out) {
  char key[128], val[32];
  snprintf(key, sizeof(key), "%s/%s", dir, node);
  if (xs_read(key, val, sizeof(val)) <= 0) return -1;
  *out = strtoul(val, NULL, 10);
  return 0;
}

int xenbus_printf(const char *dir, const char *node, const char *fmt, ...) {
  char key[128], val[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(val, sizeof(val), fmt, ap);
  va_end(ap);
  snprintf(key, sizeof(key), "%s/%s", dir, node);
  return xs_write(key, val);
}

/* polls the backend's state until it is `want` (or past it); 0 or -1 on timeout */
int xenbus_wait_state(struct xenbus_dev *d, ulong want, u64 timeout_ns) {
  u64 deadline = monotonic_ns() + timeout_ns;
  for (;;) {
    ulong st = 0;
    if (xenbus_read_int(d->be, "state", &st) == 0 && st == want) return 0;
    if (st > XenbusStateConnected) return -2;
    if (monotonic_ns() > deadline) return -1;
    block_until(monotonic_ns() + 1000000ull);
  }
}
