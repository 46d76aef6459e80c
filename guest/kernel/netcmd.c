/*
 * netcmd.c: the network boot modes, for guests that get no console input (several
 * domains in one pvx): ping=IP[,COUNT] pings and powers off with the result, and
 * netserve=SECONDS answers ARP and ICMP echo for that long (guest time), then powers off.
 */
#include "kernel.h"
#include "netfront.h"

#define PING_MAX 1000
#define SERVE_MAX 86400
#define RESOLVE_TRIES 25 /* 200 ms each: a peer may still be booting */

static void print_ip(const char *pre, u32 ip, const char *post) {
  printk("%s%lu.%lu.%lu.%lu%s", pre, (ulong)(ip >> 24), (ulong)(ip >> 16 & 255),
         (ulong)(ip >> 8 & 255), (ulong)(ip & 255), post);
}

/* the value of word= up to the next space, copied for messages */
static const char *arg_text(const char *word) {
  static char buf[40];
  const char *v = cmdline_value(word);
  size_t i = 0;
  while (v && v[i] && v[i] != ' ' && i < sizeof(buf) - 1) buf[i] = v[i], i++;
  buf[i] = 0;
  return buf;
}

static ulong parse_count(const char *s, const char **end) {
  if (*s < '0' || *s > '9') return 0;
  ulong n = strtoul(s, end, 10);
  return **end && **end != ' ' ? 0 : n;
}

/* pings ip count times, one line per reply; 1 when every echo was answered */
static int ping_mode(u32 ip, ulong count) {
  u8 mac[6];
  print_ip("ping: ", ip, "");
  printk(", %lu echo requests from ", count);
  print_ip("", guest_ip, "\n");
  if (net_resolve(ip, mac, RESOLVE_TRIES)) {
    print_ip("ping: no ARP reply for the way to ", ip, "\n");
    return 0;
  }
  ulong ok = 0;
  for (ulong i = 1; i <= count; i++) {
    u64 rtt;
    int rc = net_ping(ip, (u16)i, &rtt);
    if (rc == 0) {
      print_ip("40 bytes from ", ip, "");
      printk(": icmp_seq=%lu time=%lu us\n", i, (ulong)(rtt / 1000));
      ok++;
    } else {
      printk("ping: no reply to icmp_seq=%lu (%d)\n", i, rc);
    }
  }
  printk("ping: %lu of %lu replies\n", ok, count);
  return ok == count;
}

void net_boot_modes(void) {
  if (net_ip_init()) panic("ip=%s: not a usable IPv4 address", arg_text("ip"));
  const char *ping = cmdline_value("ping"), *serve = cmdline_value("netserve");
  if (!ping && !serve) return;
  u32 ip = 0;
  ulong count = 4, seconds = 0;
  if (ping) {
    const char *end;
    if (net_parse_ip(ping, &end, &ip) || !ip)
      panic("ping=%s: want ping=IP[,COUNT], e.g. ping=10.0.0.3,3", arg_text("ping"));
    if (*end == ',') count = parse_count(end + 1, &end);
    if ((*end && *end != ' ') || count < 1 || count > PING_MAX)
      panic("ping=%s: want ping=IP[,COUNT] with COUNT 1..%d", arg_text("ping"), PING_MAX);
  }
  if (serve) {
    const char *end;
    seconds = parse_count(serve, &end);
    if (seconds < 1 || seconds > SERVE_MAX)
      panic("netserve=%s: want netserve=SECONDS, 1..%d", arg_text("netserve"), SERVE_MAX);
  }
  int rc = netfront_init();
  if (rc) panic("%s: no network (netfront %d)", ping ? "ping" : "netserve", rc);
  int good = ping ? ping_mode(ip, count) : 1;
  if (serve) {
    print_ip("netserve: ", guest_ip, "");
    printk(" answers ARP and ICMP echo for %lu s\n", seconds);
    int n = net_serve(monotonic_ns() + (u64)seconds * 1000000000ull);
    printk("netserve: answered %d echo requests, %lu ARP requests\n", n, net_arp_replies);
  }
  poweroff(good ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}
