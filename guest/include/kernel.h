/*
 * kernel.h: pvx-guest's shared declarations (globals, library, subsystems).
 */
#ifndef PVX_KERNEL_H
#define PVX_KERNEL_H
#include "xen_abi.h"
#include "hypercall.h"

#define NULL ((void *)0)
#define PAGE_SIZE 4096u
#define PAGE_SHIFT 12
#ifdef __x86_64__
#define VIRT_BASE 0xFFFFFFFF80000000ul /* the top 2 GiB: -mcmodel=kernel */
#define PT_LEVELS 4
#define UTS_MACHINE "x86_64"
#define XEN_CAPS_WANT "x86_64"
#define mb() __asm__ volatile("lock; addl $0,0(%%rsp)" ::: "memory")
#else
#define VIRT_BASE 0xC0000000u
#define PT_LEVELS 3
#define UTS_MACHINE "i686"
#define XEN_CAPS_WANT "x86_32p"
#define mb() __asm__ volatile("lock; addl $0,0(%%esp)" ::: "memory")
#endif
#define USER_SPACE_END 0x40000000ul /* user space: the first GiB, in both widths */
#define __pa(v) ((ulong)(v) - VIRT_BASE)
#define __va(p) ((void *)((ulong)(p) + VIRT_BASE))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define barrier() __asm__ volatile("" ::: "memory")
typedef __builtin_va_list va_list;
#define va_start(a, b) __builtin_va_start(a, b)
#define va_end(a) __builtin_va_end(a)
#define va_arg(a, t) __builtin_va_arg(a, t)

/* register frame built by the entry stubs (arch/head.S, arch/x86_64/head.S) */
#ifdef __x86_64__
struct regs {
  ulong r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  ulong vector, error;
  ulong rip, cs, rflags, rsp, ss; /* cs bits 32-39: Xen's saved upcall mask */
};
#define REG_IP(r) ((r)->rip)
#define REG_CS_MASK_SHIFT 32
/* Linux x86_64 system calls: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9 */
#define SC_NR(r) ((r)->rax)
#define SC_ARG(r, i) ((i) == 0 ? (r)->rdi : (i) == 1 ? (r)->rsi : (i) == 2 ? (r)->rdx \
                      : (i) == 3 ? (r)->r10 : (i) == 4 ? (r)->r8 : (r)->r9)
#define SC_RET(r) ((r)->rax)
#else
struct regs {
  u32 ebx, ecx, edx, esi, edi, ebp, eax;
  u32 ds, es, fs, gs;
  u32 vector, error;
  u32 eip, cs, eflags, esp, ss; /* esp/ss only when entered from ring 3 */
};
#define REG_IP(r) ((r)->eip)
#define REG_CS_MASK_SHIFT 16
/* Linux i386 system calls: number in eax, arguments in ebx, ecx, edx, esi, edi, ebp */
#define SC_NR(r) ((r)->eax)
#define SC_ARG(r, i) ((i) == 0 ? (r)->ebx : (i) == 1 ? (r)->ecx : (i) == 2 ? (r)->edx \
                      : (i) == 3 ? (r)->esi : (i) == 4 ? (r)->edi : (r)->ebp)
#define SC_RET(r) ((r)->eax)
#endif
#define VECTOR_EVENT 256

/* globals */
extern struct start_info *start_info;
extern struct shared_info *shared;
extern ulong *p2m;         /* pfn -> mfn (direct paging); identity when translated */
extern int translated;     /* XENFEAT_auto_translated_physmap */
extern ulong nr_pages;
extern volatile u32 stat_events, stat_ticks, stat_syscalls, stat_grants;

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *d, const char *s);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
ulong strtoul(const char *s, const char **end, int base);

/* console.c */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_write(const char *s, size_t n);
void console_ring_init(void);
int console_ring_active(void);
int console_read(char *buf, size_t n);
int console_ring_drain(u64 timeout_ns);
void poweroff(int reason) __attribute__((noreturn));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* mm.c */
ulong pfn_to_mfn(ulong pfn);
ulong mfn_to_pfn(ulong mfn);
u64 virt_to_machine(const void *v);
void mm_init(void);
void *alloc_page(void);
void *alloc_pages_contig(ulong n);
void free_page(void *p);
ulong free_page_count(void);
int map_frame_at(void *va, ulong mfn, u32 flags);
u64 *pte_of(ulong va); /* pointer to the (read-only) L1 entry mapping va, or NULL */
u64 *pt_entry(ulong va, int level); /* the level-`level` entry for va (1 = L1), or NULL */
void *table_va(u64 entry);          /* the kernel address of the table an entry points to */
extern ulong mm_l1_added, mm_pages_mapped;
extern u64 *kernel_top; /* the top-level table: the L3 (PAE) or the L4 (x86_64) */
extern ulong kernel_top_mfn;

