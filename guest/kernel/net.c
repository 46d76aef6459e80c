/*
 * net.c: the guest's IPv4 stack, just enough for the selftest, the shell's ping and two
 * guests pinging each other: ARP (request, reply, a small cache), ICMP echo (request and
 * reply), UDP (echo to port 7), checksums. Destinations on our /24 are reached directly,
 * others through the host endpoint 10.0.0.1.
 */
#include "kernel.h"
#include "netfront.h"

#define ARP_SLOTS 8

static const u8 bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
/* frame: what ping/udp send; in: the frame received; out: ARP and echo replies */
static u8 frame[2048], in[2048], out[2048];
static struct { u32 ip; u8 mac[6]; } arp_cache[ARP_SLOTS];
static u32 arp_next;
u32 guest_ip = GUEST_IP;
ulong net_echo_replies, net_arp_replies;

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

int net_parse_ip(const char *s, const char **end, u32 *ip) {
  u32 v = 0;
  for (int i = 0; i < 4; i++) {
    const char *e;
    if (*s < '0' || *s > '9') return -1;
    ulong part = strtoul(s, &e, 10);
    if (e == s || e - s > 3 || part > 255 || (i < 3 && *e != '.')) return -1;
    v = v << 8 | (u32)part;
    s = i < 3 ? e + 1 : e;
  }
  if (end) *end = s;
  *ip = v;
  return 0;
}

static void arp_learn(u32 ip, const u8 *mac) {
  if (!ip || ip == guest_ip || (mac[0] & 1)) return; /* no multicast/broadcast senders */
  for (u32 i = 0; i < ARP_SLOTS; i++)
    if (arp_cache[i].ip == ip) {
      memcpy(arp_cache[i].mac, mac, 6);
      return;
    }
  arp_cache[arp_next].ip = ip;
  memcpy(arp_cache[arp_next].mac, mac, 6);
  arp_next = (arp_next + 1) % ARP_SLOTS;
}

int net_arp_lookup(u32 ip, u8 *mac_out) {
  for (u32 i = 0; i < ARP_SLOTS; i++)
    if (ip && arp_cache[i].ip == ip) {
      if (mac_out) memcpy(mac_out, arp_cache[i].mac, 6);
      return 0;
    }
  return -1;
}

static u32 eth(u8 *f, const u8 *dst, u16 type) {
  memcpy(f, dst, 6);
  memcpy(f + 6, net.mac, 6);
  put16(f + 12, type);
  return 14;
}

static void send_arp(u16 op, const u8 *dst_mac, u32 dst_ip) {
  u32 o = eth(out, op == 1 ? bcast : dst_mac, 0x0806);
  u8 *a = out + o;
  put16(a, 1), put16(a + 2, 0x0800), a[4] = 6, a[5] = 4, put16(a + 6, op);
  memcpy(a + 8, net.mac, 6), put32(a + 14, guest_ip);
  memcpy(a + 18, op == 1 ? (const u8 *)"\0\0\0\0\0\0" : dst_mac, 6), put32(a + 24, dst_ip);
  memset(a + 28, 0, 60 - o - 28);
  netfront_send(out, 60);
}

/* an IPv4 header (no options) after the Ethernet header; returns the payload offset */
static u32 ip_header(u8 *f, const u8 *dst_mac, u32 dst, u8 proto, u32 payload) {
  static u16 ident = 1;
  u32 o = eth(f, dst_mac, 0x0800);
  u8 *ip = f + o;
  ip[0] = 0x45, ip[1] = 0, put16(ip + 2, (u16)(20 + payload)), put16(ip + 4, ident++);
  put16(ip + 6, 0x4000), ip[8] = 64, ip[9] = proto, put16(ip + 10, 0);
  put32(ip + 12, guest_ip), put32(ip + 16, dst);
  put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  return o + 20;
}

/* the IPv4 header of a received frame when it is valid and addressed to us, else NULL */
static const u8 *ip_for_us(const u8 *f, int len, u32 *ihl, u32 *total) {
  if (len < 34 || get16(f + 12) != 0x0800) return NULL;
  const u8 *h = f + 14;
  *ihl = (u32)(h[0] & 15) * 4;
  *total = get16(h + 2);
  if ((h[0] >> 4) != 4 || *ihl < 20 || *total < *ihl || *total + 14 > (u32)len) return NULL;
  if (get32(h + 16) != guest_ip || csum_fold(csum_add(0, h, *ihl)) != 0) return NULL;
  if (get16(h + 6) & 0x3fff) return NULL; /* fragments: not ours to reassemble */
  return h;
}

