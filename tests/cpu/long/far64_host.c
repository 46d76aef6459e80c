/*
 * Host-CPU oracle for the system side of 64-bit mode as user space sees it (Linux x86-64:
 * CS 0x33 64-bit, 0x23 compatibility, SS/DS 0x2b, kernel CS 0x10, DS 0x18). Each case is
 * position-independent code copied to 0x200000 (below 4 GiB, so compatibility code can
 * run it), entered at ring 3 with fixed registers and RSP 0x21f000, and run until it
 * traps (ud2 at its end, or the fault it is about); the signal's ucontext gives the
 * vector (trapno), error code, RIP, CS, RFLAGS and the 16 GPRs.
 * Output, one line per case: name, code bytes (hex), trapno, err, rip, cs, rflags, cr2,
 * rax..r15.
 * far64_host_test.ts runs the same bytes in pvx and compares. Build: see generate.sh.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define BASE 0x200000UL
#define STACK 0x21f000UL

/* The cases, delimited by labels: case_<n> ... (the next label ends it). */
__asm__(
    ".intel_syntax noprefix\n"
    ".text\n"
    ".globl cases_start\n"
    "cases_start:\n"
    /* 0: 64 -> compat by rex.w lret, compat -> 64 by a 32-bit lret. */
    "case_0:\n"
    "  lea rbx, [rip + 1f]\n"
    "  push 0x23\n"
    "  lea rax, [rip + 2f]\n"
    "  push rax\n"
    "  rex.w lret\n"
    ".code32\n"
    "2: inc eax\n"
    "  inc ecx\n"
    "  push 0x33\n"
    "  push ebx\n"
    "  lret\n"
    ".code64\n"
    "1: add rcx, 0x10\n"
    "  ud2\n"
    /* 1: ljmp m16:32 into compat, ljmp m16:32 back. */
    "case_1:\n"
    "  lea rax, [rip + 2f]\n"
    "  mov [rip + 3f], eax\n"
    "  mov word ptr [rip + 3f + 4], 0x23\n"
    "  lea rax, [rip + 1f]\n"
    "  mov [rip + 4f], eax\n"
    "  mov word ptr [rip + 4f + 4], 0x33\n"
    "  lea rbx, [rip + 4f]\n"
    "  ljmp [rip + 3f]\n"
    ".code32\n"
    "2: dec edx\n"
    "  ljmp [ebx]\n"
    ".code64\n"
    "1: ud2\n"
    "3: .long 0\n .word 0\n"
    "4: .long 0\n .word 0\n"
    /* 2: lcall m16:32 to compat code that returns by lret. */
    "case_2:\n"
    "  lea rax, [rip + 2f]\n"
    "  mov [rip + 3f], eax\n"
    "  mov word ptr [rip + 3f + 4], 0x23\n"
    "  lcall [rip + 3f]\n"
    "  add rax, 0x100\n"
    "  ud2\n"
    ".code32\n"
    "2: add eax, 5\n"
    "  lret\n"
    ".code64\n"
    "3: .long 0\n .word 0\n"
    /* 3: iretq at ring 3 to 64-bit code with new arithmetic flags and RSP. */
    "case_3:\n"
    "  mov rax, rsp\n"
    "  sub rax, 0x40\n"
    "  push 0x2b\n"
    "  push rax\n"
    "  push 0x8d7\n"
    "  push 0x33\n"
    "  lea rbx, [rip + 1f]\n"
    "  push rbx\n"
    "  iretq\n"
    "1: mov rsi, rsp\n"
    "  ud2\n"
    /* 4: iretq to compatibility code, which then faults (ud2 in compat mode). */
    "case_4:\n"
    "  mov rax, rsp\n"
    "  push 0x2b\n"
    "  push rax\n"
    "  push 0x202\n"
    "  push 0x23\n"
    "  lea rbx, [rip + 1f]\n"
    "  push rbx\n"
    "  iretq\n"
    ".code32\n"
    "1: inc eax\n"
    "  inc eax\n"
    "  ud2\n"
    ".code64\n"
    /* 5: iretd (32-bit operands) in 64-bit mode, frame built with movs. */
    "case_5:\n"
    "  lea rbx, [rip + 1f]\n"
    "  lea rax, [rsp - 0x80]\n"
    "  sub rsp, 20\n"
    "  mov [rsp], ebx\n"
    "  mov dword ptr [rsp + 4], 0x33\n"
    "  mov dword ptr [rsp + 8], 0x203\n"
    "  mov [rsp + 12], eax\n"
    "  mov dword ptr [rsp + 16], 0x2b\n"
    "  iretd\n"
    "1: mov rdi, rsp\n"
    "  ud2\n"
    /* 6: segment registers: mov gs, push gs / pop, mov from cs/ss. */
    "case_6:\n"
    "  mov eax, 0x2b\n"
    "  mov gs, eax\n"
    "  push gs\n"
    "  pop rcx\n"
    "  mov edx, ss\n"
    "  mov rsi, -1\n"
    "  mov esi, cs\n"
    "  mov rdi, -1\n"
    "  mov di, ss\n"
    "  ud2\n"
    /* 7..: faults. */
    "case_7:\n  cli\n"
    "case_8:\n  hlt\n"
    "case_9:\n  in al, 0x60\n"
    "case_10:\n  swapgs\n"
    "case_11:\n  rex.w sysret\n"
    "case_12:\n  mov cr0, rax\n"
    "case_13:\n  wrmsr\n"
    "case_14:\n  .byte 0xce\n" /* into: #UD in 64-bit mode */
    "case_15:\n  int3\n"
    "case_16:\n  .byte 0xf1\n" /* int1 */
    "case_17:\n  mov eax, 0x83\n  mov ds, eax\n" /* beyond the GDT: #GP(0x80) */
    "case_18:\n  mov eax, 0x18\n  mov ds, eax\n" /* DPL 0 data: #GP(0x18) */
    "case_19:\n  mov eax, 0x33\n  mov ss, eax\n" /* code into SS: #GP(0x30) */
    "case_20:\n  mov rax, 0x0000800000000000\n  push 0x2b\n  push rsp\n  push 0x202\n"
    "  push 0x33\n  push rax\n  iretq\n" /* non-canonical RIP: #GP(0) */
    "case_21:\n  push 0x10\n  lea rax, [rip + 1f]\n  push rax\n  rex.w lret\n1: ud2\n"
    "case_22:\n  mov rax, dr7\n"
    "case_23:\n  clts\n"
    "case_24:\n  lgdt [rsp]\n"
    "case_25:\n  invlpg [rsp]\n"
    "case_26:\n  out dx, al\n"
    "case_27:\n  rex.w insd\n"
    "case_28:\n  mov eax, 0x2b\n  mov es, eax\n  mov ds, eax\n  xor eax, eax\n  mov ds, eax\n"
    "  mov ecx, ds\n  mov edx, es\n  ud2\n"
    "case_29:\n  mov eax, 0x2b\n  mov ds, eax\n  lea rax, [rip + 1f]\n  push 0x23\n  push rax\n"
    "  rex.w lret\n.code32\n1: mov eax, [0x12345678]\n.code64\n" /* #PF from compat code */
    "case_30:\n  .byte 0x9a, 0, 0, 0, 0, 0x33, 0\n" /* call far ptr: #UD in 64-bit */
    /* 31: as 1 with DS loaded (1 faults: a null DS in compatibility mode is #GP(0)). */
    "case_31:\n"
    "  mov eax, 0x2b\n"
    "  mov ds, eax\n"
    "  lea rax, [rip + 2f]\n"
    "  mov [rip + 3f], eax\n"
    "  mov word ptr [rip + 3f + 4], 0x23\n"
    "  lea rax, [rip + 1f]\n"
    "  mov [rip + 4f], eax\n"
    "  mov word ptr [rip + 4f + 4], 0x33\n"
    "  lea rbx, [rip + 4f]\n"
    "  ljmp [rip + 3f]\n"
    ".code32\n"
    "2: dec edx\n"
    "  ljmp [ebx]\n"
    ".code64\n"
    "1: ud2\n"
    "3: .long 0\n .word 0\n"
    "4: .long 0\n .word 0\n"
    /* 32: iretd in compatibility mode at the same level: SS:ESP not popped. */
    "case_32:\n"
    "  lea rax, [rip + 1f]\n  push 0x23\n  push rax\n  rex.w lret\n"
    ".code32\n"
    "1: mov eax, 0x2b\n  mov ds, eax\n  call 2f\n"
    "2: pop ebx\n  add ebx, 3f - 2b\n  mov esi, esp\n"
    "  push 0x2b\n  push 0x21e800\n  push 0x203\n  push 0x23\n  push ebx\n  iretd\n"
    "3: mov edi, esp\n  ud2\n"
    ".code64\n"
    ".globl cases_end\n"
    "cases_end:\n"
    ".att_syntax prefix\n");