/* traps.c */
void traps_init(void);
void trap_dispatch(struct regs *r);
extern volatile u32 stat_traps[32];
extern volatile int fpu_nm_count;
extern volatile ulong last_pf_addr;
extern volatile int expect_fault; /* a selftest expects a fault: skip the faulting insn */
extern volatile int fault_seen;

/* events.c */
typedef void (*evtchn_handler_t)(u32 port, struct regs *r);
void events_init(void);
void evtchn_do_upcall(struct regs *r);
int bind_virq(u32 virq, evtchn_handler_t h);
int alloc_unbound(u16 remote, evtchn_handler_t h);
void bind_port(u32 port, evtchn_handler_t h);
void mask_evtchn(u32 port);
void unmask_evtchn(u32 port);
void clear_evtchn(u32 port);
int notify_remote(u32 port);
void local_irq_enable(void);
void local_irq_disable(void);
void wait_for_event(void);
void poll_port(u32 port, u64 deadline_ns);
extern volatile u32 evtchn_hits[64];

/* time.c */
void time_init(void);
u64 monotonic_ns(void);
u64 wallclock_sec(void);
void block_until(u64 ns);
void set_periodic(u64 period_ns);
void tick_stop(void);
void tick_resume(void);
extern volatile u64 last_tick_ns;
extern u32 timer_port;

/* balloon.c */
int balloon_out(ulong n, ulong *pfns);
int balloon_in(ulong n, ulong *pfns);
extern ulong balloon_pages;

/* gnttab.c */
int gnttab_init(void);
int gnttab_grant(u16 domid, ulong frame, int ro);
int gnttab_end(int ref);
extern struct grant_entry_v1 *gnttab;
extern u32 gnttab_nr_entries;

/* xenbus.c */
void xenbus_init(void);
int xs_read(const char *path, char *out, size_t n);
int xs_write(const char *path, const char *val);
int xs_directory(const char *path, char *out, size_t n);
int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
int xs_poll_watches(void);
extern volatile int xs_watch_events;
extern int xenbus_ready;

/* user.c */
int user_run(const void *elf, size_t len, const char *argv0, int *status);
/* when set, user_fault's "killed" line says the fault is expected, and why */
extern const char *user_fault_expected;
/* control.c: the toolstack's control/shutdown requests (xl shutdown, pvx --on-eof) */
void control_init(void);
void control_poll(void);
int syscall_dispatch(struct regs *r);
void user_init(void);

/* ramdisk.c */
const void *ramdisk_find(const char *name, size_t *len);
int ramdisk_list(char *out, size_t n);
int ramdisk_load_disk(void);

/* selftest.c */
int selftest_run(void);
/* an unexpected kernel trap while an area runs: that area FAILs (does not return), else returns */
void selftest_unexpected_trap(struct regs *r, const char *name);

/* misc */
static inline u64 rdtsc(void) {
  u32 lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((u64)hi << 32) | lo;
}
/* bit nr of an array of ulongs (32 or 64 bits each, as Xen's event channel words) */
static inline int test_bit(int nr, volatile ulong *a) {
  return (a[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1;
}
static inline void set_bit(int nr, volatile ulong *a) {
  __asm__ volatile("lock bts %1,%0" : "+m"(a[nr / BITS_PER_LONG]) : "r"((ulong)(nr % BITS_PER_LONG)) : "memory");
}
static inline void clear_bit(int nr, volatile ulong *a) {
  __asm__ volatile("lock btr %1,%0" : "+m"(a[nr / BITS_PER_LONG]) : "r"((ulong)(nr % BITS_PER_LONG)) : "memory");
}
static inline ulong xchg(volatile ulong *p, ulong v) {
  __asm__ volatile("xchg %0,%1" : "+r"(v), "+m"(*p) : : "memory");
  return v;
}
#endif
