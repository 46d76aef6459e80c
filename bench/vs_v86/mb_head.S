/*
 * mb_head.S: multiboot (v1) entry for the vs_v86 loop. The loader enters in 32-bit
 * protected mode with flat segments, eax = 0x2BADB002, ebx = multiboot info. Output goes
 * to COM1 (port 0x3f8); at the end the CPU halts with interrupts off.
 */
  .section .text.head, "ax"
  .balign 4
mb_header:
  .long 0x1BADB002
  .long 0x00000000
  .long -(0x1BADB002 + 0x00000000)

  .globl _start
_start:
  cld
  movl $stack_top, %esp
  xorl %eax, %eax
  testb $4, (%ebx)          /* flags bit 2: cmdline present */
  jz 1f
  movl 16(%ebx), %eax
1:
  pushl %eax
  call bench_main
  cli
2: hlt
  jmp 2b

/* void out(const char *s, u32 n) */
  .section .text
  .globl out
out:
  movl 4(%esp), %ecx
  movl 8(%esp), %eax
  movw $0x3f8, %dx
  testl %eax, %eax
  jz 2f
1:
  pushl %eax
  movb (%ecx), %al
  outb %al, %dx
  popl %eax
  incl %ecx
  decl %eax
  jnz 1b
2:
  ret

  .section .bss
  .balign 16
  .space 16384
stack_top:
