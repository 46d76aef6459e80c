/*
 * user.c: one user process at a time at CPL 3. PAE: each has its own L3 with a user L2
 * (slot 0: program, heap, mmap area, stack) and a private copy of the kernel's slot-3 L2
 * (Xen allows that L2 in one L3 only), pinned as a tree (MMUEXT_PIN_L3_TABLE). x86_64:
 * the user L2 hangs off a user L3 shared by two L4s, the kernel-mode one (with the
 * kernel's own entries, so system calls reach user memory) and the user-mode one
 * (MMUEXT_NEW_USER_BASEPTR: Xen switches to it on the way to user mode), both pinned
 * (MMUEXT_PIN_L4_TABLE). Tables are built while writable, made read-only, then pinned;
 * later mappings go through mmu_update. The switch to the process is one multicall
 * (stack_switch, new baseptr(s), fpu_taskswitch, TLS descriptor or fs base).
 * A process may run a child and wait for it (up to MAX_DEPTH): each level has its own
 * kernel stack, and the child's exit resumes the parent inside its system call.
 */
#include "kernel.h"
#include "user.h"

int ctx_save(struct kctx *c) __attribute__((returns_twice));
void ctx_restore(struct kctx *c, int v) __attribute__((noreturn));
void enter_user(ulong ip, ulong sp) __attribute__((noreturn));

#define MAX_PAGES 2048
#define KSTACK 16384
static struct process procs[MAX_DEPTH];
struct process *curproc = &procs[0];
int proc_depth; /* processes running */
static __attribute__((aligned(16))) char kstacks[MAX_DEPTH][KSTACK];
static u32 next_pid = 1;
static struct process kernel_fpu; /* the kernel's own FPU state (selftests use the FPU) */
static struct process *fpu_owner = &kernel_fpu;

static u64 *l1_for(ulong va, int create);

static void track(void *p) {
  if (proc.npages < MAX_PAGES) proc.pages[proc.npages++] = p;
}

u64 gdt_entry_machine(int i);

static int make_ro(void *p, int ro) {
  if (!p) return 0;
  return map_frame_at(p, pfn_to_mfn(__pa(p) >> PAGE_SHIFT), ro ? PTE_KERNEL_RO : PTE_KERNEL);
}

static ulong mfn_of(void *p) { return pfn_to_mfn(__pa(p) >> PAGE_SHIFT); }

/* map one fresh user page at va; before pinning entries are plain writes */
int user_map_page(ulong va, void **out) {
  u64 *pte = l1_for(va, 1);
  if (!pte) return -1;
  if (*pte & _PAGE_PRESENT) {
    if (out) *out = table_va(*pte);
    return 0;
  }
  if (proc.npages >= MAX_PAGES - 1) return -1; /* a process owns at most MAX_PAGES pages */
  void *p = alloc_page();
  if (!p) return -1;
  track(p);
  u64 val = ((u64)mfn_of(p) << PAGE_SHIFT) | PTE_USER;
  if (!proc.pinned) {
    *pte = val;
  } else {
    struct mmu_update u = {virt_to_machine(pte), val};
    if (HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF) < 0) return -1;
  }
  if (out) *out = p;
  return 0;
}

static u64 *l1_for(ulong va, int create) {
  if (va >= USER_SPACE_END) return NULL; /* user space is what the user L2 maps */
  u64 *l2e = &proc.l2[(va >> 21) & 511];
  if (!(*l2e & _PAGE_PRESENT)) {
    if (!create || proc.npages >= MAX_PAGES - 2 || proc.ntables >= 64) return NULL;
    u64 *l1 = alloc_page();
    if (!l1) return NULL;
    track(l1);
    proc.tables[proc.ntables++] = l1;
    u64 val = ((u64)mfn_of(l1) << PAGE_SHIFT) | PTE_TABLE;
    if (!proc.pinned) {
      *l2e = val;
    } else {
      if (make_ro(l1, 1)) return NULL;
      struct mmu_update u = {virt_to_machine(l2e), val};
      if (HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF) < 0) return NULL;
    }
  }
  u64 *l1 = table_va(*l2e);
  return &l1[(va >> 12) & 511];
}

