/* lib.c: freestanding string, memory and formatting helpers. */
#include "kernel.h"

void *memset(void *d, int c, size_t n) {
  u8 *p = d;
  while (n--) *p++ = (u8)c;
  return d;
}
void *memcpy(void *d, const void *s, size_t n) {
  u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}
void *memmove(void *d, const void *s, size_t n) {
  u8 *p = d;
  const u8 *q = s;
  if (p < q) return memcpy(d, s, n);
  while (n--) p[n] = q[n];
  return d;
}
int memcmp(const void *a, const void *b, size_t n) {
  const u8 *p = a, *q = b;
  for (; n; n--, p++, q++)
    if (*p != *q) return *p - *q;
  return 0;
}
size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}
int strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (u8)*a - (u8)*b;
}
int strncmp(const char *a, const char *b, size_t n) {
  for (; n; n--, a++, b++) {
    if (*a != *b) return (u8)*a - (u8)*b;
    if (!*a) return 0;
  }
  return 0;
}
char *strcpy(char *d, const char *s) {
  char *r = d;
  while ((*d++ = *s++)) {}
  return r;
}
ulong strtoul(const char *s, const char **end, int base) {
  ulong v = 0;
  if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  for (;; s++) {
    int d;
    if (*s >= '0' && *s <= '9') d = *s - '0';
    else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
    else break;
    if (d >= base) break;
    v = v * base + d;
  }
  if (end) *end = s;
  return v;
}

struct out { char *buf; size_t size, pos; };
static void put(struct out *o, char c) {
  if (o->pos + 1 < o->size) o->buf[o->pos] = c;
  o->pos++;
}
static void put_num(struct out *o, u64 v, int base, int neg, int width, char pad, int upper) {
  char tmp[24];
  int n = 0;
  const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    u32 r = (u32)(v % base);
    v /= base;
    tmp[n++] = dig[r];
  } while (v);
  if (neg) tmp[n++] = '-';
  while (n < width--) put(o, pad);
  while (n) put(o, tmp[--n]);
}
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  struct out o = {buf, size, 0};
  for (; *fmt; fmt++) {
    if (*fmt != '%') { put(&o, *fmt); continue; }
    fmt++;
    char pad = ' ';
    int width = 0, ll = 0;
    if (*fmt == '0') { pad = '0'; fmt++; }
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') { ll++; fmt++; }
    switch (*fmt) {
    /* the argument's width follows the l's: int, long or long long (not the same on x86_64) */
    case 'd': {
      s64 v = ll >= 2 ? va_arg(ap, s64) : ll ? va_arg(ap, long) : va_arg(ap, int);
      put_num(&o, v < 0 ? (u64)-v : (u64)v, 10, v < 0, width, pad, 0);
      break;
    }
#define UARG() (ll >= 2 ? va_arg(ap, u64) : ll ? va_arg(ap, ulong) : va_arg(ap, unsigned))
    case 'u': put_num(&o, UARG(), 10, 0, width, pad, 0); break;
    case 'x': put_num(&o, UARG(), 16, 0, width, pad, 0); break;
    case 'X': put_num(&o, UARG(), 16, 0, width, pad, 1); break;
    case 'p': put(&o, '0'); put(&o, 'x'); put_num(&o, va_arg(ap, ulong), 16, 0, 2 * sizeof(void *), '0', 0); break;
    case 'c': put(&o, (char)va_arg(ap, int)); break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s) s = "(null)";
      int n = (int)strlen(s);
      while (n < width--) put(&o, ' ');
      while (*s) put(&o, *s++);
      break;
    }
    case '%': put(&o, '%'); break;
    default: put(&o, '%'); put(&o, *fmt); break;
    }
  }
  if (size) buf[o.pos < size ? o.pos : size - 1] = 0;
  return (int)o.pos;
}
int snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}