#define NCASES 33
extern const uint8_t cases_start[], cases_end[];

/* Entry: rdi = the 17 values (rax..r15, rflags), rsi = code. Never returns. */
__asm__(
    ".text\n"
    "enter_test:\n"
    "  mov %rsi, target(%rip)\n"
    "  pushq 128(%rdi)\n"
    "  popfq\n"
    "  mov 0(%rdi), %rax\n"
    "  mov 8(%rdi), %rcx\n"
    "  mov 16(%rdi), %rdx\n"
    "  mov 24(%rdi), %rbx\n"
    "  mov 32(%rdi), %rsp\n"
    "  mov 40(%rdi), %rbp\n"
    "  mov 48(%rdi), %rsi\n"
    "  mov 64(%rdi), %r8\n"
    "  mov 72(%rdi), %r9\n"
    "  mov 80(%rdi), %r10\n"
    "  mov 88(%rdi), %r11\n"
    "  mov 96(%rdi), %r12\n"
    "  mov 104(%rdi), %r13\n"
    "  mov 112(%rdi), %r14\n"
    "  mov 120(%rdi), %r15\n"
    "  mov 56(%rdi), %rdi\n"
    "  jmp *target(%rip)\n"
    ".data\n"
    "target: .quad 0\n"
    ".text\n");
