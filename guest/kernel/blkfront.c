/*
 * blkfront.c: the PV block frontend. Handshake (ring page granted to the backend, an
 * unbound event channel, ring-ref/event-channel/protocol, Initialised -> Connected),
 * then synchronous one-page requests: read, write, flush.
 */
#include "kernel.h"
#include "xenbus_dev.h"
#include "blkfront.h"

struct blkfront blk;

struct blk_sring {
  struct sring_hdr h;
  union { struct blkif_request req; struct blkif_response rsp; } ring[BLK_RING_SIZE];
};
static struct blk_sring *sring;
static u32 req_prod_pvt, rsp_cons;
static u64 next_id = 1;
static void *data_page;

static void blk_event(u32 port, struct regs *r) { (void)port, (void)r; }

int blkfront_init(void) {
  if (blk.connected) return 0;
  struct xenbus_dev *d = &blk.dev;
  if (xenbus_find("vbd", d)) return 1; /* no disk */
  if (xenbus_wait_state(d, XenbusStateInitWait, 2000000000ull)) return -1;
  sring = alloc_page();
  data_page = alloc_page();
  if (!sring || !data_page) return -2;
  sring->h.req_event = sring->h.rsp_event = 1;
  int ref = gnttab_grant(d->backend_id, pfn_to_mfn(__pa(sring) >> PAGE_SHIFT), 0);
  int port = alloc_unbound(d->backend_id, blk_event);
  if (ref < 0 || port < 0) return -3;
  blk.port = (u32)port;
  if (xenbus_printf(d->fe, "ring-ref", "%d", ref) || xenbus_printf(d->fe, "event-channel", "%d", port) ||
      xenbus_printf(d->fe, "protocol", BLKIF_PROTOCOL) ||
      xenbus_printf(d->fe, "state", "%d", XenbusStateInitialised))
    return -4;
  if (xenbus_wait_state(d, XenbusStateConnected, 2000000000ull)) return -5;
  ulong v = 0;
  if (xenbus_read_int(d->be, "sectors", &v)) return -6;
  blk.sectors = v;
  blk.sector_size = 512;
  if (!xenbus_read_int(d->be, "sector-size", &v)) blk.sector_size = v;
  v = 0;
  xenbus_read_int(d->be, "feature-flush-cache", &v);
  blk.flush = v != 0;
  char mode[8] = "w", key[128];
  snprintf(key, sizeof(key), "%s/mode", d->be);
  xs_read(key, mode, sizeof(mode));
  blk.readonly = mode[0] == 'r';
  if (xenbus_printf(d->fe, "state", "%d", XenbusStateConnected)) return -7;
  blk.connected = 1;
  printk("blkfront: %s, %lu sectors of %lu bytes%s%s\n", d->fe, blk.sectors, blk.sector_size,
         blk.flush ? ", flush" : "", blk.readonly ? ", read-only" : "");
  return 0;
}

/* one request on one page; buf is copied in (write) or out (read) */
int blkfront_io(int op, ulong sector, void *buf, ulong nsect) {
  if (!blk.connected || nsect * blk.sector_size > PAGE_SIZE) return -1;
  int ref = -1;
  struct blkif_request *rq = &sring->ring[req_prod_pvt & (BLK_RING_SIZE - 1)].req;
  memset(rq, 0, sizeof(*rq));
  rq->operation = (u8)op;
  rq->handle = (u16)blk.dev.devid;
  rq->id = next_id++;
  rq->sector_number = sector;
  if (op != BLKIF_OP_FLUSH_DISKCACHE) {
    if (op == BLKIF_OP_WRITE) memcpy(data_page, buf, nsect * blk.sector_size);
    ref = gnttab_grant(blk.dev.backend_id, pfn_to_mfn(__pa(data_page) >> PAGE_SHIFT),
                       op == BLKIF_OP_WRITE);
    if (ref < 0) return -2;
    rq->nr_segments = 1;
    rq->seg[0].gref = (u32)ref;
    rq->seg[0].first_sect = 0;
    rq->seg[0].last_sect = (u8)(nsect * (blk.sector_size / 512) - 1);
  }
  u64 id = rq->id;
  req_prod_pvt++;
  mb();
  sring->h.req_prod = req_prod_pvt;
  mb();
  notify_remote(blk.port);
  /*
   * Wait for the answer like a real driver: without a timeout, and tickless, so a
   * backend still doing host I/O is waited for rather than timed out in virtual time.
   */
  int status = -3;
  tick_stop();
  for (;;) {
    if (sring->h.rsp_prod != rsp_cons) {
      mb();
      struct blkif_response *rs = &sring->ring[rsp_cons & (BLK_RING_SIZE - 1)].rsp;
      rsp_cons++;
      sring->h.rsp_event = rsp_cons + 1;
      if (rs->id == id) {
        status = rs->status;
        break;
      }
      continue;
    }
    sring->h.rsp_event = rsp_cons + 1;
    mb();
    if (sring->h.rsp_prod == rsp_cons) poll_port(blk.port, 0);
  }
  tick_resume();
  if (ref >= 0) gnttab_end(ref);
  if (status == 0 && op == BLKIF_OP_READ) memcpy(buf, data_page, nsect * blk.sector_size);
  blk.requests++;
  return status;
}
