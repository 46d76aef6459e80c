/* ulib.h: the user programs' tiny libc (Linux system calls: i386 via int 0x80, x86_64 via
   syscall). */
#ifndef PVX_ULIB_H
#define PVX_ULIB_H
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long size_t;
typedef __builtin_va_list va_list;
#define va_start(a, b) __builtin_va_start(a, b)
#define va_end(a) __builtin_va_end(a)
#define va_arg(a, t) __builtin_va_arg(a, t)
#define NULL ((void *)0)

long syscall3(long nr, long a, long b, long c);
long syscall6(long nr, long a, long b, long c, long d, long e, long f);
#ifdef __x86_64__
#define SYS_exit 60
#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_time 201
#define SYS_getpid 39
#define SYS_brk 12
#define SYS_reboot 169
#define SYS_sysinfo 99
#define SYS_uname 63
#define SYS_nanosleep 35
#define SYS_mmap2 9 /* mmap: the same arguments for an anonymous mapping */
#define SYS_clock_gettime 228
#define UTS_MACHINE "x86_64"
#define KERNEL_BASE 0xFFFFFFFF80000000ul
#else
#define SYS_exit 1
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_time 13
#define SYS_getpid 20
#define SYS_brk 45
#define SYS_reboot 88
#define SYS_sysinfo 116
#define SYS_uname 122
#define SYS_nanosleep 162
#define SYS_mmap2 192
#define SYS_clock_gettime 265
#define UTS_MACHINE "i686"
#define KERNEL_BASE 0xC0000000ul
#endif
#define PVX_stats 0x1000
#define PVX_balloon 0x1001
#define PVX_selftest 0x1002
#define PVX_ping 0x1003
#define PVX_ls 0x1004
#define PVX_run 0x1005

struct utsname { char sysname[65], nodename[65], release[65], version[65], machine[65], domain[65]; };
struct sysinfo {
  long uptime; unsigned long loads[3]; unsigned long totalram, freeram, sharedram, bufferram,
      totalswap, freeswap;
  unsigned short procs, pad; unsigned long totalhigh, freehigh; u32 mem_unit; char f[8];
};

void exit(int s) __attribute__((noreturn));
long read(int fd, void *b, size_t n);
long write(int fd, const void *b, size_t n);
int open(const char *p, int flags);
int close(int fd);
long time(long *t);
int getpid(void);
void *sbrk(long inc);
void *mmap_anon(size_t len);
int uname(struct utsname *u);
int sysinfo(struct sysinfo *s);
int nanosleep_ms(long ms);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
void *memset(void *d, int c, size_t n);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...);
int printf(const char *fmt, ...);
long atol(const char *s);
#endif
