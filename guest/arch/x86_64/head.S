/*
 * arch/x86_64/head.S: pvx-guest's start of day as a 64-bit PV kernel (Xen's x86_64 ABI,
 * arch-x86/xen-x86_64.h). Xen ELF notes, the entry point (rsi = start_info), the
 * hypercall page (Xen fills 32-byte stubs that enter it with syscall), the boot stack,
 * and the entry stubs: exceptions, the event upcall, the failsafe and syscall callbacks.
 *
 * The kernel runs in ring 3 like its processes; Xen bounces into it with a frame
 * {rcx, r11, [error], rip, cs | upcall_mask << 32, rflags, rsp, ss} (cs with RPL 0 when
 * the kernel was interrupted, 3 when user mode was). The stubs pop rcx and r11 back,
 * build a struct regs (include/kernel.h) and call trap_dispatch(); every return goes
 * through HYPERVISOR_iret: the guest pushes flags below {rip, cs, rflags, rsp, ss} and
 * jumps to the iret stub, which pushes rcx, r11 and rax, completing a struct
 * iret_context {rax, r11, rcx, flags, rip, cs, rflags, rsp, ss}. It returns to user mode
 * (toggling to the user page tables) when cs has RPL 3, and sets the upcall mask from
 * the saved IF.
 */
#define __HYPERVISOR_iret 23
#define FLAT_USER_CS 0xe033
#define FLAT_USER_SS 0xe02b

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

NOTE(6, .asciz "pvx")                             /* GUEST_OS */
NOTE(7, .asciz "1.0")                             /* GUEST_VERSION */
NOTE(5, .asciz "xen-3.0")                         /* XEN_VERSION */
NOTE(3, .quad 0xFFFFFFFF80000000)                 /* VIRT_BASE */
NOTE(4, .quad 0xFFFFFFFF80000000)                 /* PADDR_OFFSET: virtual = ELF paddr */
NOTE(1, .quad _start)                             /* ENTRY */
NOTE(2, .quad hypercall_page)                     /* HYPERCALL_PAGE */
NOTE(9, .asciz "yes")                             /* PAE_MODE (as Linux x86_64 says) */
NOTE(10, .asciz "!writable_page_tables")          /* FEATURES */
NOTE(8, .asciz "generic")                         /* LOADER */

  .section .text.head, "ax"
  .globl _start
_start:
  cld
  movq $boot_stack_top, %rsp
  pushq $0
  popfq
  movq %rsi, %rdi
  call start_kernel
1: jmp 1b

  .section .text.hypercall, "ax"
  .balign 4096
  .globl hypercall_page
hypercall_page:
  .fill 4096, 1, 0xcc

  .section .text
/* every frame gets an error code (0 when the exception has none) and the vector */
#define TRAP_NOERR(n)  \
  .globl trap_##n;     \
trap_##n:              \
  popq %rcx;           \
  popq %r11;           \
  pushq $0;            \
  pushq $n;            \
  jmp common_entry

#define TRAP_ERR(n)    \
  .globl trap_##n;     \
trap_##n:              \
  popq %rcx;           \
  popq %r11;           \
  pushq $n;            \
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

/* the event upcall (VECTOR_EVENT) */
  .globl hypervisor_callback
hypervisor_callback:
  popq %rcx
  popq %r11
  pushq $0
  pushq $256
  jmp common_entry

/* the syscall instruction from user mode: a system call, as int 0x80 (vector 128) */
  .globl syscall_callback
syscall_callback:
  popq %rcx
  popq %r11
  pushq $0
  pushq $128
  jmp common_entry

common_entry:
  pushq %rax
  pushq %rbx
  pushq %rcx
  pushq %rdx
  pushq %rsi
  pushq %rdi
  pushq %rbp
  pushq %r8
  pushq %r9
  pushq %r10
  pushq %r11
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  cld
  movq %rsp, %rdi
  call trap_dispatch
  .globl ret_from_trap
ret_from_trap:
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %r11
  popq %r10
  popq %r9
  popq %r8
  popq %rbp
  popq %rdi
  popq %rsi
  popq %rdx
  popq %rcx
  popq %rbx
  popq %rax
  addq $16, %rsp /* vector, error: rip, cs, rflags, rsp, ss remain */
hypervisor_iret:
  pushq $0       /* flags: not VGCF_in_syscall, so rcx and r11 come back too */
  jmp hypercall_page + __HYPERVISOR_iret * 32 /* the stub pushes rcx, r11, rax */

/*
 * Failsafe callback: Xen could not load a segment register on the way back to the guest;
 * the frame holds rcx, r11, ds, es, fs, gs, then rip, cs, rflags, rsp, ss. Drop the
 * selectors and return (null selectors are always loadable in 64-bit mode).
 */
  .globl failsafe_callback
failsafe_callback:
  popq %rcx
  popq %r11
  addq $32, %rsp
  lock incl failsafe_count(%rip)
  jmp hypervisor_iret

  .section .bss
  .balign 4
  .globl failsafe_count
failsafe_count:
  .long 0
  .section .text

/* enter_user(ip, sp): HYPERVISOR_iret to user mode (the user L4 is already installed) */
  .globl enter_user
enter_user:
  pushq $FLAT_USER_SS
  pushq %rsi
  pushq $0x200
  pushq $FLAT_USER_CS
  pushq %rdi
  xorl %eax, %eax
  xorl %ebx, %ebx
  xorl %ecx, %ecx
  xorl %edx, %edx
  xorl %esi, %esi
  xorl %edi, %edi
  xorl %ebp, %ebp
  xorl %r8d, %r8d
  xorl %r9d, %r9d
  xorl %r10d, %r10d
  xorl %r11d, %r11d
  xorl %r12d, %r12d
  xorl %r13d, %r13d
  xorl %r14d, %r14d
  xorl %r15d, %r15d
  jmp hypervisor_iret

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
  movq %rbx, 0(%rdi)
  movq %rbp, 8(%rdi)
  movq %r12, 16(%rdi)
  movq %r13, 24(%rdi)
  movq %r14, 32(%rdi)
  movq %r15, 40(%rdi)
  leaq 8(%rsp), %rcx
  movq %rcx, 48(%rdi)
  movq (%rsp), %rcx
  movq %rcx, 56(%rdi)
  xorl %eax, %eax
  ret

  .globl ctx_restore
ctx_restore:
  movl %esi, %eax
  movq 0(%rdi), %rbx
  movq 8(%rdi), %rbp
  movq 16(%rdi), %r12
  movq 24(%rdi), %r13
  movq 32(%rdi), %r14
  movq 40(%rdi), %r15
  movq 48(%rdi), %rsp
  jmp *56(%rdi)
