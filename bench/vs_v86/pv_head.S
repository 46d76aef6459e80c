/*
 * pv_head.S: 32-bit PAE Xen PV entry for the vs_v86 loop (linked at 0xC0000000). Output
 * through HYPERVISOR_console_io(CONSOLEIO_write); at the end SCHEDOP_shutdown(poweroff).
 */
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

NOTE(6, .asciz "vs_v86")
NOTE(7, .asciz "1.0")
NOTE(5, .asciz "xen-3.0")
NOTE(3, .long 0xC0000000)
NOTE(4, .long 0xC0000000)
NOTE(1, .long _start)
NOTE(2, .long hypercall_page)
NOTE(9, .asciz "yes")
NOTE(8, .asciz "generic")

#define HC_console_io 18
#define HC_sched_op 29

  .section .text.head, "ax"
  .globl _start
_start:
  cld
  movl $stack_top, %esp
  leal 0x50(%esi), %eax     /* start_info.cmd_line (x86_32 layout: 32 + 12 * 4) */
  pushl %eax
  call bench_main
  addl $4, %esp
  pushl $0                  /* SHUTDOWN_poweroff */
  movl %esp, %ecx
  movl $2, %ebx             /* SCHEDOP_shutdown */
  call hypercall_page + HC_sched_op * 32
1: hlt
  jmp 1b

/* void out(const char *s, u32 n) */
  .section .text
  .globl out
out:
  pushl %ebx
  movl $0, %ebx             /* CONSOLEIO_write */
  movl 12(%esp), %ecx       /* count */
  movl 8(%esp), %edx        /* buffer */
  call hypercall_page + HC_console_io * 32
  popl %ebx
  ret

  .section .text.hypercall, "ax"
  .balign 4096
  .globl hypercall_page
hypercall_page:
  .fill 4096, 1, 0xcc

  .section .bss
  .balign 16
  .space 16384
stack_top:
