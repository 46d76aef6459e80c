/* crt0_64.S: x86_64 user program entry: argc at (%rsp), argv after it; calls main, then exit. */
  .section .text.start, "ax"
  .globl _start
_start:
  xorl %ebp, %ebp
  movq (%rsp), %rdi
  leaq 8(%rsp), %rsi
  andq $-16, %rsp
  call main
  movl %eax, %edi
  movl $60, %eax
  syscall
1: jmp 1b