void enter_test(const uint64_t *regs, void *code) __attribute__((noreturn));

static sigjmp_buf jb;
static ucontext_t got;

static void on_signal(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  got = *(ucontext_t *)uc;
  siglongjmp(jb, 1);
}

/* The initial registers (the test builds the same). */
static void initial(uint64_t *r) {
  for (int i = 0; i < 16; i++) r[i] = 0x1000 * (uint64_t)(i + 1) + 0x11;
  r[4] = STACK;
  r[16] = 0x202;
}

/* The case labels (symbols of the asm block above). */
#define L(n) extern const uint8_t case_##n[];
L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7) L(8) L(9) L(10) L(11) L(12) L(13) L(14) L(15) L(16)
L(17) L(18) L(19) L(20) L(21) L(22) L(23) L(24) L(25) L(26) L(27) L(28) L(29) L(30) L(31) L(32)
#undef L

int main(void) {
  const uint8_t *starts[NCASES + 1] = {
      case_0,  case_1,  case_2,  case_3,  case_4,  case_5,  case_6,  case_7,
      case_8,  case_9,  case_10, case_11, case_12, case_13, case_14, case_15,
      case_16, case_17, case_18, case_19, case_20, case_21, case_22, case_23,
      case_24, case_25, case_26, case_27, case_28, case_29, case_30, case_31, case_32, cases_end};
  uint8_t *mem = mmap((void *)BASE, 0x20000, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mem != (void *)BASE) {
    perror("mmap");
    return 1;
  }
  static uint8_t alt[65536];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  sigaltstack(&ss, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGILL, &sa, 0);
  sigaction(SIGTRAP, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  static const int order[] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                              REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                              REG_R12, REG_R13, REG_R14, REG_R15};
  for (int n = 0; n < NCASES; n++) {
    size_t len = (size_t)(starts[n + 1] - starts[n]);
    memset(mem, 0xcc, 0x1000);
    memcpy(mem, starts[n], len);
    uint64_t regs[17];
    initial(regs);
    if (sigsetjmp(jb, 1) == 0) enter_test(regs, mem);
    greg_t *g = got.uc_mcontext.gregs;
    printf("case_%d ", n);
    for (size_t i = 0; i < len; i++) printf("%02x", starts[n][i]);
    printf(" %llx %llx %llx %llx %llx %llx", (unsigned long long)g[REG_TRAPNO],
           (unsigned long long)g[REG_ERR], (unsigned long long)g[REG_RIP],
           (unsigned long long)(g[REG_CSGSFS] & 0xffff), (unsigned long long)g[REG_EFL],
           (unsigned long long)g[REG_CR2]);
    for (int i = 0; i < 16; i++) printf(" %llx", (unsigned long long)g[order[i]]);
    printf("\n");
  }
  return 0;
}
