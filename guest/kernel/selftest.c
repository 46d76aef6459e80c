/*
 * selftest.c: one check per platform API area. Each prints `PASS <area>`,
 * `FAIL <area>: <reason>` or `SKIP <area>: <reason>`, then a summary line; the caller
 * powers off (all pass) or crashes (any fail) so pvx's exit code carries the result.
 */
#include "kernel.h"
#include "user.h"
#include "blkfront.h"
#include "netfront.h"

#define CHECK(c, ...)                             \
  do {                                            \
    if (!(c)) {                                   \
      snprintf(why, sizeof(why), __VA_ARGS__);    \
      return 1;                                   \
    }                                             \
  } while (0)
#define SKIP(...)                                 \
  do {                                            \
    snprintf(why, sizeof(why), __VA_ARGS__);      \
    return 2;                                     \
  } while (0)

static char why[160];
extern volatile ulong fixup_ip;
extern volatile u32 last_fault_vector;
extern char xen_extra[], xen_caps[];
extern ulong xen_ver, xen_features;
static __attribute__((aligned(4096))) char window[4096];
static __attribute__((aligned(4096))) char window2[4096];

/* write to p; returns 1 if it faulted (the fault handler skips to the fixup) */
static int probe_write(volatile u32 *p, u32 v) {
  int before = fault_seen;
#ifdef __x86_64__
  __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                   "movq %%rax, fixup_ip(%%rip)\n\t"
                   "movl %1, (%0)\n\t"
                   "1: movq $0, fixup_ip(%%rip)"
                   :
                   : "r"(p), "r"(v)
                   : "rax", "memory");
#else
  __asm__ volatile("movl $1f, fixup_ip\n\t"
                   "movl %1, (%0)\n\t"
                   "1: movl $0, fixup_ip"
                   :
                   : "r"(p), "r"(v)
                   : "memory");
#endif
  return fault_seen != before;
}

static u64 make_desc(u32 base, u32 limit, u32 dpl) {
  u32 access = 0x80 | (dpl << 5) | 0x10 | 0x2 | 0x1; /* present, data, rw, accessed */
  u32 lo = (limit & 0xffff) | ((base & 0xffff) << 16);
  u32 hi = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (0x4 << 20) |
           (base & 0xff000000);
  return ((u64)hi << 32) | lo;
}

#ifdef __x86_64__
static volatile ulong fs_a = 0x1122334455667788ul, gs_b = 0x99aabbccddeeff00ul;

/*
 * x86_64: a 64-bit kernel cannot reach its (upper-half) data through a 32-bit descriptor
 * base, so fs and gs bases come from set_segment_base (SEGBASE_FS, SEGBASE_GS_KERNEL);
 * the GDT and LDT are installed and their descriptors loaded into fs (selector read back).
 */
