/*
 * Host-CPU oracle for tests/cpu/long/host64_test.ts (build: generate.sh; gcc -m64 -no-pie).
 *
 * Every form of forms64.h is assembled into its own stub. For each case the runner loads
 * the 15 general registers (not RSP), RFLAGS and a 256-byte buffer at MEM_BASE, calls the
 * stub and records the state after. Inputs come from a fixed-seed xorshift generator, so a
 * rerun on the same CPU reproduces the file byte for byte.
 *
 * Output: a JSON list of the forms (name, generator, bytes, the stub's address) on the
 * file named by argv[1], and on stdout one record per case: u16 form id, then the input
 * state and the output state, each 17 x u64 (RAX..R15 in encoding order with the RSP slot
 * 0, then RFLAGS) and, for forms with memory, the 256 bytes at MEM_BASE.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_BASE 0x00200000u
#define MEM_SIZE 256

enum {
  G_ANY, G_SHIFT, G_SHIFTM, G_MEM, G_BTMEM, G_BITSCAN, G_STR, G_STR32, G_POPF, G_CMPXCHG,
  G_CMPXCHGM, G_DIV64, G_IDIV64, G_DIV32, G_IDIV32, G_ENTER, G_XLAT
};
static const char *gen_names[] = {"any", "shift", "shiftm", "mem", "btmem", "bitscan", "str",
                                  "str32", "popf", "cmpxchg", "cmpxchgm", "div64", "idiv64",
                                  "div32", "idiv32", "enter", "xlat"};

#define F(name, gen, text)                                                                  \
  __asm__(".pushsection .text\n.intel_syntax noprefix\n.p2align 4\n.globl f_" #name "\nf_" \
          #name ":\n" text "\n.globl f_" #name "_end\nf_" #name "_end:\nret\n.att_syntax\n"  \
          ".popsection\n");
#include "forms64.h"
#undef F

#define F(name, gen, text) extern char f_##name[], f_##name##_end[];
#include "forms64.h"
#undef F

struct form {
  const char *name, *text;
  int gen;
  char *begin, *end;
};
static const struct form forms[] = {
#define F(name, gen, text) {#name, text, gen, f_##name, f_##name##_end},
#include "forms64.h"
#undef F
};
#define NFORMS (sizeof forms / sizeof forms[0])

uint64_t g_in[17], g_out[17], g_saved_rsp;
void *g_stub;

__asm__(".pushsection .text\n.intel_syntax noprefix\n.globl run_case\nrun_case:\n"
        "push rbx\n push rbp\n push r12\n push r13\n push r14\n push r15\n"
        "mov [rip+g_saved_rsp], rsp\n"
        "push qword ptr [rip+g_in+128]\n popfq\n"
        "mov rax, [rip+g_in]\n mov rcx, [rip+g_in+8]\n mov rdx, [rip+g_in+16]\n"
        "mov rbx, [rip+g_in+24]\n mov rbp, [rip+g_in+40]\n mov rsi, [rip+g_in+48]\n"
        "mov rdi, [rip+g_in+56]\n mov r8, [rip+g_in+64]\n mov r9, [rip+g_in+72]\n"
        "mov r10, [rip+g_in+80]\n mov r11, [rip+g_in+88]\n mov r12, [rip+g_in+96]\n"
        "mov r13, [rip+g_in+104]\n mov r14, [rip+g_in+112]\n mov r15, [rip+g_in+120]\n"
        "call qword ptr [rip+g_stub]\n"
        "pushfq\n pop qword ptr [rip+g_out+128]\n"
        "mov [rip+g_out], rax\n mov [rip+g_out+8], rcx\n mov [rip+g_out+16], rdx\n"
        "mov [rip+g_out+24], rbx\n mov [rip+g_out+40], rbp\n mov [rip+g_out+48], rsi\n"
        "mov [rip+g_out+56], rdi\n mov [rip+g_out+64], r8\n mov [rip+g_out+72], r9\n"
        "mov [rip+g_out+80], r10\n mov [rip+g_out+88], r11\n mov [rip+g_out+96], r12\n"
        "mov [rip+g_out+104], r13\n mov [rip+g_out+112], r14\n mov [rip+g_out+120], r15\n"
        "mov rsp, [rip+g_saved_rsp]\n"
        "pop r15\n pop r14\n pop r13\n pop r12\n pop rbp\n pop rbx\n cld\n ret\n"
        ".att_syntax\n.popsection\n");
void run_case(void);

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static uint32_t rbelow(uint32_t n) { return rnd() % n; }

/* A register value: an edge value, a small signed number, or bytes biased to edges. */
static uint64_t rval(void) {
  static const uint64_t edges[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
                                   0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
                                   0x7fffffffffffffff, 0x8000000000000000, ~0ull, ~1ull};
  static const uint8_t eb[] = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x0f, 0x10};
  uint32_t k = rbelow(8);
  if (k == 0) return edges[rbelow(sizeof edges / sizeof edges[0])];
  if (k == 1) return rbelow(70);
  if (k == 2) return -(uint64_t)rbelow(70);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    uint64_t b = rbelow(3) == 0 ? eb[rbelow(8)] : (rnd() & 0xff);
    v |= b << (8 * i);
  }
  if (k == 3) v = (uint32_t)v; /* a 32-bit value */
  return v;
}