static void echo_reply(const u8 *f, const u8 *h, u32 ihl, u32 total) {
  const u8 *icmp = h + ihl;
  u32 n = total - ihl;
  if (n < 8 || icmp[0] != 8 || icmp[1] != 0 || csum_fold(csum_add(0, icmp, n)) != 0) return;
  u32 o = ip_header(out, f + 6, get32(h + 12), 1, n);
  memcpy(out + o, icmp, n);
  out[o] = 0, put16(out + o + 2, 0);
  put16(out + o + 2, csum_fold(csum_add(0, out + o, n)));
  if (netfront_send(out, o + n < 60 ? 60 : o + n) == 0) net_echo_replies++;
}

int net_input(const u8 *f, int len) {
  if (len >= 42 && get16(f + 12) == 0x0806) {
    const u8 *a = f + 14;
    if (get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4) return 0;
    u16 op = get16(a + 6);
    u32 sender = get32(a + 14), target = get32(a + 24);
    if (target != guest_ip) return 0;
    arp_learn(sender, a + 8);
    if (op == 1) send_arp(2, a + 8, sender), net_arp_replies++;
    return op == 2 ? 2 : 1;
  }
  u32 ihl, total;
  const u8 *h = ip_for_us(f, len, &ihl, &total);
  if (h && h[9] == 1 && h[ihl] == 8) {
    echo_reply(f, h, ihl, total);
    return 1;
  }
  return 0;
}

static int arp_resolve(u32 ip, u8 *mac_out, int tries) {
  for (int t = 0; t < tries; t++) {
    send_arp(1, bcast, ip);
    u64 deadline = monotonic_ns() + 200000000ull;
    int len;
    while ((len = netfront_recv(in, deadline)) > 0)
      if (net_input(in, len) == 2 && net_arp_lookup(ip, mac_out) == 0) return 0;
  }
  return -1;
}

int net_arp(u32 ip, u8 *mac_out) { return arp_resolve(ip, mac_out, 3); }

int net_resolve(u32 ip, u8 *mac_out, int tries) {
  u32 hop = (ip & 0xffffff00u) == (guest_ip & 0xffffff00u) ? ip : HOST_IP;
  if (net_arp_lookup(hop, mac_out) == 0) return 0;
  return arp_resolve(hop, mac_out, tries);
}

static u32 ipv4(u8 *f, u32 dst, u8 proto, u32 payload) {
  u8 mac[6];
  if (net_resolve(dst, mac, 3)) return 0;
  return ip_header(f, mac, dst, proto, payload);
}

/* waits for an IPv4 packet of proto from ip; returns its payload offset in `in`, or -1.
 * ARP and echo requests for us that arrive meanwhile are answered. */
static int wait_ip(u32 ip, u8 proto, u64 deadline, int *plen) {
  int len;
  while ((len = netfront_recv(in, deadline)) > 0) {
    if (net_input(in, len)) continue;
    u32 ihl, total;
    const u8 *h = ip_for_us(in, len, &ihl, &total);
    if (!h || h[9] != proto || get32(h + 12) != ip) continue;
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
  put32(pseudo, guest_ip), put32(pseudo + 4, ip), pseudo[8] = 0, pseudo[9] = 17;
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

int net_serve(u64 until_ns) {
  ulong before = net_echo_replies;
  int len;
  while ((len = netfront_recv(in, until_ns)) > 0) net_input(in, len);
  return (int)(net_echo_replies - before);
}

int net_ip_init(void) {
  const char *arg = cmdline_value("ip");
  if (arg) {
    const char *end;
    u32 ip;
    if (net_parse_ip(arg, &end, &ip) || (*end && *end != ' ') || !ip || ip == 0xffffffffu ||
        ip == HOST_IP)
      return -1;
    guest_ip = ip;
    return 0;
  }
  char buf[16];
  const char *end;
  if (xs_read("domid", buf, sizeof(buf)) > 0) {
    ulong domid = strtoul(buf, &end, 10);
    if (end != buf && !*end && domid >= 1 && domid <= 253) guest_ip = HOST_IP + (u32)domid;
  }
  return 0;
}