static int t_descriptor_tables(void) {
  u32 before = stat_traps[3];
  __asm__ volatile("int3");
  CHECK(stat_traps[3] == before + 1, "int3 did not reach the trap table");
  u64 *gdt = alloc_page();
  CHECK(gdt, "no page for a GDT");
  gdt[1] = make_desc(0, 3, 3);
  ulong mfn = pfn_to_mfn(__pa(gdt) >> PAGE_SHIFT);
  CHECK(map_frame_at(gdt, mfn, PTE_KERNEL_RO) == 0, "cannot make the GDT page read-only");
  ulong frames[1] = {mfn};
  long rc = HYPERVISOR_set_gdt(frames, 16);
  CHECK(rc == 0, "set_gdt returned %ld", rc);
  rc = HYPERVISOR_update_descriptor(((u64)mfn << PAGE_SHIFT) + 2 * 8, make_desc(0, 3, 3));
  CHECK(rc == 0, "update_descriptor returned %ld", rc);
  CHECK(gdt[2] != 0, "update_descriptor did not write the entry");
  ulong sel;
  __asm__ volatile("movl %1, %%fs\n\t"
                   "movl %%fs, %%eax\n\t"
                   "movl %%eax, %k0\n\t"
                   "xorl %%eax, %%eax\n\t"
                   "movl %%eax, %%fs"
                   : "=&r"(sel)
                   : "r"(0x13)
                   : "rax", "memory");
  CHECK((sel & 0xffff) == 0x13, "fs holds %lx after loading GDT selector 0x13", sel & 0xffff);
  gdt_reload();
  rc = HYPERVISOR_set_segment_base(SEGBASE_FS, (ulong)&fs_a);
  CHECK(rc == 0, "set_segment_base(FS) returned %ld", rc);
  rc = HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL, (ulong)&gs_b);
  CHECK(rc == 0, "set_segment_base(GS_KERNEL) returned %ld", rc);
  ulong va, vb;
  __asm__ volatile("movq %%fs:0, %0\n\t"
                   "movq %%gs:0, %1"
                   : "=&r"(va), "=&r"(vb)
                   :
                   : "memory");
  HYPERVISOR_set_segment_base(SEGBASE_FS, 0);
  HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL, 0);
  CHECK(va == fs_a, "fs:0 read %lx, want %lx", va, fs_a);
  CHECK(vb == gs_b, "gs:0 read %lx, want %lx", vb, gs_b);
  CHECK(HYPERVISOR_set_segment_base(SEGBASE_FS, 0x0000800000000000ul) != 0,
        "set_segment_base accepted a non-canonical base");
  /* an LDT (MMUEXT_SET_LDT) with one descriptor, loaded into fs = 0x0f (TI, RPL 3) */
  u64 *ldt = alloc_page();
  CHECK(ldt, "no page for an LDT");
  ldt[1] = make_desc(0, 3, 3);
  CHECK(map_frame_at(ldt, pfn_to_mfn(__pa(ldt) >> PAGE_SHIFT), PTE_KERNEL_RO) == 0,
        "cannot make the LDT page read-only");
  struct mmuext_op lop = {MMUEXT_SET_LDT, (ulong)ldt, 2};
  rc = HYPERVISOR_mmuext_op(&lop, 1, NULL, DOMID_SELF);
  CHECK(rc == 0, "MMUEXT_SET_LDT returned %ld", rc);
  __asm__ volatile("movl %1, %%fs\n\t"
                   "movl %%fs, %%eax\n\t"
                   "movl %%eax, %k0\n\t"
                   "xorl %%eax, %%eax\n\t"
                   "movl %%eax, %%fs"
                   : "=&r"(sel)
                   : "r"(0x0f)
                   : "rax", "memory");
  CHECK((sel & 0xffff) == 0x0f, "fs holds %lx after loading LDT selector 0x0f", sel & 0xffff);
  lop.arg1 = 0, lop.arg2 = 0;
  CHECK(HYPERVISOR_mmuext_op(&lop, 1, NULL, DOMID_SELF) == 0, "clearing the LDT failed");
  return 0;
}
#endif

#ifndef __x86_64__
static volatile u32 tls_a = 0x11223344, tls_b = 0x55667788;