static uint8_t mem_in[MEM_SIZE], mem_out[MEM_SIZE];
static uint8_t *mem;

static int has_mem(int gen) {
  return gen == G_SHIFTM || gen == G_MEM || gen == G_BTMEM || gen == G_STR || gen == G_STR32 ||
         gen == G_CMPXCHGM || gen == G_ENTER || gen == G_XLAT;
}

static void put64(int off, uint64_t v) { memcpy(mem_in + off, &v, 8); }

/* Dividend (rdx:rax or edx:eax) and divisor (rbx) with an in-range quotient. */
static void make_div(int bits, int sgn) {
  for (;;) {
    uint64_t a = rval(), b = rval();
    if (bits == 32) { a = (uint32_t)a | ((uint64_t)rnd() << 32); }
    uint64_t m = bits == 64 ? ~0ull : 0xffffffffull, bm = b & m;
    if (bm == 0) continue;
    uint64_t d;
    if (sgn) {
      int64_t sb = bits == 64 ? (int64_t)b : (int32_t)b;
      int64_t sa = bits == 64 ? (int64_t)a : (int32_t)a;
      if (sb == -1 && sa == (bits == 64 ? INT64_MIN : INT32_MIN)) continue;
      d = sa < 0 ? m : 0;
    } else d = rbelow(2) ? 0 : (rval() & m) % bm;
    g_in[0] = a;
    g_in[2] = d | (bits == 32 ? (uint64_t)rnd() << 32 : 0);
    g_in[3] = b;
    return;
  }
}

