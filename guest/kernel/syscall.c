/*
 * syscall.c: system calls. x86_32: int 0x80 with Linux i386 numbers and convention (eax =
 * number, ebx, ecx, edx, esi, edi, ebp = arguments); x86_64: the syscall instruction
 * (Xen's syscall callback) with Linux x86_64 numbers (rax; rdi, rsi, rdx, r10, r8, r9),
 * translated to the i386 numbers the one dispatcher below uses. Result or -errno in
 * eax / rax. Plus a few pvx calls (numbers from 0x1000, documented in guest/README.md).
 */
#include "kernel.h"
#include "user.h"

#define EPERM 1
#define ENOENT 2
#define EBADF 9
#define ENOMEM 12
#define EFAULT 14
#define EINVAL 22
#define EMFILE 24
#define ENOSYS 38

#define SYS_exit 1
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_time 13
#define SYS_getpid 20
#define SYS_brk 45
#define SYS_reboot 88
#define SYS_mmap 90
#define SYS_munmap 91
#define SYS_sysinfo 116
#define SYS_uname 122
#define SYS_nanosleep 162
#define SYS_mmap2 192
#define SYS_exit_group 252
#define SYS_clock_gettime 265
#define SYS_ioctl 54
#define SYS_getppid 64
#define SYS_gettimeofday 78
#define SYS_readlink 85
#define SYS_mprotect 125
#define SYS_writev 146
#define SYS_ugetrlimit 191
#define SYS_getuid32 199
#define SYS_getgid32 200
#define SYS_geteuid32 201
#define SYS_getegid32 202
#define SYS_set_thread_area 243
#define SYS_set_tid_address 258
#define SYS_set_robust_list 311
#define SYS_getrandom 355
#define SYS_openat 295
#define SYS_arch_prctl 384 /* x86_64 only (i386's number, for the table below) */
#define ENOTTY 25
#define ESRCH 3

#ifdef __x86_64__
/* Linux x86_64 numbers -> the i386 numbers above (0 = not implemented) */
static const struct { u16 x64, i386; } x64_calls[] = {
    {0, SYS_read},          {1, SYS_write},          {2, SYS_open},
    {3, SYS_close},         {9, SYS_mmap2},          {10, SYS_mprotect},
    {11, SYS_munmap},       {12, SYS_brk},           {16, SYS_ioctl},
    {20, SYS_writev},       {35, SYS_nanosleep},     {39, SYS_getpid},
    {60, SYS_exit},         {63, SYS_uname},         {89, SYS_readlink},
    {96, SYS_gettimeofday}, {97, SYS_ugetrlimit},    {99, SYS_sysinfo},
    {102, SYS_getuid32},    {104, SYS_getgid32},     {107, SYS_geteuid32},
    {108, SYS_getegid32},   {110, SYS_getppid},      {158, SYS_arch_prctl},
    {169, SYS_reboot},      {201, SYS_time},         {218, SYS_set_tid_address},
    {228, SYS_clock_gettime}, {231, SYS_exit_group}, {257, SYS_openat},
    {273, SYS_set_robust_list}, {318, SYS_getrandom},
};
static ulong native_nr(ulong nr) {
  if (nr >= 0x1000) return nr; /* pvx calls */
  for (unsigned i = 0; i < ARRAY_SIZE(x64_calls); i++)
    if (x64_calls[i].x64 == nr) return x64_calls[i].i386;
  return 0;
}
#else
static ulong native_nr(ulong nr) { return nr; }
#endif

volatile u32 stat_syscalls;
extern char xen_extra[];
extern ulong xen_ver;
struct file { const char *data; size_t size, pos; int used; };
static struct file files[8];

static int user_range(ulong p, ulong n) { return p < USER_SPACE_END && n <= USER_SPACE_END - p; }