static int t_descriptor_tables(void) {
  u32 before = stat_traps[3];
  __asm__ volatile("int3");
  CHECK(stat_traps[3] == before + 1, "int3 did not reach the trap table");
  u64 *gdt = alloc_page();
  CHECK(gdt, "no page for a GDT");
  gdt[1] = make_desc((u32)&tls_a, 3, 1);
  ulong mfn = pfn_to_mfn(__pa(gdt) >> PAGE_SHIFT);
  CHECK(map_frame_at(gdt, mfn, PTE_KERNEL_RO) == 0, "cannot make the GDT page read-only");
  ulong frames[1] = {mfn};
  long rc = HYPERVISOR_set_gdt(frames, 16);
  CHECK(rc == 0, "set_gdt returned %ld", rc);
  rc = HYPERVISOR_update_descriptor(((u64)mfn << PAGE_SHIFT) + 2 * 8, make_desc((u32)&tls_b, 3, 3));
  CHECK(rc == 0, "update_descriptor returned %ld", rc);
  CHECK(gdt[2] != 0, "update_descriptor did not write the entry");
  u32 va, vb;
  __asm__ volatile("movl %2, %%fs\n\t"
                   "movl %%fs:0, %0\n\t"
                   "movl %3, %%gs\n\t"
                   "movl %%gs:0, %1\n\t"
                   "xorl %%ecx, %%ecx\n\t"
                   "movl %%ecx, %%fs\n\t"
                   "movl %%ecx, %%gs"
                   : "=&r"(va), "=&r"(vb)
                   : "r"(0x09), "r"(0x13)
                   : "ecx", "memory");
  CHECK(va == tls_a, "fs:0 read %lx, want %lx", (ulong)va, (ulong)tls_a);
  CHECK(vb == tls_b, "gs:0 read %lx, want %lx", (ulong)vb, (ulong)tls_b);
  gdt_reload();
  /* an LDT (MMUEXT_SET_LDT) with one descriptor, read through fs = 0x0d (TI, RPL 1) */
  u64 *ldt = alloc_page();
  CHECK(ldt, "no page for an LDT");
  ldt[1] = make_desc((u32)&tls_b, 3, 1);
  CHECK(map_frame_at(ldt, pfn_to_mfn(__pa(ldt) >> PAGE_SHIFT), PTE_KERNEL_RO) == 0,
        "cannot make the LDT page read-only");
  struct mmuext_op lop = {MMUEXT_SET_LDT, (ulong)ldt, 2};
  rc = HYPERVISOR_mmuext_op(&lop, 1, NULL, DOMID_SELF);
  CHECK(rc == 0, "MMUEXT_SET_LDT returned %ld", rc);
  u32 vl;
  __asm__ volatile("movl %1, %%fs\n\t"
                   "movl %%fs:0, %0\n\t"
                   "xorl %%ecx, %%ecx\n\t"
                   "movl %%ecx, %%fs"
                   : "=&r"(vl)
                   : "r"(0x0d)
                   : "ecx", "memory");
  CHECK(vl == tls_b, "fs:0 through the LDT read %lx, want %lx", (ulong)vl, (ulong)tls_b);
  lop.arg1 = 0, lop.arg2 = 0;
  CHECK(HYPERVISOR_mmuext_op(&lop, 1, NULL, DOMID_SELF) == 0, "clearing the LDT failed");
  return 0;
}
#endif

static int t_privileged_registers(void) {
  ulong cr0, cr3;
  HYPERVISOR_fpu_taskswitch(1);
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  CHECK(cr0 & 8, "cr0.TS clear after fpu_taskswitch(1) (cr0 %lx)", cr0);
  int nm = fpu_nm_count;
  __asm__ volatile("fninit");
  CHECK(fpu_nm_count == nm + 1, "no #NM on the first FPU use with TS set");
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  CHECK(!(cr0 & 8), "cr0.TS still set after the #NM handler (cr0 %lx)", cr0);
  __asm__ volatile("fninit; fld1; fstp %%st(0)" ::: "memory");
  CHECK(fpu_nm_count == nm + 1, "a second #NM with TS clear");
  HYPERVISOR_fpu_taskswitch(1);
  __asm__ volatile("clts");
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  CHECK(!(cr0 & 8), "clts did not clear TS");
  __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
  ulong top = current_top_mfn();
#ifdef __x86_64__
  ulong want = top << 12; /* xen_pfn_to_cr3 */
#else
  ulong want = (top << 12) | (top >> 20);
#endif
  CHECK(cr3 == want, "cr3 %lx, want %lx", cr3, want);
  u32 a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "0"(0), "2"(0));
  CHECK(a >= 1 && b != 0, "cpuid leaf 0 empty");
  return 0;
}

