/* libc.c: system call wrappers and formatting for the user programs. */
#include "ulib.h"

#ifdef __x86_64__
long syscall6(long nr, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return r;
}
long syscall3(long nr, long a, long b, long c) { return syscall6(nr, a, b, c, 0, 0, 0); }
#else
long syscall3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "0"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}
long syscall6(long nr, long a, long b, long c, long d, long e, long f) {
  long r;
  __asm__ volatile("pushl %%ebp\n\tmovl %7, %%ebp\n\tint $0x80\n\tpopl %%ebp"
                   : "=a"(r)
                   : "0"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "m"(f)
                   : "memory");
  return r;
}
#endif
void exit(int s) {
  for (;;) syscall3(SYS_exit, s, 0, 0);
}
long read(int fd, void *b, size_t n) { return syscall3(SYS_read, fd, (long)b, n); }
long write(int fd, const void *b, size_t n) { return syscall3(SYS_write, fd, (long)b, n); }
int open(const char *p, int flags) { return (int)syscall3(SYS_open, (long)p, flags, 0); }
int close(int fd) { return (int)syscall3(SYS_close, fd, 0, 0); }
long time(long *t) { return syscall3(SYS_time, (long)t, 0, 0); }
int getpid(void) { return (int)syscall3(SYS_getpid, 0, 0, 0); }
void *sbrk(long inc) {
  static long cur;
  if (!cur) cur = syscall3(SYS_brk, 0, 0, 0);
  long old = cur, want = cur + inc;
  if (syscall3(SYS_brk, want, 0, 0) != want) return (void *)-1;
  cur = want;
  return (void *)old;
}
void *mmap_anon(size_t len) { return (void *)syscall6(SYS_mmap2, 0, len, 3, 0x22, -1, 0); }
int uname(struct utsname *u) { return (int)syscall3(SYS_uname, (long)u, 0, 0); }
int sysinfo(struct sysinfo *s) { return (int)syscall3(SYS_sysinfo, (long)s, 0, 0); }
int nanosleep_ms(long ms) {
  long ts[2] = {ms / 1000, (ms % 1000) * 1000000};
  return (int)syscall3(SYS_nanosleep, (long)ts, 0, 0);
}
size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}
int strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (unsigned char)*a - (unsigned char)*b;
}
int strncmp(const char *a, const char *b, size_t n) {
  for (; n; n--, a++, b++) {
    if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
    if (!*a) return 0;
  }
  return 0;
}
void *memset(void *d, int c, size_t n) {
  unsigned char *p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
long atol(const char *s) {
  long v = 0, neg = 0;
  if (*s == '-') neg = 1, s++;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return neg ? -v : v;
}
static void put(char *b, size_t sz, size_t *o, char c) {
  if (*o + 1 < sz) b[*o] = c;
  (*o)++;
}
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  size_t o = 0;
  for (; *fmt; fmt++) {
    if (*fmt != '%') { put(buf, size, &o, *fmt); continue; }
    fmt++;
    int width = 0;
    char pad = ' ';
    if (*fmt == '0') pad = '0', fmt++;
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    int l = *fmt == 'l';
    if (l) fmt++;
    if (*fmt == 's') {
      const char *s = va_arg(ap, const char *);
      while (*s) put(buf, size, &o, *s++);
      continue;
    }
    if (*fmt == 'c') { put(buf, size, &o, (char)va_arg(ap, int)); continue; }
    unsigned long v;
    int neg = 0, base = *fmt == 'x' ? 16 : 10;
    if (*fmt == 'd') {
      long s = l ? va_arg(ap, long) : va_arg(ap, int);
      neg = s < 0;
      v = neg ? -(unsigned long)s : (unsigned long)s;
    } else {
      v = l ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
    }
    char t[24];
    int n = 0;
    do t[n++] = "0123456789abcdef"[v % base], v /= base; while (v);
    if (neg) t[n++] = '-';
    while (n < width--) put(buf, size, &o, pad);
    while (n) put(buf, size, &o, t[--n]);
  }
  if (size) buf[o < size ? o : size - 1] = 0;
  return (int)o;
}
int snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}
int printf(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > (int)sizeof(buf) - 1) n = sizeof(buf) - 1;
  return (int)write(1, buf, n);
}
