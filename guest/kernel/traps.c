/*
 * traps.c: the trap table (every exception, int3/into and int 0x80 callable from ring 3),
 * the event and failsafe callbacks (x86_64: and the syscall callback), trap dispatch, lazy FPU (#NM -> fpu_taskswitch(0))
 * and fault fixups used by the selftests.
 */
#include "kernel.h"

extern char trap_0[], trap_1[], trap_2[], trap_3[], trap_4[], trap_5[], trap_6[], trap_7[],
    trap_8[], trap_9[], trap_10[], trap_11[], trap_12[], trap_13[], trap_14[], trap_15[],
    trap_16[], trap_17[], trap_18[], trap_19[], trap_128[];
extern char hypervisor_callback[], failsafe_callback[];
#ifdef __x86_64__
extern char syscall_callback[];
#endif

volatile u32 stat_traps[32];
volatile int fpu_nm_count;
volatile ulong last_pf_addr;
volatile int fault_seen;
volatile ulong fixup_ip; /* set by a selftest around an instruction expected to fault */
volatile u32 last_fault_vector;

static const struct trap_info trap_table[] = {
    {0, 0, FLAT_KERNEL_CS, (ulong)trap_0},   {1, 0, FLAT_KERNEL_CS, (ulong)trap_1},
    {2, 0, FLAT_KERNEL_CS, (ulong)trap_2},   {3, 3, FLAT_KERNEL_CS, (ulong)trap_3},
    {4, 3, FLAT_KERNEL_CS, (ulong)trap_4},   {5, 0, FLAT_KERNEL_CS, (ulong)trap_5},
    {6, 0, FLAT_KERNEL_CS, (ulong)trap_6},   {7, 0, FLAT_KERNEL_CS, (ulong)trap_7},
    {8, 0, FLAT_KERNEL_CS, (ulong)trap_8},   {9, 0, FLAT_KERNEL_CS, (ulong)trap_9},
    {10, 0, FLAT_KERNEL_CS, (ulong)trap_10}, {11, 0, FLAT_KERNEL_CS, (ulong)trap_11},
    {12, 0, FLAT_KERNEL_CS, (ulong)trap_12}, {13, 0, FLAT_KERNEL_CS, (ulong)trap_13},
    {14, 0, FLAT_KERNEL_CS, (ulong)trap_14}, {15, 0, FLAT_KERNEL_CS, (ulong)trap_15},
    {16, 0, FLAT_KERNEL_CS, (ulong)trap_16}, {17, 0, FLAT_KERNEL_CS, (ulong)trap_17},
    {18, 0, FLAT_KERNEL_CS, (ulong)trap_18}, {19, 0, FLAT_KERNEL_CS, (ulong)trap_19},
    {0x80, 3, FLAT_KERNEL_CS, (ulong)trap_128}, {0, 0, 0, 0},
};

void traps_init(void) {
  if (HYPERVISOR_set_trap_table(trap_table) != 0) panic("set_trap_table failed");
#ifdef __x86_64__
  /* the syscall entry from user mode; the selftest registers all three again with callback_op */
  if (HYPERVISOR_set_callbacks((ulong)hypervisor_callback, (ulong)failsafe_callback,
                               (ulong)syscall_callback) != 0)
    panic("set_callbacks failed");
#else
  if (HYPERVISOR_set_callbacks(FLAT_KERNEL_CS, (ulong)hypervisor_callback, FLAT_KERNEL_CS,
                               (ulong)failsafe_callback) != 0)
    panic("set_callbacks failed");
#endif
}

static const char *const names[] = {
    "divide error", "debug", "nmi", "int3", "overflow", "bound", "invalid opcode",
    "device not available", "double fault", "coprocessor overrun", "invalid tss",
    "segment not present", "stack fault", "general protection", "page fault", "reserved",
    "x87 fpu", "alignment check", "machine check", "simd"};