static int t_mmu(void) {
  CHECK(mm_pages_mapped > 0 || nr_pages <= 1024, "the boot mapping was not extended");
  u64 *pte = pte_of((ulong)window);
  CHECK(pte && (*pte & _PAGE_PRESENT), "no L1 entry for a kernel page");
  volatile u32 *p = alloc_page();
  CHECK(p, "no free page");
  ulong mfn = pfn_to_mfn(__pa(p) >> PAGE_SHIFT);
  /* alias with update_va_mapping */
  CHECK(map_frame_at(window, mfn, PTE_KERNEL) == 0, "update_va_mapping refused an alias");
  *(volatile u32 *)window = 0xC0FFEE01;
  CHECK(p[0] == 0xC0FFEE01, "the alias does not reach the same frame");
  CHECK(PTE_MFN(*pte_of((ulong)window)) == mfn, "L1 entry does not hold the mfn");
  /* a read-only mapping faults on write */
  CHECK(map_frame_at(window, mfn, PTE_KERNEL_RO) == 0, "read-only remap refused");
  CHECK(probe_write((volatile u32 *)window, 5), "write through a read-only mapping did not fault");
  CHECK(last_fault_vector == 14 && last_pf_addr == (ulong)window, "fault was not a #PF at %p",
        window);
  CHECK(p[0] == 0xC0FFEE01, "the read-only page changed");
  ulong cr2;
  __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
  CHECK(cr2 == (ulong)window, "mov from cr2 gave %lx, want %p", cr2, window);
  /* multicall: two update_va_mappings in one batch */
  struct multicall_entry mc[2] = {
      {__HYPERVISOR_update_va_mapping, 0,
       MC_UPDATE_VA_MAPPING(window, ((u64)mfn << 12) | PTE_KERNEL, UVMF_INVLPG)},
      {__HYPERVISOR_update_va_mapping, 0,
       MC_UPDATE_VA_MAPPING(window2, ((u64)mfn << 12) | PTE_KERNEL, UVMF_INVLPG)},
  };
  CHECK(HYPERVISOR_multicall(mc, 2) == 0 && mc[0].result == 0 && mc[1].result == 0,
        "multicall of update_va_mapping failed (%ld, %ld)", (long)mc[0].result,
        (long)mc[1].result);
  *(volatile u32 *)window2 = 0xABCD0002;
  CHECK(*(volatile u32 *)window == 0xABCD0002, "multicall mappings disagree");
  /* page-table rules: no writable mapping of a pinned L1 */
  u64 *l1 = alloc_page();
  CHECK(l1, "no page for an L1");
  ulong l1_mfn = pfn_to_mfn(__pa(l1) >> PAGE_SHIFT);
  l1[0] = ((u64)mfn << 12) | PTE_KERNEL;
  CHECK(map_frame_at(l1, l1_mfn, PTE_KERNEL_RO) == 0, "cannot make an L1 read-only");
  struct mmuext_op op = {MMUEXT_PIN_L1_TABLE, l1_mfn, 0};
  CHECK(HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF) == 0, "pinning an L1 failed");
  /* translated tables are ordinary RAM: pins do not type them */
  CHECK(translated || map_frame_at(window, l1_mfn, PTE_KERNEL) != 0,
        "a writable mapping of a pinned L1 was allowed");
  struct mmu_update u = {virt_to_machine(&l1[1]), ((u64)mfn << 12) | PTE_KERNEL};
  CHECK(HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF) == 0, "mmu_update on a pinned L1 failed");
  /* x86_64: Xen makes kernel entries user-accessible and marks them (bit 52), as
     adjust_guest_l1e does for a 64-bit PV guest; the rest must be what was written */
  CHECK((l1[1] & ~PTE_XEN_ADJUSTED) == u.val, "mmu_update did not write the entry (%llx, want %llx)",
        l1[1], u.val);
  u.val = 0xFFFFF000ull | PTE_KERNEL; /* a frame we do not own */
  CHECK(HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF) < 0, "mapping a foreign frame was allowed");
  op.cmd = MMUEXT_UNPIN_TABLE;
  CHECK(HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF) == 0, "unpinning failed");
  CHECK(map_frame_at(l1, l1_mfn, PTE_KERNEL) == 0, "unpinned L1 cannot be writable again");
  struct mmuext_op fl = {MMUEXT_TLB_FLUSH_LOCAL, 0, 0};
  CHECK(HYPERVISOR_mmuext_op(&fl, 1, NULL, DOMID_SELF) == 0, "TLB flush failed");
  map_frame_at(window, pfn_to_mfn(__pa(window) >> PAGE_SHIFT), PTE_KERNEL);
  map_frame_at(window2, pfn_to_mfn(__pa(window2) >> PAGE_SHIFT), PTE_KERNEL);
  free_page(l1);
  free_page((void *)p);
  return 0;
}

static int t_memory_reservation(void) {
  long cur = HYPERVISOR_memory_op(XENMEM_current_reservation, &(u16){DOMID_SELF});
  long max = HYPERVISOR_memory_op(XENMEM_maximum_reservation, &(u16){DOMID_SELF});
  CHECK(cur > 0 && max >= cur, "current %ld / maximum %ld reservation", cur, max);
  ulong pfns[4];
  int rc = balloon_out(4, pfns);
  CHECK(rc == 0, "decrease_reservation path failed (%d)", rc);
  long mid = HYPERVISOR_memory_op(XENMEM_current_reservation, &(u16){DOMID_SELF});
  CHECK(mid == cur - 4, "reservation %ld after giving back 4 pages (was %ld)", mid, cur);
  rc = balloon_in(4, pfns);
  CHECK(rc == 0, "populate_physmap path failed (%d)", rc);
  long after = HYPERVISOR_memory_op(XENMEM_current_reservation, &(u16){DOMID_SELF});
  CHECK(after == cur, "reservation %ld after repopulating (want %ld)", after, cur);
  for (int i = 0; i < 4; i++) {
    volatile u32 *p = __va(pfns[i] << PAGE_SHIFT);
    p[7] = 0x5A5A0000 + i;
    CHECK(p[7] == 0x5A5A0000u + i, "repopulated page %d not usable", i);
    CHECK(mfn_to_pfn(pfn_to_mfn(pfns[i])) == pfns[i], "M2P not updated for pfn %lx", pfns[i]);
  }
  return 0;
}