static void make_case(const struct form *f, uint32_t i) {
  for (int r = 0; r < 16; r++) g_in[r] = rval();
  g_in[4] = 0;
  g_in[16] = 0x202 | (rnd() & 0x8d5);
  memset(mem_in, 0, MEM_SIZE);
  for (int k = 0; k < 48; k++) mem_in[k] = (uint8_t)rnd();
  for (int k = 120; k < 136; k++) mem_in[k] = (uint8_t)rnd();
  switch (f->gen) {
  case G_SHIFTM: g_in[3] = MEM_BASE; /* fallthrough */
  case G_SHIFT:
    if (i < 64) g_in[1] = (g_in[1] & ~0xffull) | (i & 63);
    break;
  case G_MEM: g_in[3] = MEM_BASE; break;
  case G_ENTER: g_in[5] = MEM_BASE + 128; break;
  case G_BTMEM:
    for (int k = 56; k < 200; k++) mem_in[k] = (uint8_t)rnd();
    g_in[3] = MEM_BASE + 128; g_in[1] = (uint64_t)((int64_t)rbelow(1024) - 512); break;
  case G_XLAT: g_in[3] = MEM_BASE; g_in[0] = (g_in[0] & ~0xffull) | rbelow(MEM_SIZE); break;
  case G_BITSCAN:
    if (rbelow(5) == 0) g_in[3] = g_in[10] = 0;
    else if (rbelow(3) == 0) g_in[3] = g_in[10] = 1ull << rbelow(64);
    break;
  case G_STR: case G_STR32: {
    uint64_t df = rbelow(2), alpha[3] = {0, g_in[0], ~0ull};
    g_in[16] = (g_in[16] & ~0x400ull) | (df << 10);
    g_in[1] = rbelow(9);
    g_in[6] = MEM_BASE + (df ? 64 : 0) + rbelow(8);
    g_in[7] = MEM_BASE + 128 + (df ? 64 : 0) + rbelow(8);
    if (f->gen == G_STR32)
      for (int r = 1; r < 8; r += r == 1 ? 5 : 1) g_in[r] |= (uint64_t)rnd() << 32;
    for (int k = 0; k < MEM_SIZE / 8; k++)
      put64(8 * k, rbelow(3) ? alpha[rbelow(3)] : rval());
    break;
  }
  case G_POPF:
    g_in[0] = (rval() & ~0xffffffffull) | (rnd() & (0x8d5 | 0x400 | 0x200000 | 0x202a | 0x3000 | 0x8000));
    break;
  case G_CMPXCHG:
    if (rbelow(2)) g_in[0] = rbelow(2) ? g_in[2] : g_in[9];
    break;
  case G_CMPXCHGM:
    g_in[3] = MEM_BASE;
    if (rbelow(2)) {
      uint32_t eax = (uint32_t)g_in[0], edx = (uint32_t)g_in[2];
      put64(8, g_in[0]);
      memcpy(mem_in + 4, &eax, 4);
      memcpy(mem_in + 24, &eax, 4);
      memcpy(mem_in + 28, &edx, 4);
      put64(32, g_in[0]);
      put64(40, g_in[2]);
    }
    break;
  case G_DIV64: make_div(64, 0); break;
  case G_IDIV64: make_div(64, 1); break;
  case G_DIV32: make_div(32, 0); break;
  case G_IDIV32: make_div(32, 1); break;
  default: break;
  }
}

static uint32_t cases_for(const struct form *f) {
  uint32_t scale = getenv("HARNESS_SCALE") ? (uint32_t)atoi(getenv("HARNESS_SCALE")) : 1;
  switch (f->gen) {
  case G_SHIFT: case G_SHIFTM: return 64 * 2 * scale;
  case G_STR: case G_STR32: return 64 * scale;
  default: return 16 * scale;
  }
}

int main(int argc, char **argv) {
  mem = mmap((void *)MEM_BASE, 4096, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mem != (uint8_t *)MEM_BASE) { perror("mmap MEM_BASE"); return 1; }
  FILE *meta = fopen(argc > 1 ? argv[1] : "forms64.json", "w");
  if (!meta) { perror("forms64.json"); return 1; }
  fprintf(meta, "[\n");
  uint32_t total = 0;
  for (uint32_t fi = 0; fi < NFORMS; fi++) {
    const struct form *f = &forms[fi];
    uint32_t n = cases_for(f);
    fprintf(meta, "{\"name\": \"%s\", \"gen\": \"%s\", \"mem\": %s, \"cases\": %u, \"addr\": %lu, \"bytes\": \"",
            f->name, gen_names[f->gen], has_mem(f->gen) ? "true" : "false", n, (unsigned long)f->begin);
    for (char *p = f->begin; p < f->end; p++) fprintf(meta, "%02x", (uint8_t)*p);
    fprintf(meta, "\", \"asm\": \"%s\"}%s\n", f->text, fi + 1 < NFORMS ? "," : "");
    g_stub = f->begin;
    for (uint32_t i = 0; i < n; i++) {
      make_case(f, i);
      memcpy(mem, mem_in, MEM_SIZE);
      run_case();
      memcpy(mem_out, mem, MEM_SIZE);
      g_out[4] = 0;
      uint16_t id = (uint16_t)fi;
      fwrite(&id, 2, 1, stdout);
      fwrite(g_in, 8, 17, stdout);
      if (has_mem(f->gen)) fwrite(mem_in, 1, MEM_SIZE, stdout);
      fwrite(g_out, 8, 17, stdout);
      if (has_mem(f->gen)) fwrite(mem_out, 1, MEM_SIZE, stdout);
      total++;
    }
  }
  fprintf(meta, "]\n");
  fclose(meta);
  fprintf(stderr, "%u forms, %u cases\n", (unsigned)NFORMS, total);
  return 0;
}
