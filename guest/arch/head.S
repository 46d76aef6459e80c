/*
 * head.S: pvx-guest start of day. Xen ELF notes, the entry point (esi = start_info),
 * the hypercall page, the boot stack, and the trap / event / failsafe entry stubs that
 * build a struct regs frame (include/kernel.h) and call trap_dispatch().
 */
#define FLAT_KERNEL_DS 0xe021

#define NOTE(type, body)         \
  .pushsection .note.Xen, "a";   \
  .balign 4;                     \
  .long 2f - 1f;                 \
  .long 4f - 3f;                 \
  .long type;                    \
1: .asciz "Xen";                 \
2: .balign 4;                    \
3: body;                         \
4: .balign 4;                    \
  .popsection

NOTE(6, .asciz "pvx")
NOTE(7, .asciz "1.0")
NOTE(5, .asciz "xen-3.0")
NOTE(3, .long 0xC0000000)
NOTE(4, .long 0xC0000000)
NOTE(1, .long _start)
NOTE(2, .long hypercall_page)
NOTE(9, .asciz "yes")
NOTE(10, .asciz "!writable_page_tables|pae_pgdir_above_4gb|auto_translated_physmap")
NOTE(8, .asciz "generic")

  .section .text.head, "ax"
  .globl _start
_start:
  cld
  movl $boot_stack_top, %esp
  pushl $0
  popfl
  pushl %esi
  call start_kernel
1: hlt
  jmp 1b

  .section .text.hypercall, "ax"
  .balign 4096
  .globl hypercall_page
hypercall_page:
  .fill 4096, 1, 0xcc

  .section .text
/* exceptions without an error code push a zero so every frame has the same shape */
#define TRAP_NOERR(n)  \
  .globl trap_##n;     \
trap_##n:              \
  pushl $0;            \
  pushl $n;            \
  jmp common_entry

#define TRAP_ERR(n)    \
  .globl trap_##n;     \
trap_##n:              \
  pushl $n;            \
  jmp common_entry

TRAP_NOERR(0)
TRAP_NOERR(1)
TRAP_NOERR(2)
TRAP_NOERR(3)
TRAP_NOERR(4)
TRAP_NOERR(5)
TRAP_NOERR(6)
TRAP_NOERR(7)
TRAP_ERR(8)
TRAP_NOERR(9)
TRAP_ERR(10)
TRAP_ERR(11)
TRAP_ERR(12)
TRAP_ERR(13)
TRAP_ERR(14)
TRAP_NOERR(15)
TRAP_NOERR(16)
TRAP_ERR(17)
TRAP_NOERR(18)
TRAP_NOERR(19)
TRAP_NOERR(128)

  .globl hypervisor_callback
hypervisor_callback:
  pushl $0
  pushl $256
  jmp common_entry

common_entry:
  pushl %gs
  pushl %fs
  pushl %es
  pushl %ds
  pushl %eax
  pushl %ebp
  pushl %edi
  pushl %esi
  pushl %edx
  pushl %ecx
  pushl %ebx
  movl $FLAT_KERNEL_DS, %eax
  movl %eax, %ds
  movl %eax, %es
  xorl %eax, %eax /* the kernel runs with null fs/gs: a TLS descriptor may change under it */
  movl %eax, %fs
  movl %eax, %gs
  cld
  pushl %esp
  call trap_dispatch
  addl $4, %esp
  .globl ret_from_trap
ret_from_trap:
  popl %ebx
  popl %ecx
  popl %edx
  popl %esi
  popl %edi
  popl %ebp
  popl %eax
  popl %ds
  popl %es
  popl %fs
  popl %gs
  addl $8, %esp
  iret

/*
 * Failsafe callback: Xen could not load a segment register while returning to the
 * guest; the frame holds ds, es, fs, gs, then eip, cs, eflags (and esp, ss from ring 3).
 * As Linux does: drop the saved selectors, return with flat ds/es for the ring being
 * returned to and null fs/gs (counted in failsafe_count).
 */
  .globl failsafe_callback
failsafe_callback:
  addl $16, %esp
  lock incl failsafe_count
  testl $3, 4(%esp)
  jz 1f
  movl $0xe033, %eax
  jmp 2f
1: movl $FLAT_KERNEL_DS, %eax
2: movl %eax, %ds
  movl %eax, %es
  xorl %eax, %eax
  movl %eax, %fs
  movl %eax, %gs
  andl $0xffff, 4(%esp)
  iret

  .section .bss
  .balign 4
  .globl failsafe_count
failsafe_count:
  .long 0
  .section .text

/* enter_user(entry, user_esp): iret to ring 3 with flat user segments */
  .globl enter_user
enter_user:
  movl 4(%esp), %ecx
  movl 8(%esp), %edx
  movl $0xe033, %eax
  movl %eax, %ds
  movl %eax, %es
  movl %eax, %fs
  movl %eax, %gs
  pushl $0xe033
  pushl %edx
  pushl $0x200
  pushl $0xe02b
  pushl %ecx
  xorl %eax, %eax
  xorl %ebx, %ebx
  xorl %ecx, %ecx
  xorl %edx, %edx
  xorl %esi, %esi
  xorl %edi, %edi
  xorl %ebp, %ebp
  iret

  .section .bss
  .balign 4096
  .globl boot_stack
boot_stack:
  .skip 16384
  .globl boot_stack_top
boot_stack_top:

/* ctx_save(ctx): saves callee-saved registers and the return point, returns 0;
 * ctx_restore(ctx, v) resumes there returning v (used to leave a user process). */
  .section .text
  .globl ctx_save
ctx_save:
  movl 4(%esp), %eax
  movl %ebx, 0(%eax)
  movl %esi, 4(%eax)
  movl %edi, 8(%eax)
  movl %ebp, 12(%eax)
  leal 4(%esp), %ecx
  movl %ecx, 16(%eax)
  movl (%esp), %ecx
  movl %ecx, 20(%eax)
  xorl %eax, %eax
  ret

  .globl ctx_restore
ctx_restore:
  movl 4(%esp), %edx
  movl 8(%esp), %eax
  movl 0(%edx), %ebx
  movl 4(%edx), %esi
  movl 8(%edx), %edi
  movl 12(%edx), %ebp
  movl 16(%edx), %esp
  jmp *20(%edx)