static int t_time(void) {
  u64 t1 = monotonic_ns(), t2 = monotonic_ns();
  CHECK(t2 >= t1 && t1 > 0, "system time not monotonic (%llu then %llu)", t1, t2);
  CHECK(shared->wc_sec > 0 || shared->wc_nsec > 0, "wallclock is zero");
  u32 ticks = stat_ticks;
  u64 start = monotonic_ns();
  block_until(start + 60000000ull);
  u64 end = monotonic_ns();
  CHECK(end - start >= 60000000ull, "woke after %llu ns of a 60 ms sleep", end - start);
  CHECK(stat_ticks >= ticks + 3, "%lu timer ticks in 60 ms (want >= 3)", (ulong)(stat_ticks - ticks));
  CHECK(end - last_tick_ns < 20000000ull, "last tick %llu ns ago", end - last_tick_ns);
  return 0;
}

static int t_vcpu(void) {
  long rc = HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, NULL);
  CHECK(rc == 1, "VCPUOP_is_up(0) = %ld", rc);
  CHECK(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1000, NULL) < 0, "vcpu 1000 exists");
  struct vcpu_runstate_info rs;
  rc = HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &rs);
  CHECK(rc == 0 && rs.state == 0, "runstate rc %ld state %d (want running)", rc, rs.state);
  struct vcpu_set_periodic_timer pt = {2000000ull};
  u32 ticks = stat_ticks;
  rc = HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt);
  CHECK(rc == 0, "set_periodic_timer returned %ld", rc);
  block_until(monotonic_ns() + 20000000ull);
  HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
  CHECK(stat_ticks >= ticks + 6, "%lu ticks in 20 ms with a 2 ms periodic timer",
        (ulong)(stat_ticks - ticks));
  struct { u64 t; u32 flags; } ss = {monotonic_ns() + 1000000ull, 0};
  ticks = stat_ticks;
  rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss);
  CHECK(rc == 0, "set_singleshot_timer returned %ld", rc);
  block_until(monotonic_ns() + 3000000ull);
  CHECK(stat_ticks > ticks, "the singleshot timer did not fire");
  set_periodic(10000000ull);
  return 0;
}

static int t_schedule(void) {
  CHECK(HYPERVISOR_sched_op(SCHEDOP_yield, 0) == 0, "yield failed");
  u32 port = timer_port;
  struct sched_poll sp = {&port, 1, monotonic_ns() + 5000000ull};
  mask_evtchn(timer_port);
  u64 t0 = monotonic_ns();
  local_irq_disable();
  long rc = HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
  local_irq_enable();
  u64 t1 = monotonic_ns();
  unmask_evtchn(timer_port);
  CHECK(rc == 0, "SCHEDOP_poll returned %ld", rc);
  CHECK(t1 > t0, "poll returned without time passing");
  /* SCHEDOP_block wakes on a singleshot timer */
  struct { u64 t; u32 flags; } ss = {monotonic_ns() + 2000000ull, 0};
  CHECK(HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss) == 0, "singleshot failed");
  u64 start = monotonic_ns();
  wait_for_event();
  CHECK(monotonic_ns() >= start, "block went back in time");
  set_periodic(10000000ull);
  return 0;
}

static volatile int ev_count;
static void ev_handler(u32 port, struct regs *r) { (void)port, (void)r, ev_count++; }

