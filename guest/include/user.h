/* user.h: the current user process (kernel side). */
#ifndef PVX_USER_H
#define PVX_USER_H
#include "kernel.h"

#define USER_STACK_TOP 0x3FFFF000ul
#define USER_STACK_PAGES 8
#define USER_MMAP_BASE 0x20000000u
#define USER_MMAP_END 0x3F000000u

#define MAX_DEPTH 4 /* a process may run a child and wait for it (the shell's run) */

/* callee-saved registers, stack and resume point (x86_32: ebx, esi, edi, ebp, esp, eip;
   x86_64: rbx, rbp, r12-r15, rsp, rip) */
struct kctx { ulong r[8]; };

struct process {
  u32 pid;
  struct kctx kctx;  /* where user_run resumes when the process exits */
  struct kctx uctx;  /* where a system call resumes when it faults on a user address */
  int uaccess;       /* a system call of this process is running */
  int fpu_used;      /* fpu holds a saved state (else the first use starts from fninit) */
  u8 fpu[512] __attribute__((aligned(16))); /* fxsave area while another owner has the FPU */
  int running, pinned, status;
  /* page tables: top = the L3 (PAE) or the kernel-mode L4 (x86_64); l2 = the user L2
     (the first GiB); PAE: l2k = a private copy of the kernel's slot-3 L2; x86_64: l3u =
     the user L3 both L4s share, utop = the user-mode L4 (MMUEXT_NEW_USER_BASEPTR) */
  u64 *top, *l2, *l2k, *l3u, *utop;
  u64 *tables[64];
  int ntables;
  void *pages[2048];
  int npages;
  ulong brk, brk_base, mmap_next;
  ulong phdr, phnum, entry; /* for the auxiliary vector */
  u64 tls_desc;             /* its GDT TLS descriptor (set_thread_area), 0 when none */
  ulong fs_base;            /* x86_64: its fs base (arch_prctl ARCH_SET_FS) */
};
extern struct process *curproc;
extern int proc_depth;
#define proc (*curproc)
extern volatile u32 stat_multicalls;
int user_map_page(ulong va, void **out);
ulong current_top_mfn(void);
void gdt_init(void);
int gdt_set_tls(u64 desc);
void gdt_reload(void);
#define GDT_TLS_ENTRY 12 /* as Linux on x86-64 hands out to 32-bit tasks */
void user_exit(int status) __attribute__((noreturn));
#endif
