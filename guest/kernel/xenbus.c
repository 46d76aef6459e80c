/*
 * xenbus.c: a xenstore client on the store ring (start_info store_mfn/store_evtchn):
 * read, write, directory, watch/unwatch. Requests are synchronous; XS_WATCH_EVENT
 * messages that arrive meanwhile are counted and remembered.
 */
#include "kernel.h"

static struct xenstore_domain_interface *xs;
static u32 xs_port;
static u32 req_id;
int xenbus_ready;
volatile int xs_watch_events;
char xs_last_watch[128];
static __attribute__((aligned(4096))) char store_page[4096];
static char reply[4096];

static void store_event(u32 port, struct regs *r) { (void)port, (void)r; }

void xenbus_init(void) {
  ulong mfn = start_info->store_mfn;
  if (!mfn || map_frame_at(store_page, mfn, PTE_KERNEL) != 0) {
    printk("xenbus: no store ring\n");
    return;
  }
  xs = (struct xenstore_domain_interface *)store_page;
  xs_port = start_info->store_evtchn;
  bind_port(xs_port, store_event);
  xenbus_ready = 1;
}

static int ring_write(const void *data, u32 len) {
  const char *p = data;
  u64 deadline = monotonic_ns() + 2000000000ull;
  while (len) {
    u32 prod = xs->req_prod;
    mb();
    u32 space = XENSTORE_RING_SIZE - (prod - xs->req_cons);
    if (!space) {
      notify_remote(xs_port);
      if (monotonic_ns() > deadline) return -1;
      wait_for_event();
      continue;
    }
    while (len && space) {
      xs->req[prod++ & (XENSTORE_RING_SIZE - 1)] = *p++;
      len--, space--;
    }
    mb();
    xs->req_prod = prod;
  }
  notify_remote(xs_port);
  return 0;
}

static int ring_avail(void) { return (int)(xs->rsp_prod - xs->rsp_cons); }

static void ring_read(void *out, u32 len) {
  char *o = out;
  u32 cons = xs->rsp_cons;
  mb();
  while (len--) *o++ = xs->rsp[cons++ & (XENSTORE_RING_SIZE - 1)];
  mb();
  xs->rsp_cons = cons;
  notify_remote(xs_port);
}

/* waits for one message; returns its type, payload in reply (NUL-terminated) */
static int read_msg(struct xsd_sockmsg *h) {
  u64 deadline = monotonic_ns() + 2000000000ull;
  while (ring_avail() < (int)sizeof(*h)) {
    if (monotonic_ns() > deadline) return -1;
    wait_for_event();
  }
  ring_read(h, sizeof(*h));
  if (h->len >= sizeof(reply)) return -1;
  u32 got = 0;
  while (got < h->len) {
    int a = ring_avail();
    if (!a) {
      if (monotonic_ns() > deadline) return -1;
      wait_for_event();
      continue;
    }
    u32 n = (u32)a < h->len - got ? (u32)a : h->len - got;
    ring_read(reply + got, n);
    got += n;
  }
  reply[h->len] = 0;
  return (int)h->type;
}

static int request(u32 type, const char *a, u32 alen, const char *b, u32 blen) {
  if (!xenbus_ready) return -1;
  struct xsd_sockmsg h = {type, ++req_id, 0, alen + blen};
  if (ring_write(&h, sizeof(h)) || ring_write(a, alen) || (blen && ring_write(b, blen)))
    return -1;
  for (;;) {
    struct xsd_sockmsg r;
    int t = read_msg(&r);
    if (t < 0) return -1;
    if (t == XS_WATCH_EVENT) {
      xs_watch_events++;
      memcpy(xs_last_watch, reply, r.len < sizeof(xs_last_watch) ? r.len : sizeof(xs_last_watch) - 1);
      continue;
    }
    if (r.req_id != h.req_id) continue;
    if (t == XS_ERROR) return -2;
    return (int)r.len;
  }
}

int xs_read(const char *path, char *out, size_t n) {
  int len = request(XS_READ, path, strlen(path) + 1, NULL, 0);
  if (len < 0) return len;
  if ((size_t)len >= n) len = (int)n - 1;
  memcpy(out, reply, len);
  out[len] = 0;
  return len;
}

int xs_write(const char *path, const char *val) {
  int len = request(XS_WRITE, path, strlen(path) + 1, val, strlen(val));
  return len < 0 ? len : 0;
}

/* directory entries separated by NULs in reply; returned as a space-separated list */
int xs_directory(const char *path, char *out, size_t n) {
  int len = request(XS_DIRECTORY, path, strlen(path) + 1, NULL, 0);
  if (len < 0) return len;
  int count = 0;
  size_t o = 0;
  for (int i = 0; i < len && o + 1 < n; i++) {
    char c = reply[i];
    if (c == 0) {
      count++;
      c = ' ';
      if (i == len - 1) break;
    }
    out[o++] = c;
  }
  out[o] = 0;
  return count;
}

static int watch_op(u32 type, const char *path, const char *token) {
  char buf[256];
  size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
  if (pl + tl > sizeof(buf)) return -1;
  memcpy(buf, path, pl);
  memcpy(buf + pl, token, tl);
  int len = request(type, buf, pl + tl, NULL, 0);
  return len < 0 ? len : 0;
}

int xs_watch(const char *path, const char *token) { return watch_op(XS_WATCH, path, token); }
int xs_unwatch(const char *path, const char *token) { return watch_op(XS_UNWATCH, path, token); }

/* consume watch events already queued on the ring (without a request) */
int xs_poll_watches(void) {
  while (xenbus_ready && ring_avail() >= (int)sizeof(struct xsd_sockmsg)) {
    struct xsd_sockmsg r;
    if (read_msg(&r) == XS_WATCH_EVENT) xs_watch_events++;
  }
  return xs_watch_events;
}