static int t_event_channels(void) {
  /* the callbacks again, through callback_op this time */
  extern char hypervisor_callback[], failsafe_callback[];
  struct callback_register cb = CALLBACK(CALLBACKTYPE_event, hypervisor_callback);
  long rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
  CHECK(rc == 0, "callback_op register event returned %ld", rc);
  cb = (struct callback_register)CALLBACK(CALLBACKTYPE_failsafe, failsafe_callback);
  rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
  CHECK(rc == 0, "callback_op register failsafe returned %ld", rc);
#ifdef __x86_64__
  extern char syscall_callback[];
  cb = (struct callback_register)CALLBACK(CALLBACKTYPE_syscall, syscall_callback);
  rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
  CHECK(rc == 0, "callback_op register syscall returned %ld", rc);
#endif
  struct evtchn_bind_ipi ipi = {0, 0};
  rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &ipi);
  CHECK(rc == 0, "bind_ipi returned %ld", rc);
  bind_port(ipi.port, ev_handler);
  ev_count = 0;
  notify_remote(ipi.port);
  CHECK(ev_count == 1, "IPI event delivered %d times (want 1)", ev_count);
  mask_evtchn(ipi.port);
  notify_remote(ipi.port);
  CHECK(ev_count == 1, "a masked port was delivered");
  CHECK(test_bit(ipi.port, shared->evtchn_pending), "a masked send did not set pending");
  unmask_evtchn(ipi.port);
  CHECK(ev_count == 2, "unmasking did not deliver the pending event (%d)", ev_count);
  /* loopback interdomain channel */
  int a = alloc_unbound(DOMID_SELF, NULL);
  CHECK(a >= 0, "alloc_unbound returned %d", a);
  struct evtchn_bind_interdomain bi = {DOMID_SELF, 0, (u32)a, 0};
  rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi);
  CHECK(rc == 0, "bind_interdomain returned %ld", rc);
  bind_port(bi.local_port, ev_handler);
  bind_port((u32)a, ev_handler);
  ev_count = 0;
  notify_remote(bi.local_port);
  CHECK(ev_count == 1, "interdomain send delivered %d events", ev_count);
  struct evtchn_port_op c = {ipi.port};
  HYPERVISOR_event_channel_op(EVTCHNOP_close, &c);
  c.port = bi.local_port;
  HYPERVISOR_event_channel_op(EVTCHNOP_close, &c);
  c.port = (u32)a;
  HYPERVISOR_event_channel_op(EVTCHNOP_close, &c);
  c.port = ipi.port;
  CHECK(notify_remote(ipi.port) < 0, "send on a closed port succeeded");
  return 0;
}

static int t_grant_tables(void) {
  CHECK(gnttab, "setup_table failed");
  struct gnttab_query_size q = {DOMID_SELF, 0, 0, 0};
  long rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1);
  CHECK(rc == 0 && q.status == 0 && q.nr_frames >= 1, "query_size rc %ld status %d frames %lu",
        rc, q.status, (ulong)q.nr_frames);
  void *page = alloc_page();
  CHECK(page, "no page to grant");
  ulong frame = pfn_to_mfn(__pa(page) >> PAGE_SHIFT);
  int ref = gnttab_grant(0, frame, 1);
  CHECK(ref >= 8, "no grant reference");
  CHECK(gnttab[ref].frame == frame && gnttab[ref].domid == 0 &&
            gnttab[ref].flags == (GTF_permit_access | GTF_readonly),
        "grant entry %d reads back wrong", ref);
  gnttab_end(ref);
  CHECK(gnttab[ref].flags == 0, "grant %d not revoked", ref);
  free_page(page);
  return 0;
}

static int t_console(void) {
  long rc = HYPERVISOR_console_io(CONSOLEIO_write, 0, "");
  CHECK(rc >= 0, "console_io write returned %ld", rc);
  if (!console_ring_active()) SKIP("no console ring");
  CHECK(console_ring_drain(1000000000ull) == 0, "the backend did not consume the ring output");
  return 0;
}