/* copy into the process image while building it (kernel addresses of its pages) */
static int copy_to_image(ulong va, const u8 *src, ulong len, ulong zero) {
  for (ulong off = 0; off < len + zero;) {
    void *page;
    if (user_map_page(va + off, &page)) return -1;
    ulong in = (va + off) & (PAGE_SIZE - 1);
    ulong n = PAGE_SIZE - in;
    if (n > len + zero - off) n = len + zero - off;
    for (ulong i = 0; i < n; i++)
      ((u8 *)page)[in + i] = off + i < len ? src[off + i] : 0;
    off += n;
  }
  return 0;
}

/* ELF headers of the kernel's own width: ELF32 i386 or ELF64 x86-64 (ulong fields) */
struct elf_ehdr {
  u8 ident[16]; u16 type, machine; u32 version; ulong entry, phoff, shoff; u32 flags;
  u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
#ifdef __x86_64__
struct elf_phdr { u32 type, flags; ulong offset, vaddr, paddr, filesz, memsz, align; };
#define ELF_CLASS 2
#define ELF_MACHINE 62
#else
struct elf_phdr { u32 type; ulong offset, vaddr, paddr, filesz, memsz; u32 flags; ulong align; };
#define ELF_CLASS 1
#define ELF_MACHINE 3
#endif

static int load_elf(const u8 *img, size_t len, ulong *entry) {
  const struct elf_ehdr *eh = (const void *)img;
  if (len < sizeof(*eh) || memcmp(eh->ident, "\177ELF", 4) || eh->ident[4] != ELF_CLASS ||
      eh->machine != ELF_MACHINE || eh->type != 2 || eh->phentsize != sizeof(struct elf_phdr) ||
      eh->phoff > len || eh->phnum > (len - eh->phoff) / sizeof(struct elf_phdr))
    return -1;
  const struct elf_phdr *ph = (const void *)(img + eh->phoff);
  ulong top = 0;
  for (int i = 0; i < eh->phnum; i++) {
    if (ph[i].type != 1) continue;
    if (ph[i].offset > len || ph[i].filesz > len - ph[i].offset || ph[i].filesz > ph[i].memsz ||
        ph[i].vaddr >= USER_MMAP_BASE || ph[i].memsz > USER_MMAP_BASE - ph[i].vaddr)
      return -1;
    if (copy_to_image(ph[i].vaddr, img + ph[i].offset, ph[i].filesz, ph[i].memsz - ph[i].filesz))
      return -1;
    if (ph[i].vaddr + ph[i].memsz > top) top = ph[i].vaddr + ph[i].memsz;
  }
  proc.brk = proc.brk_base = (top + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  *entry = eh->entry;
  proc.entry = eh->entry;
  proc.phnum = eh->phnum;
  for (int i = 0; i < eh->phnum; i++) { /* where the program headers are in memory */
    if (ph[i].type == 6) proc.phdr = ph[i].vaddr; /* PT_PHDR */
    else if (!proc.phdr && ph[i].type == 1 && eh->phoff >= ph[i].offset &&
             eh->phoff - ph[i].offset < ph[i].filesz)
      proc.phdr = ph[i].vaddr + (eh->phoff - ph[i].offset);
  }
  return 0;
}

/* a multicall: kernel stack for traps from ring 3, the process's L3, TS set (lazy FPU) */
static struct process *proc_depth_target; /* whose TLS descriptor switch_to installs */

/* top_mfn: the L3 (PAE) or kernel-mode L4; utop_mfn: the user-mode L4 (x86_64, 0 for none) */
static int switch_to(ulong top_mfn, ulong utop_mfn, int user, int depth) {
  static struct mmuext_op op[2];
  static struct multicall_entry mc[4];
  op[0].cmd = MMUEXT_NEW_BASEPTR;
  op[0].arg1 = top_mfn;
  op[1].cmd = MMUEXT_NEW_USER_BASEPTR;
  op[1].arg1 = utop_mfn;
  int nops = 1;
#ifdef __x86_64__
  nops = 2;
#else
  (void)utop_mfn;
#endif
  mc[0] = (struct multicall_entry){__HYPERVISOR_stack_switch, 0,
                                   {FLAT_KERNEL_SS, (ulong)kstacks[depth] + KSTACK}};
  mc[1] = (struct multicall_entry){__HYPERVISOR_mmuext_op, 0,
                                   {(ulong)op, (ulong)nops, 0, DOMID_SELF}};
  mc[2] = (struct multicall_entry){__HYPERVISOR_fpu_taskswitch, 0, {user ? 1 : 0}};
#ifdef __x86_64__
  /* the process's fs base (arch_prctl), or none */
  ulong fs = user && proc_depth_target ? proc_depth_target->fs_base : 0;
  mc[3] = (struct multicall_entry){__HYPERVISOR_set_segment_base, 0, {SEGBASE_FS, fs}};
  int n = 4;
#else
  /* the process's TLS descriptor (or none) in the GDT's TLS slot */
  u64 desc = user && proc_depth_target ? proc_depth_target->tls_desc : 0;
  u64 ma = gdt_entry_machine(GDT_TLS_ENTRY);
  mc[3] = (struct multicall_entry){__HYPERVISOR_update_descriptor, 0,
                                   MC_UPDATE_DESCRIPTOR(ma, desc)};
  int n = ma ? 4 : 3;
#endif
  if (HYPERVISOR_multicall(mc, n) != 0) return -1;
  for (int i = 0; i < n; i++)
    if ((long)mc[i].result < 0) return -1;
  stat_multicalls++;
  return 0;
}

volatile u32 stat_multicalls;

void user_exit(int status) {
  proc.status = status;
  ctx_restore(&proc.kctx, 1);
}

static void release_tables(struct process *p) {
  if (p->pinned) {
    struct mmuext_op unpin[2] = {{MMUEXT_UNPIN_TABLE, mfn_of(p->top), 0},
                                 {MMUEXT_UNPIN_TABLE, p->utop ? mfn_of(p->utop) : 0, 0}};
    HYPERVISOR_mmuext_op(unpin, p->utop ? 2 : 1, NULL, DOMID_SELF);
  }
  p->pinned = 0;
  make_ro(p->top, 0);
  make_ro(p->utop, 0);
  make_ro(p->l3u, 0);
  make_ro(p->l2, 0);
  make_ro(p->l2k, 0);
  for (int i = 0; i < p->ntables; i++) make_ro(p->tables[i], 0);
  for (int i = 0; i < p->npages; i++) free_page(p->pages[i]);
  p->npages = 0;
}

/* builds the process in curproc (its L3 pinned) and returns the entry point, or 0 */
static __attribute__((noinline)) ulong build(const void *elf, size_t len, const char *argv0,
                                             int *err) {
  proc.top = alloc_page();
  proc.l2 = alloc_page();
#ifdef __x86_64__
  proc.l3u = alloc_page();
  proc.utop = alloc_page();
  if (!proc.top || !proc.l2 || !proc.l3u || !proc.utop) return *err = -1, 0;
  track(proc.top), track(proc.l2), track(proc.l3u), track(proc.utop);
  /* kernel mappings: the kernel L4's own slots above user space (Xen fills in its 256-271) */
  for (int i = 1; i < 512; i++)
    if (i < 256 || i > 271) proc.top[i] = kernel_top[i];
#else
  proc.l2k = alloc_page();
  if (!proc.top || !proc.l2 || !proc.l2k) return *err = -1, 0;
  track(proc.top), track(proc.l2), track(proc.l2k);
  /* kernel mappings: copy the slot-3 L2 below Xen's area */
  u64 *kl2 = table_va(kernel_top[3]);
  for (int i = 0; i < (int)((HYPERVISOR_VIRT_START - VIRT_BASE) >> 21); i++) proc.l2k[i] = kl2[i];
#endif
  ulong entry;
  if (load_elf(elf, len, &entry)) return *err = -2, 0;
  /* stack: argc, argv, NULL envp, AT_NULL auxv */
  for (ulong va = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE; va < USER_STACK_TOP; va += PAGE_SIZE)
    if (user_map_page(va, NULL)) return *err = -3, 0;
  void *top;
  user_map_page(USER_STACK_TOP - PAGE_SIZE, &top);
  /* top page: argv[0] string and 16 random bytes; below: argc, argv, envp, auxv */
  char *name = (char *)top + PAGE_SIZE - 32;
  size_t nl = strlen(argv0);
  if (nl > 31) nl = 31;
  memcpy(name, argv0, nl);
  name[nl] = 0;
  u32 *rnd = (u32 *)((char *)top + PAGE_SIZE - 48);
  for (int i = 0; i < 4; i++) rnd[i] = (u32)(rdtsc() * 2654435761u) ^ (u32)(i * 0x9e3779b9u);
  ulong *stk = (ulong *)((char *)top + ((USER_STACK_TOP - 256) & (PAGE_SIZE - 1)));
  ulong v[] = {1, USER_STACK_TOP - 32, 0, 0, /* argc, argv[0], NULL, envp NULL */
             3, proc.phdr, 4, 32, 5, proc.phnum, 6, PAGE_SIZE, 9, proc.entry, /* PHDR..ENTRY */
             11, 0, 12, 0, 13, 0, 14, 0, 23, 0,                           /* uids, secure */
             25, USER_STACK_TOP - 48, 0, 0};                                /* RANDOM, NULL */
  memcpy(stk, v, sizeof(v));
  proc.mmap_next = USER_MMAP_BASE;
  /* tables read-only, then pin the tree */
  for (int i = 0; i < proc.ntables; i++) make_ro(proc.tables[i], 1);
  make_ro(proc.l2, 1);
#ifdef __x86_64__
  proc.l3u[0] = ((u64)mfn_of(proc.l2) << PAGE_SHIFT) | PTE_TABLE;
  make_ro(proc.l3u, 1);
  proc.top[0] = proc.utop[0] = ((u64)mfn_of(proc.l3u) << PAGE_SHIFT) | PTE_TABLE;
  make_ro(proc.top, 1);
  make_ro(proc.utop, 1);
  struct mmuext_op pin[2] = {{MMUEXT_PIN_L4_TABLE, mfn_of(proc.top), 0},
                             {MMUEXT_PIN_L4_TABLE, mfn_of(proc.utop), 0}};
  int rc = (int)HYPERVISOR_mmuext_op(pin, 2, NULL, DOMID_SELF);
#else
  make_ro(proc.l2k, 1);
  proc.top[0] = ((u64)mfn_of(proc.l2) << PAGE_SHIFT) | _PAGE_PRESENT;
  proc.top[3] = ((u64)mfn_of(proc.l2k) << PAGE_SHIFT) | _PAGE_PRESENT;
  make_ro(proc.top, 1);
  struct mmuext_op pin = {MMUEXT_PIN_L3_TABLE, mfn_of(proc.top), 0};
  int rc = (int)HYPERVISOR_mmuext_op(&pin, 1, NULL, DOMID_SELF);
#endif
  if (rc < 0) {
    printk("user: pinning the process tables failed (%d)\n", rc);
    return *err = -4, 0;
  }
  proc.pinned = 1;
  return entry;
}

int user_run(const void *elf, size_t len, const char *argv0, int *status) {
  if (proc_depth >= MAX_DEPTH) return -6;
  struct process *parent = proc_depth ? curproc : NULL;
  int depth = proc_depth;
  curproc = &procs[depth];
  memset(curproc, 0, sizeof(*curproc));
  proc.pid = next_pid++;
  int err = 0;
  ulong entry = build(elf, len, argv0, &err);
  proc_depth_target = curproc;
  if (entry && switch_to(mfn_of(proc.top), proc.utop ? mfn_of(proc.utop) : 0, 1, depth)) err = -5;
  if (!entry || err) {
    release_tables(curproc);
    curproc = parent ? parent : &procs[0];
    return err ? err : -2;
  }
  proc.running = 1;
  proc_depth++;
  if (ctx_save(&proc.kctx) == 0) enter_user(entry, USER_STACK_TOP - 256);
  /* back from user_exit: resume the parent's address space (or the kernel's) */
  proc_depth--;
  proc.running = 0;
  proc_depth_target = parent;
  if (parent) switch_to(mfn_of(parent->top), parent->utop ? mfn_of(parent->utop) : 0, 1, depth - 1);
  else switch_to(kernel_top_mfn, 0, 1, 0); /* TS set: lazy FPU for the kernel too */
  release_tables(curproc);
  if (fpu_owner == curproc) fpu_owner = NULL; /* its state dies with it */
  if (status) *status = proc.status;
  curproc = parent ? parent : &procs[0];
  return 0;
}

const char *user_fault_expected;

int user_fault(struct regs *r) {
  const char *why = user_fault_expected;
  printk("process %lu: %s at ip %lx (cr2 %lx), killed%s%s%s\n", (ulong)proc.pid,
         r->vector == 14 ? "page fault" : "fault", (ulong)REG_IP(r), (ulong)last_pf_addr,
         why ? " (expected: " : "", why ? why : "", why ? ")" : "");
  user_exit(128 + 11);
}

/* a kernel page fault on a user address during a system call: resume it with -EFAULT */
int user_access_fault(void) {
  if (!proc_depth || !proc.uaccess) return 0;
  ctx_restore(&proc.uctx, 1);
}

/*
 * Lazy FPU: a switch only sets TS (fpu_taskswitch(1) in the switch multicall); the first
 * FPU instruction traps #NM, and here the previous owner's state is saved (fxsave) and
 * the new owner's restored (fxrstor), or initialised on its first use.
 */

void fpu_switch_owner(void) {
  struct process *me = proc_depth ? curproc : &kernel_fpu;
  if (fpu_owner == me) return;
  if (fpu_owner) {
    __asm__ volatile("fxsave %0" : "=m"(fpu_owner->fpu));
    fpu_owner->fpu_used = 1;
  }
  if (me->fpu_used) __asm__ volatile("fxrstor %0" : : "m"(me->fpu));
  else __asm__ volatile("fninit");
  fpu_owner = me;
}

/* the kernel's GDT: one page, its TLS slot rewritten for each process */
static u64 *gdt;
static ulong gdt_mfn;

void gdt_init(void) {
  gdt = alloc_page();
  if (!gdt) return;
  gdt_mfn = mfn_of(gdt);
  ulong frames[1] = {gdt_mfn};
  if (make_ro(gdt, 1) || HYPERVISOR_set_gdt(frames, 512) != 0) {
    printk("user: no GDT (TLS descriptors unavailable)\n");
    gdt = NULL;
  }
}

/* reinstalls the kernel GDT (after a selftest installed its own) */
void gdt_reload(void) {
  ulong frames[1] = {gdt_mfn};
  if (gdt) HYPERVISOR_set_gdt(frames, 512);
}

u64 gdt_entry_machine(int i) { return gdt ? ((u64)gdt_mfn << PAGE_SHIFT) + i * 8 : 0; }

int gdt_set_tls(u64 desc) {
  if (!gdt) return -1;
  return (int)HYPERVISOR_update_descriptor(gdt_entry_machine(GDT_TLS_ENTRY), desc);
}

void user_init(void) { gdt_init(); }

/* the top-level table the vcpu runs on in kernel mode: the current process's, or the kernel's */
ulong current_top_mfn(void) { return proc_depth ? mfn_of(curproc->top) : kernel_top_mfn; }
