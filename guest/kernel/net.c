/*
 * net.c: the guest's IPv4 stack, just enough for the selftest and the shell's ping:
 * ARP (request and reply), ICMP echo, UDP (echo to port 7), checksums.
 */
#include "kernel.h"
#include "netfront.h"

static const u8 bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static u8 frame[2048], in[2048];
static u8 host_mac[6];
static int host_mac_known;

static void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8), p[1] = (u8)v; }
static void put32(u8 *p, u32 v) { put16(p, (u16)(v >> 16)), put16(p + 2, (u16)v); }
static u16 get16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static u32 get32(const u8 *p) { return (u32)get16(p) << 16 | get16(p + 2); }

static u32 csum_add(u32 sum, const u8 *p, u32 len) {
  for (u32 i = 0; i + 1 < len; i += 2) sum += get16(p + i);
  if (len & 1) sum += (u32)p[len - 1] << 8;
  return sum;
}
static u16 csum_fold(u32 sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (u16)~sum;
}

static u32 eth(u8 *f, const u8 *dst, u16 type) {
  memcpy(f, dst, 6);
  memcpy(f + 6, net.mac, 6);
  put16(f + 12, type);
  return 14;
}

static void send_arp(u16 op, const u8 *dst_mac, u32 dst_ip) {
  u32 o = eth(frame, op == 1 ? bcast : dst_mac, 0x0806);
  u8 *a = frame + o;
  put16(a, 1), put16(a + 2, 0x0800), a[4] = 6, a[5] = 4, put16(a + 6, op);
  memcpy(a + 8, net.mac, 6), put32(a + 14, GUEST_IP);
  memcpy(a + 18, op == 1 ? (const u8 *)"\0\0\0\0\0\0" : dst_mac, 6), put32(a + 24, dst_ip);
  netfront_send(frame, 60 > o + 28 ? 60 : o + 28);
}

/* handles ARP requests for us; returns 1 when the frame was an ARP reply from ip */
static int handle_arp(const u8 *f, int len, u32 ip, u8 *mac_out) {
  if (len < 42 || get16(f + 12) != 0x0806) return 0;
  const u8 *a = f + 14;
  if (get16(a + 6) == 1 && get32(a + 24) == GUEST_IP) send_arp(2, a + 8, get32(a + 14));
  if (get16(a + 6) == 2 && get32(a + 14) == ip) {
    if (mac_out) memcpy(mac_out, a + 8, 6);
    return 1;
  }
  return 0;
}

int net_arp(u32 ip, u8 *mac_out) {
  for (int tries = 0; tries < 3; tries++) {
    send_arp(1, bcast, ip);
    u64 deadline = monotonic_ns() + 200000000ull;
    int len;
    while ((len = netfront_recv(in, deadline)) > 0)
      if (handle_arp(in, len, ip, mac_out)) {
        if (ip == HOST_IP) memcpy(host_mac, mac_out, 6), host_mac_known = 1;
        return 0;
      }
  }
  return -1;
}

static u32 ipv4(u8 *f, u32 dst, u8 proto, u32 payload) {
  u8 tmp[6];
  if (!host_mac_known && net_arp(HOST_IP, tmp)) return 0;
  u32 o = eth(f, host_mac, 0x0800);
  u8 *ip = f + o;
  static u16 ident = 1;
  ip[0] = 0x45, ip[1] = 0, put16(ip + 2, (u16)(20 + payload)), put16(ip + 4, ident++);
  put16(ip + 6, 0x4000), ip[8] = 64, ip[9] = proto, put16(ip + 10, 0);
  put32(ip + 12, GUEST_IP), put32(ip + 16, dst);
  put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  (void)dst;
  return o + 20;
}

/* waits for an IPv4 packet of proto from ip; returns its payload offset in `in`, or -1 */
static int wait_ip(u32 ip, u8 proto, u64 deadline, int *plen) {
  int len;
  while ((len = netfront_recv(in, deadline)) > 0) {
    if (handle_arp(in, len, 0, NULL)) continue;
    if (len < 34 || get16(in + 12) != 0x0800) continue;
    const u8 *h = in + 14;
    u32 ihl = (h[0] & 15) * 4;
    if (h[9] != proto || get32(h + 12) != ip || get32(h + 16) != GUEST_IP) continue;
    if (csum_fold(csum_add(0, h, ihl)) != 0) continue;
    u32 total = get16(h + 2);
    if (total + 14 > (u32)len || total < ihl) continue;
    *plen = (int)(total - ihl);
    return (int)(14 + ihl);
  }
  return -1;
}

int net_ping(u32 ip, u16 seq, u64 *rtt_ns) {
  u32 o = ipv4(frame, ip, 1, 8 + 32);
  if (!o) return -1;
  u8 *icmp = frame + o;
  icmp[0] = 8, icmp[1] = 0, put16(icmp + 2, 0), put16(icmp + 4, 0x7078), put16(icmp + 6, seq);
  for (int i = 0; i < 32; i++) icmp[8 + i] = (u8)('a' + i % 26);
  put16(icmp + 2, csum_fold(csum_add(0, icmp, 40)));
  u64 t0 = monotonic_ns();
  if (netfront_send(frame, o + 40)) return -2;
  u64 deadline = t0 + 1000000000ull;
  int plen, off;
  while ((off = wait_ip(ip, 1, deadline, &plen)) >= 0) {
    const u8 *r = in + off;
    if (plen >= 8 && r[0] == 0 && get16(r + 4) == 0x7078 && get16(r + 6) == seq &&
        csum_fold(csum_add(0, r, plen)) == 0 && !memcmp(r + 8, icmp + 8, 32)) {
      if (rtt_ns) *rtt_ns = monotonic_ns() - t0;
      return 0;
    }
  }
  return -3;
}

int net_udp_echo(u32 ip, const char *msg) {
  u32 n = strlen(msg);
  u32 o = ipv4(frame, ip, 17, 8 + n);
  if (!o) return -1;
  u8 *u = frame + o;
  put16(u, 40000), put16(u + 2, 7), put16(u + 4, (u16)(8 + n)), put16(u + 6, 0);
  memcpy(u + 8, msg, n);
  u8 pseudo[12];
  put32(pseudo, GUEST_IP), put32(pseudo + 4, ip), pseudo[8] = 0, pseudo[9] = 17;
  put16(pseudo + 10, (u16)(8 + n));
  u16 c = csum_fold(csum_add(csum_add(0, pseudo, 12), u, 8 + n));
  put16(u + 6, c ? c : 0xffff);
  if (netfront_send(frame, o + 8 + n)) return -2;
  u64 deadline = monotonic_ns() + 1000000000ull;
  int plen, off;
  while ((off = wait_ip(ip, 17, deadline, &plen)) >= 0) {
    const u8 *r = in + off;
    if (plen >= 8 && get16(r) == 7 && get16(r + 2) == 40000 && (u32)plen == 8 + n &&
        !memcmp(r + 8, msg, n))
      return 0;
  }
  return -3;
}