static int t_xenstore(void) {
  if (!xenbus_ready) SKIP("no store ring");
  char buf[256];
  CHECK(xs_read("domid", buf, sizeof(buf)) > 0, "read domid failed");
  CHECK(buf[0] >= '0' && buf[0] <= '9', "domid \"%s\" not a number", buf);
  CHECK(xs_write("data/selftest", "pvx") == 0, "write data/selftest failed");
  CHECK(xs_read("data/selftest", buf, sizeof(buf)) == 3 && !strcmp(buf, "pvx"),
        "data/selftest read back \"%s\"", buf);
  int n = xs_directory("data", buf, sizeof(buf));
  CHECK(n >= 1, "directory data has %d entries", n);
  CHECK(xs_read("no/such/node", buf, sizeof(buf)) < 0, "reading a missing node succeeded");
  int ev = xs_watch_events;
  CHECK(xs_watch("data/watched", "tok") == 0, "watch failed");
  CHECK(xs_write("data/watched", "1") == 0, "write to the watched node failed");
  u64 deadline = monotonic_ns() + 500000000ull;
  while (xs_poll_watches() < ev + 2 && monotonic_ns() < deadline) wait_for_event();
  CHECK(xs_watch_events >= ev + 2, "%d watch events (want the initial one and the write)",
        xs_watch_events - ev);
  CHECK(xs_unwatch("data/watched", "tok") == 0, "unwatch failed");
  return 0;
}

static int t_features(void) {
  struct xen_feature_info fi = {0, 0};
  CHECK(HYPERVISOR_xen_version(XENVER_get_features, &fi) == 0, "get_features failed");
  CHECK(fi.submap == xen_features, "feature map changed");
  CHECK(((fi.submap >> XENFEAT_auto_translated_physmap) & 1) == (ulong)translated,
        "paging mode does not follow auto_translated_physmap");
  if (!translated) {
    for (ulong pfn = 0; pfn < nr_pages; pfn += 97)
      if (p2m[pfn] != ~0ul)
        CHECK(mfn_to_pfn(p2m[pfn]) == pfn, "M2P(P2M(%lx)) = %lx", pfn, mfn_to_pfn(p2m[pfn]));
  }
  return 0;
}

static int t_version(void) {
  long v = HYPERVISOR_xen_version(XENVER_version, NULL);
  CHECK((v >> 16) >= 3, "version %lx", v);
  CHECK(xen_extra[0] != 0, "empty extraversion");
  CHECK(strlen(xen_caps) > 0, "empty capabilities");
  int ok = 0;
  for (const char *s = xen_caps; *s; s++)
    if (!strncmp(s, XEN_CAPS_WANT, strlen(XEN_CAPS_WANT))) ok = 1;
  CHECK(ok, "capabilities \"%s\" lack %s", xen_caps, XEN_CAPS_WANT);
  CHECK(HYPERVISOR_xen_version(XENVER_pagesize, NULL) == 4096, "page size not 4096");
  return 0;
}

static int t_user_mode(void) {
  size_t len;
  const void *elf = ramdisk_find("hello", &len);
  CHECK(elf, "no hello program");
  u32 sc = stat_syscalls;
  int status = -1;
  int rc = user_run(elf, len, "hello", &status);
  CHECK(rc == 0, "could not start the process (%d)", rc);
  CHECK(status == 42, "hello exited with %d (want 42)", status);
  CHECK(stat_syscalls - sc >= 8, "only %lu system calls", (ulong)(stat_syscalls - sc));
  /* a page fault at CPL 3 kills the process, not the kernel */
  elf = ramdisk_find("segv", &len);
  CHECK(elf, "no segv program");
  user_fault_expected = "the selftest's segv program must die of its page fault";
  rc = user_run(elf, len, "segv", &status);
  user_fault_expected = NULL;
  CHECK(rc == 0 && status == 139, "segv exited with %d (want 139)", status);
  /* lazy FPU across processes: a child clobbers the FPU, the parent's x87 state survives */
  elf = ramdisk_find("fpu", &len);
  CHECK(elf, "no fpu program");
  int nm = fpu_nm_count;
  rc = user_run(elf, len, "fpu", &status);
  CHECK(rc == 0 && status == 0, "fpu exited with %d (rc %d): x87 state lost across processes",
        status, rc);
  CHECK(fpu_nm_count >= nm + 2, "%d #NM traps for two FPU users", fpu_nm_count - nm);
  return 0;
}