static long sys_read(int fd, char *buf, ulong n) {
  if (!user_range((ulong)buf, n)) return -EFAULT;
  if (n == 0) return 0;
  if (fd == 0) {
    if (!console_ring_active()) return 0;
    for (;;) {
      int got = console_read(buf, n);
      if (got) return got;
      control_poll();
      /* a slow tick (1 s) while waiting for the keyboard: an idle shell costs the host
         next to nothing, and still has a timer (it is waiting, not hung) */
      HYPERVISOR_set_timer_op(monotonic_ns() + 1000000000ull);
      wait_for_event();
      tick_resume();
    }
  }
  if (fd < 3 || fd >= 3 + (int)ARRAY_SIZE(files) || !files[fd - 3].used) return -EBADF;
  struct file *f = &files[fd - 3];
  ulong left = f->size - f->pos;
  if (n > left) n = left;
  memcpy(buf, f->data + f->pos, n);
  f->pos += n;
  return (long)n;
}

static long sys_open(const char *path) {
  if (!user_range((ulong)path, 1)) return -EFAULT;
  size_t len;
  const void *d = ramdisk_find(path, &len);
  if (!d) return -ENOENT;
  for (int i = 0; i < (int)ARRAY_SIZE(files); i++) {
    if (files[i].used) continue;
    files[i] = (struct file){d, len, 0, 1};
    return i + 3;
  }
  return -EMFILE;
}

static long sys_brk(ulong want) {
  if (want < proc.brk_base || want >= USER_MMAP_BASE) return (long)proc.brk;
  for (ulong va = (proc.brk + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); va < want; va += PAGE_SIZE)
    if (user_map_page(va, NULL)) return (long)proc.brk;
  proc.brk = want;
  return (long)want;
}

static long sys_mmap(ulong addr, ulong len, ulong prot, ulong flags, long fd) {
  (void)addr, (void)prot;
  if (!(flags & 0x20) || fd != -1) return -EINVAL; /* MAP_ANONYMOUS only */
  len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  if (!len || len > USER_MMAP_END - proc.mmap_next) return -ENOMEM;
  ulong va = proc.mmap_next;
  for (ulong o = 0; o < len; o += PAGE_SIZE)
    if (user_map_page(va + o, NULL)) return -ENOMEM;
  proc.mmap_next += len;
  return (long)va;
}

static void put_field(char *dst, const char *s) {
  memset(dst, 0, 65);
  strcpy(dst, s);
}

static long sys_uname(char *u) {
  if (!user_range((ulong)u, 6 * 65)) return -EFAULT;
  char node[64] = "pvx-guest", ver[64];
  xs_read("name", node, sizeof(node));
  snprintf(ver, sizeof(ver), "pvx-guest on Xen %lu.%lu%s", xen_ver >> 16, xen_ver & 0xffff,
           xen_extra);
  put_field(u, "pvx");
  put_field(u + 65, node);
  put_field(u + 130, "1.0");
  put_field(u + 195, ver);
  put_field(u + 260, UTS_MACHINE);
  put_field(u + 325, "(none)");
  return 0;
}

struct sysinfo_i386 {
  long uptime; ulong loads[3]; ulong totalram, freeram, sharedram, bufferram, totalswap, freeswap;
  u16 procs, pad; ulong totalhigh, freehigh; u32 mem_unit; char f[8];
};

long pvx_syscall(u32 nr, ulong a, ulong b); /* pvx_calls.c */

/* set_thread_area(struct user_desc *): one TLS slot, GDT_TLS_ENTRY */
static long sys_set_thread_area(u32 *u) {
  if (!user_range((ulong)u, 16)) return -EFAULT;
  if (u[0] != (u32)-1 && u[0] != GDT_TLS_ENTRY) return -EINVAL;
  u32 base = u[1], limit = u[2], f = u[3];
  u64 desc = 0;
  if (!(f & (1u << 5)) || base || limit) { /* not an empty descriptor */
    u32 access = 0x80 | (3 << 5) | 0x10 | ((f >> 1) & 3) << 2 | (f & 8 ? 0 : 2) | 1;
    if (f & (1u << 5)) access &= ~0x80u; /* seg_not_present */
    u32 lo = (limit & 0xffff) | ((base & 0xffff) << 16);
    u32 hi = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) |
             ((f & 1) ? (1u << 22) : 0) | ((f & 16) ? (1u << 23) : 0) | ((f & 64) ? (1u << 20) : 0) |
             (base & 0xff000000);
    desc = ((u64)hi << 32) | lo;
  }
  if (gdt_set_tls(desc) != 0) return -EINVAL;
  proc.tls_desc = desc;
  u[0] = GDT_TLS_ENTRY;
  return 0;
}

