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
#define GUEST_IP 0x0a000002u /* 10.0.0.2: the address when neither ip= nor a domid gives one */
#define HOST_IP 0x0a000001u  /* 10.0.0.1 */
extern u32 guest_ip;         /* ip=A.B.C.D, else 10.0.0.(domid + 1), else GUEST_IP */
extern ulong net_echo_replies, net_arp_replies; /* requests for us answered */
/* sets guest_ip from the command line or xenstore's domid; -1 for a bad ip= */
int net_ip_init(void);
/* parses a dotted quad; *end (when end) points after it; 0 or -1 */
int net_parse_ip(const char *s, const char **end, u32 *ip);
/* ARP for ip itself (3 tries of 200 ms); 0 and its MAC, or -1 */
int net_arp(u32 ip, u8 *mac_out);
/* the MAC of the next hop to ip (ip on our /24, else 10.0.0.1): cache, else tries ARPs */
int net_resolve(u32 ip, u8 *mac_out, int tries);
int net_arp_lookup(u32 ip, u8 *mac_out);
/* handles a received frame: answers ARP and ICMP echo requests for us, learns senders;
 * 0 not handled, 1 handled, 2 an ARP reply for us (sender now in the cache) */
int net_input(const u8 *f, int len);
int net_ping(u32 ip, u16 seq, u64 *rtt_ns);
int net_udp_echo(u32 ip, const char *msg);
/* answers ARP and ICMP echo requests until until_ns (guest time); echo requests answered */
int net_serve(u64 until_ns);
/* netcmd.c: the ping= and netserve= boot modes; returns only when neither is given */
void net_boot_modes(void);
/* main.c */
const char *cmdline_value(const char *word);
int cmdline_has(const char *word);
#endif