static int t_blk(void) {
  int rc = blkfront_init();
  if (rc == 1) SKIP("no vbd device");
  CHECK(rc == 0, "blkfront handshake failed (%d)", rc);
  CHECK(blk.sectors >= 8 && blk.sector_size == 512, "disk of %lu sectors of %lu bytes",
        blk.sectors, blk.sector_size);
  static u8 a[4096], b[4096], orig[4096];
  rc = blkfront_io(BLKIF_OP_READ, 0, a, 8);
  CHECK(rc == 0, "read of sector 0 failed (status %d)", rc);
  if (blk.readonly) return 0;
  ulong s = blk.sectors - 8;
  CHECK(blkfront_io(BLKIF_OP_READ, s, orig, 8) == 0, "read of sector %lu failed", s);
  for (int i = 0; i < 4096; i++) a[i] = (u8)(i * 7 + 3);
  CHECK(blkfront_io(BLKIF_OP_WRITE, s, a, 8) == 0, "write of sector %lu failed", s);
  if (blk.flush) CHECK(blkfront_io(BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0) == 0, "flush failed");
  CHECK(blkfront_io(BLKIF_OP_READ, s, b, 8) == 0, "read back failed");
  CHECK(!memcmp(a, b, 4096), "read back differs from what was written");
  CHECK(blkfront_io(BLKIF_OP_WRITE, s, orig, 8) == 0, "restoring sector %lu failed", s);
  if (blk.flush) CHECK(blkfront_io(BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0) == 0, "flush failed");
  return 0;
}
static int t_net(void) {
  int rc = netfront_init();
  if (rc == 1) SKIP("no vif device");
  CHECK(rc == 0, "netfront handshake failed (%d)", rc);
  u8 mac[6];
  CHECK(net_arp(HOST_IP, mac) == 0, "no ARP reply from 10.0.0.1");
  u64 rtt = 0;
  for (u16 seq = 1; seq <= 3; seq++)
    CHECK(net_ping(HOST_IP, seq, &rtt) == 0, "no ICMP echo reply to seq %u", (unsigned)seq);
  CHECK(net_udp_echo(HOST_IP, "pvx-guest udp echo") == 0, "no UDP echo from 10.0.0.1:7");
  CHECK(net.rx_packets >= 5 && net.tx_packets >= 5, "%lu packets in, %lu out", net.rx_packets,
        net.tx_packets);
  return 0;
}

static const struct { const char *name; int (*fn)(void); } areas[] = {
    {"descriptor tables", t_descriptor_tables},
    {"privileged registers", t_privileged_registers},
    {"MMU", t_mmu},
    {"memory reservation", t_memory_reservation},
    {"time and timer", t_time},
    {"vcpu", t_vcpu},
    {"schedule", t_schedule},
    {"event channels", t_event_channels},
    {"grant tables", t_grant_tables},
    {"block I/O", t_blk},
    {"network I/O", t_net},
    {"console I/O", t_console},
    {"xenstore", t_xenstore},
    {"feature map", t_features},
    {"version info", t_version},
    {"user mode", t_user_mode},
};

int ctx_save(struct kctx *c) __attribute__((returns_twice));
void ctx_restore(struct kctx *c, int v) __attribute__((noreturn));
static struct kctx area_ctx;
static volatile int area_running;

/*
 * A trap the kernel does not expect while an area runs (a hypervisor or CPU that
 * mishandles an instruction or hypercall) fails that area with the trap in the reason and
 * resumes with the next one, so one broken area does not hide the others.
 */
void selftest_unexpected_trap(struct regs *r, const char *name) {
  if (!area_running) return;
  area_running = 0;
  snprintf(why, sizeof(why), "unexpected %s (vector %lu, error %lx) at %lx", name,
           (ulong)r->vector, (ulong)r->error, (ulong)REG_IP(r));
  ctx_restore(&area_ctx, 1);
}

int selftest_run(void) {
  static int pass, fail, skip; /* static: kept across a trap's return through area_ctx */
  pass = fail = skip = 0;
  printk("selftest: %u areas\n", (unsigned)ARRAY_SIZE(areas));
  for (unsigned i = 0; i < ARRAY_SIZE(areas); i++) {
    why[0] = 0;
    volatile int r = 1;
    area_running = 1;
    if (ctx_save(&area_ctx) == 0) r = areas[i].fn();
    else local_irq_enable(); /* the area may have trapped with events masked */
    area_running = 0;
    if (r == 0) printk("PASS %s\n", areas[i].name), pass++;
    else if (r == 2) printk("SKIP %s: %s\n", areas[i].name, why), skip++;
    else printk("FAIL %s: %s\n", areas[i].name, why), fail++;
  }
  printk("selftest: %d passed, %d failed, %d skipped\n", pass, fail, skip);
  return fail;
}