static long sys_writev(int fd, const ulong *iov, ulong n) {
  if (fd != 1 && fd != 2) return -EBADF;
  if (n > 1024 || !user_range((ulong)iov, n * 2 * sizeof(ulong))) return -EFAULT;
  long total = 0;
  for (ulong i = 0; i < n; i++) {
    if (!user_range(iov[2 * i], iov[2 * i + 1])) return -EFAULT;
    console_write((const char *)iov[2 * i], iov[2 * i + 1]);
    total += (long)iov[2 * i + 1];
  }
  return total;
}

int ctx_save(struct kctx *c) __attribute__((returns_twice));

/*
 * A bad user pointer (unmapped, in user space) faults inside the kernel: the page-fault
 * handler resumes here through proc.uctx and the call returns -EFAULT.
 */
int syscall_dispatch(struct regs *r) {
  stat_syscalls++;
  if (ctx_save(&proc.uctx)) {
    proc.uaccess = 0;
    SC_RET(r) = (ulong)-EFAULT;
    return 0;
  }
  proc.uaccess = 1;
  ulong a = SC_ARG(r, 0), b = SC_ARG(r, 1), c = SC_ARG(r, 2), nr = native_nr(SC_NR(r));
  long ret;
  switch (nr) {
  case SYS_exit:
  case SYS_exit_group: user_exit((int)(a & 0xff));
  case SYS_read: ret = sys_read((int)a, (char *)b, c); break;
  case SYS_write:
    if (!user_range(b, c)) ret = -EFAULT;
    else if (a == 1 || a == 2) console_write((const char *)b, c), ret = (long)c;
    else ret = -EBADF;
    break;
  case SYS_open: ret = sys_open((const char *)a); break;
  case SYS_openat: ret = (long)a == -100 || (b && user_range(b, 1) && *(const char *)b == '/')
                             ? sys_open((const char *)b)
                             : -EBADF;
    break;
  case SYS_close:
    if (a >= 3 && a < 3 + ARRAY_SIZE(files) && files[a - 3].used) files[a - 3].used = 0, ret = 0;
    else ret = -EBADF;
    break;
  case SYS_time: {
    ulong t = (ulong)wallclock_sec();
    if (a && user_range(a, sizeof(ulong))) *(ulong *)a = t;
    ret = (long)t;
    break;
  }
  case SYS_getpid: ret = (long)proc.pid; break;
  case SYS_brk: ret = sys_brk(a); break;
  case SYS_mmap: {
    ulong *args = (ulong *)a;
    if (!user_range(a, 24)) { ret = -EFAULT; break; }
    ret = sys_mmap(args[0], args[1], args[2], args[3], (long)args[4]);
    break;
  }
  case SYS_mmap2: ret = sys_mmap(a, b, c, SC_ARG(r, 3), (long)SC_ARG(r, 4)); break;
  case SYS_munmap: ret = 0; break; /* pages stay until exit */
  case SYS_uname: ret = sys_uname((char *)a); break;
  case SYS_sysinfo: {
    struct sysinfo_i386 *s = (void *)a;
    if (!user_range(a, sizeof(*s))) { ret = -EFAULT; break; }
    memset(s, 0, sizeof(*s));
    s->uptime = (long)(monotonic_ns() / 1000000000ull);
    s->totalram = nr_pages;
    s->freeram = free_page_count();
    s->procs = 1;
    s->mem_unit = PAGE_SIZE;
    ret = 0;
    break;
  }
  case SYS_nanosleep: {
    ulong *ts = (ulong *)a;
    if (!user_range(a, 2 * sizeof(ulong))) { ret = -EFAULT; break; }
    if (ts[1] >= 1000000000u) { ret = -EINVAL; break; }
    block_until(monotonic_ns() + (u64)ts[0] * 1000000000ull + ts[1]);
    ret = 0;
    break;
  }
  case SYS_clock_gettime: {
    ulong *ts = (ulong *)b;
    if (!user_range(b, 2 * sizeof(ulong))) { ret = -EFAULT; break; }
    u64 ns = monotonic_ns();
    if (a == 0) ns += (u64)shared->wc_sec * 1000000000ull + shared->wc_nsec; /* REALTIME */
    ts[0] = (ulong)(ns / 1000000000ull);
    ts[1] = (ulong)(ns % 1000000000ull);
    ret = 0;
    break;
  }
  case SYS_ioctl: ret = a <= 2 ? -ENOTTY : -EBADF; break;
  case SYS_getppid: ret = proc_depth > 1 ? (long)(curproc - 1)->pid : 0; break;
  case SYS_gettimeofday: {
    ulong *tv = (ulong *)a;
    if (!user_range(a, 2 * sizeof(ulong))) { ret = -EFAULT; break; }
    u64 ns = monotonic_ns() + (u64)shared->wc_sec * 1000000000ull + shared->wc_nsec;
    tv[0] = (ulong)(ns / 1000000000ull);
    tv[1] = (ulong)(ns % 1000000000ull / 1000);
    ret = 0;
    break;
  }
  case SYS_readlink: ret = -ENOENT; break;
  case SYS_mprotect: ret = 0; break; /* every user page stays read-write */
  case SYS_writev: ret = sys_writev((int)a, (const ulong *)b, c); break;
  case SYS_ugetrlimit: {
    ulong *rl = (ulong *)b;
    if (!user_range(b, 2 * sizeof(ulong))) { ret = -EFAULT; break; }
    rl[0] = a == 3 ? USER_STACK_PAGES * PAGE_SIZE : ~0ul; /* RLIMIT_STACK */
    rl[1] = ~0ul;
    ret = 0;
    break;
  }
  case SYS_getuid32: case SYS_getgid32: case SYS_geteuid32: case SYS_getegid32: ret = 0; break;
  case SYS_set_thread_area: ret = sys_set_thread_area((u32 *)a); break;
  case SYS_set_tid_address: ret = (long)proc.pid; break;
  case SYS_set_robust_list: ret = 0; break;
#ifdef __x86_64__
  case SYS_arch_prctl: /* ARCH_SET_FS (0x1002) only: the fs base, kept across switches */
    if (a != 0x1002) { ret = -EINVAL; break; }
    if (b >= USER_SPACE_END) { ret = -EPERM; break; }
    ret = HYPERVISOR_set_segment_base(SEGBASE_FS, b) ? -EINVAL : 0;
    if (!ret) proc.fs_base = b;
    break;
#endif
  case SYS_getrandom: {
    u8 *p = (u8 *)a;
    if (!user_range(a, b)) { ret = -EFAULT; break; }
    static u64 seed = 0x9e3779b97f4a7c15ull;
    for (ulong i = 0; i < b; i++) {
      seed = seed * 6364136223846793005ull + rdtsc();
      p[i] = (u8)(seed >> 56);
    }
    ret = (long)b;
    break;
  }
  case SYS_reboot:
    if (a != 0xfee1dead) { ret = -EINVAL; break; }
    if (c == 0x4321FEDC) poweroff(SHUTDOWN_poweroff);
    if (c == 0x01234567) poweroff(SHUTDOWN_reboot);
    ret = -EINVAL;
    break;
  default:
    ret = nr >= 0x1000 ? pvx_syscall((u32)nr, a, b) : -ENOSYS;
  }
  proc.uaccess = 0;
  SC_RET(r) = (ulong)ret;
  return 0;
}
