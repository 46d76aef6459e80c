/* xenbus_dev.h: frontend device discovery and state handshake helpers. */
#ifndef PVX_XENBUS_DEV_H
#define PVX_XENBUS_DEV_H
#include "kernel.h"
struct xenbus_dev {
  char fe[48];
  char be[96];
  u16 backend_id;
  ulong devid;
};
int xenbus_find(const char *kind, struct xenbus_dev *d);
int xenbus_read_int(const char *dir, const char *node, ulong *out);
int xenbus_printf(const char *dir, const char *node, const char *fmt, ...);
int xenbus_wait_state(struct xenbus_dev *d, ulong want, u64 timeout_ns);
#endif
