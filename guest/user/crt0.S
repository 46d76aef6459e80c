/* crt0.S: user program entry: argc at (%esp), argv after it; calls main, then exit. */
  .section .text.start, "ax"
  .globl _start
_start:
  xorl %ebp, %ebp
  movl (%esp), %eax
  leal 4(%esp), %ecx
  pushl %ecx
  pushl %eax
  call main
  movl %eax, %ebx
  movl $1, %eax
  int $0x80
1: jmp 1b
