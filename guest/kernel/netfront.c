/*
 * netfront.c: the PV network frontend. Handshake (tx/rx ring pages granted to the
 * backend, one event channel, request-rx-copy), RX buffers posted as granted pages the
 * backend copies into, TX of single-page frames.
 */
#include "kernel.h"
#include "netfront.h"

struct netfront net;

#define RX_BUFS 16
struct tx_sring {
  struct sring_hdr h;
  union { struct netif_tx_request req; struct netif_tx_response rsp; } ring[NET_TX_RING_SIZE];
};
struct rx_sring {
  struct sring_hdr h;
  union { struct netif_rx_request req; struct netif_rx_response rsp; } ring[NET_RX_RING_SIZE];
};
static struct tx_sring *tx;
static struct rx_sring *rx;
static u32 tx_prod, tx_cons, rx_prod, rx_cons;
static void *rx_page[RX_BUFS];
static int rx_ref[RX_BUFS];
static void *tx_page;
static int tx_ref = -1;

static void net_event(u32 port, struct regs *r) { (void)port, (void)r; }

static void post_rx(u16 id) {
  struct netif_rx_request *rq = &rx->ring[rx_prod & (NET_RX_RING_SIZE - 1)].req;
  rq->id = id;
  rq->gref = (u32)rx_ref[id];
  rx_prod++;
}

static int parse_mac(const char *s, u8 *mac) {
  for (int i = 0; i < 6; i++) {
    const char *end;
    mac[i] = (u8)strtoul(s, &end, 16);
    if (end == s || (i < 5 && *end != ':')) return -1;
    s = end + 1;
  }
  return 0;
}

int netfront_init(void) {
  if (net.connected) return 0;
  struct xenbus_dev *d = &net.dev;
  if (xenbus_find("vif", d)) return 1;
  char key[128], mac[32];
  snprintf(key, sizeof(key), "%s/mac", d->fe);
  if (xs_read(key, mac, sizeof(mac)) <= 0 || parse_mac(mac, net.mac)) return -1;
  if (xenbus_wait_state(d, XenbusStateInitWait, 2000000000ull)) return -2;
  tx = alloc_page();
  rx = alloc_page();
  tx_page = alloc_page();
  if (!tx || !rx || !tx_page) return -3;
  tx->h.req_event = tx->h.rsp_event = 1;
  rx->h.req_event = rx->h.rsp_event = 1;
  u16 be = d->backend_id;
  int txr = gnttab_grant(be, pfn_to_mfn(__pa(tx) >> PAGE_SHIFT), 0);
  int rxr = gnttab_grant(be, pfn_to_mfn(__pa(rx) >> PAGE_SHIFT), 0);
  tx_ref = gnttab_grant(be, pfn_to_mfn(__pa(tx_page) >> PAGE_SHIFT), 1);
  int port = alloc_unbound(be, net_event);
  if (txr < 0 || rxr < 0 || tx_ref < 0 || port < 0) return -4;
  net.port = (u32)port;
  for (u16 i = 0; i < RX_BUFS; i++) {
    rx_page[i] = alloc_page();
    if (!rx_page[i]) return -5;
    rx_ref[i] = gnttab_grant(be, pfn_to_mfn(__pa(rx_page[i]) >> PAGE_SHIFT), 0);
    if (rx_ref[i] < 0) return -5;
    post_rx(i);
  }
  mb();
  rx->h.req_prod = rx_prod;
  if (xenbus_printf(d->fe, "tx-ring-ref", "%d", txr) ||
      xenbus_printf(d->fe, "rx-ring-ref", "%d", rxr) ||
      xenbus_printf(d->fe, "event-channel", "%d", port) ||
      xenbus_printf(d->fe, "request-rx-copy", "1") ||
      xenbus_printf(d->fe, "feature-rx-notify", "1") ||
      xenbus_printf(d->fe, "state", "%d", XenbusStateConnected))
    return -6;
  if (xenbus_wait_state(d, XenbusStateConnected, 2000000000ull)) return -7;
  notify_remote(net.port);
  net.connected = 1;
  printk("netfront: %s, mac %s, ip %lu.%lu.%lu.%lu\n", d->fe, mac, (ulong)(guest_ip >> 24),
         (ulong)(guest_ip >> 16 & 255), (ulong)(guest_ip >> 8 & 255), (ulong)(guest_ip & 255));
  return 0;
}

static void reap_tx(void) {
  while (tx_cons != tx->h.rsp_prod) {
    mb();
    tx_cons++;
  }
  tx->h.rsp_event = tx_cons + 1;
}

int netfront_send(const void *frame, u32 len) {
  if (!net.connected || len > PAGE_SIZE) return -1;
  u64 deadline = monotonic_ns() + 1000000000ull;
  while (tx_prod != tx_cons) { /* one frame in flight: the single TX page is busy */
    reap_tx();
    if (tx_prod == tx_cons) break;
    if (monotonic_ns() > deadline) return -2;
    poll_port(net.port, monotonic_ns() + 1000000ull);
  }
  memcpy(tx_page, frame, len);
  struct netif_tx_request *rq = &tx->ring[tx_prod & (NET_TX_RING_SIZE - 1)].req;
  rq->gref = (u32)tx_ref;
  rq->offset = 0;
  rq->flags = 0;
  rq->id = (u16)(tx_prod & 0xffff);
  rq->size = (u16)len;
  tx_prod++;
  mb();
  tx->h.req_prod = tx_prod;
  mb();
  notify_remote(net.port);
  net.tx_packets++;
  return 0;
}

int netfront_recv(void *buf, u64 deadline_ns) {
  if (!net.connected) return -1;
  for (;;) {
    reap_tx();
    if (rx_cons != rx->h.rsp_prod) {
      mb();
      struct netif_rx_response *rs = &rx->ring[rx_cons & (NET_RX_RING_SIZE - 1)].rsp;
      u16 id = rs->id;
      int len = rs->status;
      u16 off = rs->offset;
      rx_cons++;
      rx->h.rsp_event = rx_cons + 1;
      if (id >= RX_BUFS) continue;
      if (len > 0 && off + len <= (int)PAGE_SIZE) {
        if (len > 2048) len = 2048;
        memcpy(buf, (char *)rx_page[id] + off, len);
      }
      post_rx(id);
      mb();
      rx->h.req_prod = rx_prod;
      notify_remote(net.port);
      if (len > 0) {
        net.rx_packets++;
        return len;
      }
      continue;
    }
    rx->h.rsp_event = rx_cons + 1;
    mb();
    if (rx_cons != rx->h.rsp_prod) continue;
    if (monotonic_ns() > deadline_ns) return -1;
    poll_port(net.port, monotonic_ns() + 1000000ull < deadline_ns ? monotonic_ns() + 1000000ull
                                                                  : deadline_ns);
  }
}
