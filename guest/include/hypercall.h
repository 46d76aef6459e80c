/*
 * hypercall.h: calls through the hypercall page Xen fills (32 bytes per hypercall).
 * x86_32: arguments in ebx, ecx, edx, esi, edi; x86_64: in rdi, rsi, rdx, r10, r8 (the
 * stub enters Xen with syscall, which clobbers rcx and r11). Result in eax / rax.
 * Hypercalls whose arguments are 64-bit values take two words on x86_32 and one on
 * x86_64 (update_va_mapping, update_descriptor, set_timer_op): the HC_U64 / MC_*
 * helpers spell them once for both.
 */
#ifndef PVX_HYPERCALL_H
#define PVX_HYPERCALL_H
#include "xen_abi.h"

extern char hypercall_page[4096];
extern volatile u32 stat_hypercalls;

#ifdef __x86_64__
#define _hypercall5(nr, a1, a2, a3, a4, a5)                                               \
  ({                                                                                     \
    long __r;                                                                            \
    register ulong __a4 __asm__("r10") = (ulong)(a4);                                    \
    register ulong __a5 __asm__("r8") = (ulong)(a5);                                     \
    ulong __a1 = (ulong)(a1), __a2 = (ulong)(a2), __a3 = (ulong)(a3);                    \
    stat_hypercalls++;                                                                   \
    __asm__ volatile("call hypercall_page + %c[off]"                                     \
                     : "=a"(__r), "+D"(__a1), "+S"(__a2), "+d"(__a3), "+r"(__a4),         \
                       "+r"(__a5)                                                        \
                     : [off] "i"((nr) * 32)                                              \
                     : "rcx", "r11", "memory");                                          \
    __r;                                                                                 \
  })
/* a 64-bit hypercall argument: one register */
#define HC_U64(v) (ulong)(v)
#else
#define _hypercall5(nr, a1, a2, a3, a4, a5)                                           \
  ({                                                                                 \
    long __r;                                                                        \
    ulong __b = (ulong)(a1), __c = (ulong)(a2), __d = (ulong)(a3), __s = (ulong)(a4), \
          __di = (ulong)(a5);                                                        \
    stat_hypercalls++;                                                               \
    __asm__ volatile("call hypercall_page + %c[off]"                                 \
                     : "=a"(__r), "+b"(__b), "+c"(__c), "+d"(__d), "+S"(__s),         \
                       "+D"(__di)                                                    \
                     : [off] "i"((nr) * 32)                                          \
                     : "memory");                                                    \
    __r;                                                                             \
  })
/* a 64-bit hypercall argument: two registers, low word first */
#define HC_U64(v) (u32)(v), (u32)((u64)(v) >> 32)
#endif

/* multicall argument lists */
#define MC_UPDATE_VA_MAPPING(va, pte, flags) {(ulong)(va), HC_U64(pte), (ulong)(flags)}
#define MC_UPDATE_DESCRIPTOR(ma, desc) {HC_U64(ma), HC_U64(desc)}

#define HYPERVISOR_set_trap_table(t) _hypercall5(__HYPERVISOR_set_trap_table, t, 0, 0, 0, 0)
#define HYPERVISOR_mmu_update(r, n, done, dom) \
  _hypercall5(__HYPERVISOR_mmu_update, r, n, done, dom, 0)
#define HYPERVISOR_mmuext_op(o, n, done, dom) \
  _hypercall5(__HYPERVISOR_mmuext_op, o, n, done, dom, 0)
#define HYPERVISOR_set_gdt(frames, ents) _hypercall5(__HYPERVISOR_set_gdt, frames, ents, 0, 0, 0)
#define HYPERVISOR_stack_switch(ss, sp) _hypercall5(__HYPERVISOR_stack_switch, ss, sp, 0, 0, 0)
#ifdef __x86_64__
/* x86_64: event, failsafe and syscall entry addresses (the code segment is implied) */
#define HYPERVISOR_set_callbacks(event, failsafe, syscall) \
  _hypercall5(__HYPERVISOR_set_callbacks, event, failsafe, syscall, 0, 0)
#define HYPERVISOR_set_segment_base(which, base) \
  _hypercall5(__HYPERVISOR_set_segment_base, which, base, 0, 0, 0)
#define HYPERVISOR_update_descriptor(ma, desc) \
  _hypercall5(__HYPERVISOR_update_descriptor, ma, desc, 0, 0, 0)
#define HYPERVISOR_update_va_mapping(va, pte, flags) \
  _hypercall5(__HYPERVISOR_update_va_mapping, va, pte, flags, 0, 0)
#define HYPERVISOR_set_timer_op(t) _hypercall5(__HYPERVISOR_set_timer_op, t, 0, 0, 0, 0)
#else
#define HYPERVISOR_set_callbacks(ecs, eip, fcs, fip) \
  _hypercall5(__HYPERVISOR_set_callbacks, ecs, eip, fcs, fip, 0)
#define HYPERVISOR_update_descriptor(ma, desc)                                              \
  _hypercall5(__HYPERVISOR_update_descriptor, (u32)(ma), (u32)((u64)(ma) >> 32), (u32)(desc), \
              (u32)((u64)(desc) >> 32), 0)
#define HYPERVISOR_update_va_mapping(va, pte, flags)                                      \
  _hypercall5(__HYPERVISOR_update_va_mapping, va, (u32)(pte), (u32)((u64)(pte) >> 32), \
              flags, 0)
#define HYPERVISOR_set_timer_op(t) \
  _hypercall5(__HYPERVISOR_set_timer_op, (u32)(t), (u32)((u64)(t) >> 32), 0, 0, 0)
#endif
#define HYPERVISOR_fpu_taskswitch(set) _hypercall5(__HYPERVISOR_fpu_taskswitch, set, 0, 0, 0, 0)
#define HYPERVISOR_memory_op(cmd, arg) _hypercall5(__HYPERVISOR_memory_op, cmd, arg, 0, 0, 0)
#define HYPERVISOR_multicall(calls, n) _hypercall5(__HYPERVISOR_multicall, calls, n, 0, 0, 0)
#define HYPERVISOR_xen_version(cmd, arg) _hypercall5(__HYPERVISOR_xen_version, cmd, arg, 0, 0, 0)
#define HYPERVISOR_console_io(cmd, n, buf) \
  _hypercall5(__HYPERVISOR_console_io, cmd, n, buf, 0, 0)
#define HYPERVISOR_grant_table_op(cmd, arg, n) \
  _hypercall5(__HYPERVISOR_grant_table_op, cmd, arg, n, 0, 0)
#define HYPERVISOR_vcpu_op(cmd, vcpu, arg) _hypercall5(__HYPERVISOR_vcpu_op, cmd, vcpu, arg, 0, 0)
#define HYPERVISOR_sched_op(cmd, arg) _hypercall5(__HYPERVISOR_sched_op, cmd, arg, 0, 0, 0)
#define HYPERVISOR_callback_op(cmd, arg) _hypercall5(__HYPERVISOR_callback_op, cmd, arg, 0, 0, 0)
#define HYPERVISOR_event_channel_op(cmd, arg) \
  _hypercall5(__HYPERVISOR_event_channel_op, cmd, arg, 0, 0, 0)
#endif
