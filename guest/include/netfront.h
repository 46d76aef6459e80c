/* netfront.h: the PV network frontend and the guest's tiny IPv4 stack. */
#ifndef PVX_NETFRONT_H
#define PVX_NETFRONT_H
#include "xenbus_dev.h"
struct netfront {
  struct xenbus_dev dev;
  int connected;
  u32 port;
  u8 mac[6];
  ulong tx_packets, rx_packets;
};
extern struct netfront net;
int netfront_init(void); /* 0 connected, 1 no device, <0 error */
int netfront_send(const void *frame, u32 len);
/* receives one frame into buf (up to 2048 bytes) before deadline; length or -1 */
int netfront_recv(void *buf, u64 deadline_ns);
/* net.c */
#define GUEST_IP 0x0a000002u /* 10.0.0.2 */
#define HOST_IP 0x0a000001u  /* 10.0.0.1 */
int net_arp(u32 ip, u8 *mac_out);
int net_ping(u32 ip, u16 seq, u64 *rtt_ns);
int net_udp_echo(u32 ip, const char *msg);
#endif
