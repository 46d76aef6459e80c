/*
 * pvx_calls.c: pvx-specific system calls for the shell (numbers from 0x1000):
 * 0x1000 stats(buf, len), 0x1001 balloon(pages: >0 out, <0 back in), 0x1002 selftest(),
 * 0x1003 ping(ipv4, count), 0x1004 ls(buf, len), 0x1005 run(name).
 */
#include "kernel.h"
#include "user.h"
#include "netfront.h"

static ulong ballooned[64];

static int user_buf(ulong p, ulong n) { return p < USER_SPACE_END && n <= USER_SPACE_END - p; }

long pvx_syscall(u32 nr, ulong a, ulong b) {
  switch (nr) {
  case 0x1000:
    if (!user_buf(a, b)) return -14;
    return snprintf((char *)a, b,
                    "hypercalls %lu\nevents %lu\ntimer ticks %lu\nsyscalls %lu\ngrants %lu\n"
                    "multicalls %lu\npage faults %lu\nfpu traps %lu\nballooned pages %lu\n",
                    (ulong)stat_hypercalls, (ulong)stat_events, (ulong)stat_ticks,
                    (ulong)stat_syscalls, (ulong)stat_grants, (ulong)stat_multicalls,
                    (ulong)stat_traps[14], (ulong)stat_traps[7], balloon_pages);
  case 0x1001: {
    long n = (long)a;
    if (n > 0) {
      if (balloon_pages + n > ARRAY_SIZE(ballooned)) return -22;
      if (balloon_out((ulong)n, ballooned + balloon_pages)) return -12;
    } else if (n < 0) {
      if ((ulong)-n > balloon_pages) n = -(long)balloon_pages;
      if (balloon_in((ulong)-n, ballooned + balloon_pages + n)) return -12;
    }
    return (long)balloon_pages;
  }
  case 0x1002: return selftest_run();
  case 0x1003: { /* ping(ip, count): replies received */
    if (netfront_init() != 0) return -19; /* ENODEV */
    long ok = 0;
    for (ulong i = 0; i < b && i < 16; i++) {
      u64 rtt;
      if (net_ping((u32)a, (u16)(i + 1), &rtt) == 0) {
        printk("%lu bytes from %lu.%lu.%lu.%lu: icmp_seq=%lu time=%lu us\n", 40ul, a >> 24,
               (a >> 16) & 255, (a >> 8) & 255, a & 255, i + 1, (ulong)(rtt / 1000));
        ok++;
      }
    }
    return ok;
  }
  case 0x1005: { /* run(name): runs an archive program and waits; its exit status */
    char name[24];
    if (!user_buf(a, 1)) return -14;
    ulong i = 0;
    for (; i < sizeof(name) - 1 && user_buf(a + i, 1) && ((char *)a)[i]; i++) name[i] = ((char *)a)[i];
    name[i] = 0;
    size_t len;
    const void *elf = ramdisk_find(name, &len);
    if (!elf) return -2;
    int status = 0;
    int rc = user_run(elf, len, name, &status);
    return rc < 0 ? rc : status;
  }
  case 0x1004:
    if (!user_buf(a, b)) return -14;
    return ramdisk_list((char *)a, b);
  }
  return -38;
}