static void die(struct regs *r) {
  const char *n = r->vector < ARRAY_SIZE(names) ? names[r->vector] : "trap";
  selftest_unexpected_trap(r, n); /* a selftest area was running: it FAILs, the next runs */
#ifdef __x86_64__
  printk("\n*** %s (vector %lu) error %lx at %lx cs %lx rflags %lx rsp %lx cr2 %lx\n", n,
         r->vector, r->error, r->rip, r->cs & 0xffff, r->rflags, r->rsp,
         shared ? shared->vcpu_info[0].cr2 : 0);
  printk("    rax %lx rbx %lx rcx %lx rdx %lx rsi %lx rdi %lx rbp %lx\n", r->rax, r->rbx,
         r->rcx, r->rdx, r->rsi, r->rdi, r->rbp);
#else
  printk("\n*** %s (vector %lu) error %lx at %lx cs %lx eflags %lx cr2 %lx\n", n,
         (ulong)r->vector, (ulong)r->error, (ulong)r->eip, (ulong)(r->cs & 0xffff),
         (ulong)r->eflags, shared ? shared->vcpu_info[0].cr2 : 0);
  printk("    eax %lx ebx %lx ecx %lx edx %lx esi %lx edi %lx ebp %lx\n", (ulong)r->eax,
         (ulong)r->ebx, (ulong)r->ecx, (ulong)r->edx, (ulong)r->esi, (ulong)r->edi,
         (ulong)r->ebp);
#endif
  panic("unhandled %s", n);
}

int user_fault(struct regs *r); /* user.c: kills the current process */
int user_access_fault(void);    /* user.c: a system call touched a bad user address */
void fpu_switch_owner(void);    /* user.c: lazy FPU state switch on #NM */

/*
 * Xen saved the upcall mask in the saved cs word (bits 16-23 on x86_32, 32-39 on x86_64).
 * x86_32 returns with iret, which leaves the mask alone: set it here. x86_64 returns with
 * HYPERVISOR_iret, which sets the mask from the frame's IF (= !saved); both handle events
 * that became pending meanwhile before unmasking.
 */
static void restore_events(struct regs *r) {
  u8 saved = (u8)(r->cs >> REG_CS_MASK_SHIFT);
  r->cs &= 0xffff;
  if (!shared) return;
  struct vcpu_info *v = &shared->vcpu_info[0];
  if (!saved) {
    while (v->evtchn_upcall_mask) {
      v->evtchn_upcall_mask = 0;
      barrier();
      if (v->evtchn_upcall_pending) {
        v->evtchn_upcall_mask = 1;
        evtchn_do_upcall(r);
      }
    }
  } else {
    v->evtchn_upcall_mask = saved;
  }
}

void trap_dispatch(struct regs *r) {
  u32 vec = (u32)r->vector;
  if (vec == VECTOR_EVENT) {
    evtchn_do_upcall(r);
    restore_events(r);
    return;
  }
  if (vec < 32) stat_traps[vec]++;
  if (vec == 0x80) {
    syscall_dispatch(r);
    restore_events(r);
    return;
  }
  if (vec == 7) {
    fpu_nm_count++;
    HYPERVISOR_fpu_taskswitch(0);
    fpu_switch_owner();
    restore_events(r);
    return;
  }
  if (vec == 14) last_pf_addr = shared->vcpu_info[0].cr2;
  if (vec == 3 || vec == 4) { /* int3 / into: counted, resume after the instruction */
    restore_events(r);
    return;
  }
  if ((r->cs & 3) == 3) {
    user_fault(r);
    restore_events(r);
    return;
  }
  if (fixup_ip) {
    fault_seen++;
    last_fault_vector = vec;
    REG_IP(r) = fixup_ip;
    fixup_ip = 0;
    restore_events(r);
    return;
  }
  if (vec == 14 && last_pf_addr < USER_SPACE_END && user_access_fault()) return; /* -EFAULT */
  die(r);
}
