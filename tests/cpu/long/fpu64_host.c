/*
 * Host-CPU oracle for pvx's 64-bit x87/SSE differential test (fpu64_host_test.ts); build
 * and run: fpu64_generate.sh (gcc -m64 -no-pie).
 *
 * The 64-bit twin of tests/cpu/host/harness.c: every x87 and SSE form of
 * ../host/forms_x87.h and ../host/forms_sse.h (their [ebx...] operands rewritten to
 * [rbx...] by fpu64_generate.sh), plus the REX-only forms of fpu64_forms.h (xmm8-15,
 * REX.W conversions and movq, r8-r15, RIP-relative operands, fxsave64/fxrstor64), runs
 * natively in 64-bit mode on generated inputs. The input generators are harness.c's
 * (same xorshift, same data classes), with xmm0-15 and 64-bit GPRs whose high halves are
 * random (32-bit results must zero-extend).
 *
 * Record (little-endian, on stdout): u16 form id; then in and out state, each: 16 x u64
 * GPRs (RAX..R15, the RSP slot 0), u64 RFLAGS, the memory buffer if the form has one (64
 * bytes, 512 for fxs forms), the fnsave image (108 bytes, x87 and fxs forms), xmm0-15 and
 * MXCSR (260 bytes, SSE and fxs forms). The form list goes to argv[1] as JSON with each
 * form's bytes and the address of its stub (RIP-relative forms depend on it).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_BASE 0x00200000u
#define MEM_SIZE 64
#define MEM_SIZE_FXS 512

enum { K_INT = 0, K_X87 = 1, K_SSE = 2, K_FXS = 3 };
enum { G_X87 = 100, G_X87M, G_SSE, G_SSEM, G_FXS, G_WIDE, G_WIDEM };
/* the 32-bit headers' generator names that matter here */
enum {
  DC_0 = 0, DC_F, DC_M32, DC_M64, DC_M80, DC_I16, DC_I32, DC_I64, DC_INT, DC_TRIG, DC_UNIT,
  DC_POS, DC_SCALE, DC_CW, DC_PS, DC_PD, DC_I, DC_SHC, DC_CVTS, DC_CVTD, DC_MX, DC_BCD, DC_PSDN, DC_PDDN, DC_PSR, DC_PDR,
  DC_Q /* 64-bit integers in the GPRs and memory */
};

/* RIP-relative forms address the buffer as [rip + mem_base_sym (+ k)]; the linker
 * defines mem_base_sym = MEM_BASE (-Wl,--defsym), so the displacement is a PC32 relocation */

#define F(name, kind, gen, dc, text)                                                     \
  __asm__(".pushsection .text\n.intel_syntax noprefix\n.p2align 4\n.globl f_" #name "\nf_" #name \
          ":\n" text "\n.globl f_" #name "_end\nf_" #name "_end:\nret\n.att_syntax\n"     \
          ".popsection\n");
#include FORMS_X87
#include FORMS_SSE
#include "fpu64_forms.h"
#undef F

#define F(name, kind, gen, dc, text) extern char f_##name[], f_##name##_end[];
#include FORMS_X87
#include FORMS_SSE
#include "fpu64_forms.h"
#undef F

extern char f_rex_forms_begin[];

struct form {
  const char *name, *text;
  int kind, gen, dc;
  char *begin, *end;
};
static const struct form forms[] = {
#define F(name, kind, gen, dc, text) {#name, text, kind, gen, dc, f_##name, f_##name##_end},
#include FORMS_X87
#include FORMS_SSE
#include "fpu64_forms.h"
#undef F
};
#define NFORMS (sizeof forms / sizeof forms[0])

/* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 rflags */
uint64_t g_in[17], g_out[17];
uint8_t g_fpu_in[108], g_fpu_out[108];
uint8_t g_xmm_in[260] __attribute__((aligned(16))), g_xmm_out[260] __attribute__((aligned(16)));
uint64_t g_kind, g_saved_rsp, g_saved[8];
uint32_t g_mx_default = 0x1f80;
void *g_stub;

#define XL(r, i) "movups xmm" #r ", [g_xmm_in+" #i "]\n"
#define XS(r, i) "movups [g_xmm_out+" #i "], xmm" #r "\n"
__asm__(".pushsection .text\n.intel_syntax noprefix\n.globl run_case\nrun_case:\n"
        "mov [g_saved], rbx\n mov [g_saved+8], rbp\n mov [g_saved+16], r12\n"
        "mov [g_saved+24], r13\n mov [g_saved+32], r14\n mov [g_saved+40], r15\n"
        "mov [g_saved_rsp], rsp\n"
        "test qword ptr [g_kind], 1\n jz 1f\n frstor [g_fpu_in]\n"
        "1: test qword ptr [g_kind], 2\n jz 2f\n"
        XL(0, 0) XL(1, 16) XL(2, 32) XL(3, 48) XL(4, 64) XL(5, 80) XL(6, 96) XL(7, 112)
        XL(8, 128) XL(9, 144) XL(10, 160) XL(11, 176) XL(12, 192) XL(13, 208) XL(14, 224)
        XL(15, 240) "ldmxcsr [g_xmm_in+256]\n"
        "2: push qword ptr [g_in+128]\n popfq\n"
        "mov rax, [g_in]\n mov rcx, [g_in+8]\n mov rdx, [g_in+16]\n mov rbx, [g_in+24]\n"
        "mov rbp, [g_in+40]\n mov rsi, [g_in+48]\n mov rdi, [g_in+56]\n"
        "mov r8, [g_in+64]\n mov r9, [g_in+72]\n mov r10, [g_in+80]\n mov r11, [g_in+88]\n"
        "mov r12, [g_in+96]\n mov r13, [g_in+104]\n mov r14, [g_in+112]\n mov r15, [g_in+120]\n"
        "call qword ptr [g_stub]\n"
        "pushfq\n pop qword ptr [g_out+128]\n"
        "mov [g_out], rax\n mov [g_out+8], rcx\n mov [g_out+16], rdx\n mov [g_out+24], rbx\n"
        "mov [g_out+40], rbp\n mov [g_out+48], rsi\n mov [g_out+56], rdi\n"
        "mov [g_out+64], r8\n mov [g_out+72], r9\n mov [g_out+80], r10\n mov [g_out+88], r11\n"
        "mov [g_out+96], r12\n mov [g_out+104], r13\n mov [g_out+112], r14\n mov [g_out+120], r15\n"
        "test qword ptr [g_kind], 1\n jz 3f\n fnsave [g_fpu_out]\n"
        "3: test qword ptr [g_kind], 2\n jz 4f\n"
        "stmxcsr [g_xmm_out+256]\n"
        XS(0, 0) XS(1, 16) XS(2, 32) XS(3, 48) XS(4, 64) XS(5, 80) XS(6, 96) XS(7, 112)
        XS(8, 128) XS(9, 144) XS(10, 160) XS(11, 176) XS(12, 192) XS(13, 208) XS(14, 224)
        XS(15, 240) "ldmxcsr [g_mx_default]\n"
        "4: mov rsp, [g_saved_rsp]\n"
        "mov rbx, [g_saved]\n mov rbp, [g_saved+8]\n mov r12, [g_saved+16]\n"
        "mov r13, [g_saved+24]\n mov r14, [g_saved+32]\n mov r15, [g_saved+40]\n"
        "cld\n ret\n.att_syntax\n.popsection\n");
void run_case(void);

/* ---- deterministic inputs */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static uint32_t rbelow(uint32_t n) { return rnd() % n; }

/* A register value: each byte an edge byte or random, sometimes a whole edge value. */
static uint32_t rval(void) {
  static const uint32_t edges[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
                                   0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 0x100};
  static const uint8_t eb[] = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x0f, 0x10};
  uint32_t k = rbelow(8);
  if (k == 0) return edges[rbelow(sizeof edges / 4)];
  if (k == 1) return rbelow(33);
  if (k == 2) return -rbelow(33);
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    uint32_t b = rbelow(3) == 0 ? eb[rbelow(8)] : (rnd() & 0xff);
    v |= b << (8 * i);
  }
  return v;
}

static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double bitsd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* A double for x87/SSE inputs: specials, small integers, random in a moderate range. */
static double fpval(int range) {
  uint32_t k = rbelow(20);
  switch (k) {
  case 0: return rbelow(2) ? 0.0 : -0.0;
  case 1: return rbelow(2) ? __builtin_inf() : -__builtin_inf();
  case 2: /* quiet NaN, random payload and sign */
    return bitsd(0x7ff8000000000000ull | ((uint64_t)rbelow(2) << 63) |
                 ((uint64_t)(rnd() & 0xfffff) << 20) | rnd());
  case 3: /* signalling NaN */
    return bitsd(0x7ff0000000000000ull | ((uint64_t)rbelow(2) << 63) | ((uint64_t)rbelow(0x7ffff) << 32) | 1 | rnd());
  case 4: case 5: case 6: return (double)((int)rbelow(41) - 20);
  case 7: return ((int)rbelow(81) - 40) * 0.5;
  default: {
    uint64_t m = ((uint64_t)(rnd() & 0xfffff) << 32) | rnd();
    int e = (int)rbelow(2 * range + 1) - range;
    return bitsd(((uint64_t)rbelow(2) << 63) | ((uint64_t)(1023 + e) << 52) | m);
  }
  }
}

/* double -> x87 80-bit (exact; NaN payloads kept, SNaNs stay signalling). */
static void d_to_f80(double d, uint8_t *out) {
  uint64_t u = dbits(d), m = u & 0xfffffffffffffull, mant;
  uint32_t sign = (uint32_t)(u >> 63), e = (uint32_t)(u >> 52) & 0x7ff, e80;
  if (e == 0x7ff) { e80 = 0x7fff; mant = (1ull << 63) | (m << 11); }
  else if (e == 0) { /* zero (inputs never hold denormals) */ e80 = 0; mant = 0; }
  else { e80 = e - 1023 + 16383; mant = (1ull << 63) | (m << 11); }
  memcpy(out, &mant, 8);
  uint16_t se = (uint16_t)(e80 | (sign << 15));
  memcpy(out + 8, &se, 2);
}

static int tag_of(double d) {
  uint64_t u = dbits(d);
  uint32_t e = (uint32_t)(u >> 52) & 0x7ff;
  if ((u << 1) == 0) return 1;
  if (e == 0x7ff || e == 0) return 2;
  return 0;
}

static double fp_for(int dc, int index) {
  switch (dc) {
  case DC_TRIG: {
    uint32_t k = rbelow(10);
    if (k == 0) return fpval(70);
    if (k < 3) return fpval(20);
    return ((double)rnd() / 4294967296.0 - 0.5) * 20.0;
  }
  case DC_UNIT: return index == 0 ? ((double)rnd() / 2147483648.0 - 1.0) : fpval(10);
  case DC_POS:
    if (index == 0) { double v = fpval(30); return v < 0 ? -v : v; }
    return fpval(10);
  case DC_SCALE:
    if (index == 1) return rbelow(4) == 0 ? fpval(6) : (double)((int)rbelow(81) - 40);
    return fpval(20);
  case DC_INT: {
    uint32_t k = rbelow(8);
    double lim = k < 2 ? 32768.0 : k < 4 ? 2147483648.0 : k < 6 ? 9223372036854775808.0 : 1000.0;
    if (rbelow(10) == 0) return fpval(20);
    double v = lim + ((int)rbelow(9) - 4) * 0.5;
    if (k >= 6) v = ((int)rbelow(4001) - 2000) * 0.25;
    return rbelow(2) ? -v : v;
  }
  default: return fpval(20);
  }
}

static uint32_t mem_in[MEM_SIZE_FXS / 4], mem_out[MEM_SIZE_FXS / 4];
static uint8_t *mem;

static void fill_mem_random(void) {
  for (int i = 0; i < MEM_SIZE / 4; i++) mem_in[i] = rval();
}

static void fill_mem_fp(int dc) {
  memset(mem_in, 0, sizeof mem_in);
  if (dc == DC_I16 || dc == DC_I32 || dc == DC_I)
    for (int i = 0; i < (dc == DC_I ? 12 : 4); i++) mem_in[i] = rval();
  uint8_t *b = (uint8_t *)mem_in;
  switch (dc) {
  case DC_M32: case DC_PS:
    for (int i = 0; i < 16; i++) {
      double d = fpval(20);
      uint32_t f = fbits((float)d);
      if (d != d) f = (uint32_t)(dbits(d) >> 32 & 0x80000000u) | 0x7f800000u | (rnd() & 0x7fffff) | 1;
      memcpy(b + 4 * i, &f, 4);
    }
    break;
  case DC_M64: case DC_PD:
    for (int i = 0; i < 8; i++) { double d = fpval(20); memcpy(b + 8 * i, &d, 8); }
    break;
  case DC_M80: d_to_f80(fpval(20), b); break;
  case DC_I16: case DC_I32: break;
  case DC_I64: {
    int64_t v = (int64_t)(((uint64_t)(rnd() & 0x1fffff) << 32) | rnd()) - (1ll << 52);
    if (rbelow(4) == 0) v = (int32_t)rval();
    memcpy(b, &v, 8);
    break;
  }
  case DC_CW: { uint16_t w = (uint16_t)(rnd() | 0x3f); memcpy(b, &w, 2); break; }
  case DC_BCD: { /* packed BCD, up to 15 of the 18 digits, sign byte */
    uint32_t digits = 1 + rbelow(15); /* at most 15: exact in a double */
    for (uint32_t i = 0; i < 9; i++) {
      uint32_t lo = 2 * i < digits ? rbelow(10) : 0, hi = 2 * i + 1 < digits ? rbelow(10) : 0;
      b[i] = (uint8_t)(lo | (hi << 4));
    }
    b[9] = rbelow(2) ? 0x80 : 0;
    break;
  }
  case DC_MX: { uint32_t w = 0x1f80 | (rnd() & 0x603f); memcpy(b, &w, 4); break; }
  default: break;
  }
}

static void make_x87_state(int dc) {
  memset(g_fpu_in, 0, sizeof g_fpu_in);
  uint32_t rc = rbelow(5) == 0 ? rbelow(4) : 0;
  uint32_t n = rbelow(5) == 0 ? rbelow(9) : 3;
  uint32_t top = (8 - n) & 7;
  uint16_t cw = (uint16_t)(0x027f | (rc << 10));
  if (rbelow(7) == 0) cw &= (uint16_t)~0x300; /* precision control 24 bits */
  uint16_t sw = (uint16_t)(top << 11);
  if (rbelow(4) == 0) sw |= rnd() & 0x4700;
  uint16_t tw = 0;
  double st[8];
  for (uint32_t i = 0; i < 8; i++) st[i] = i < n ? fp_for(dc, (int)i) : 0.0;
  if (rbelow(6) == 0) st[1] = st[0];
  else if (rbelow(6) == 0) st[1] = -st[0] * (1.0 + 1.0 / (1 << rbelow(30)));
  for (uint32_t i = 0; i < 8; i++) {
    uint32_t phys = (top + i) & 7;
    uint32_t tag = i < n ? (uint32_t)tag_of(st[i]) : 3;
    tw |= (uint16_t)(tag << (2 * phys));
    d_to_f80(st[i], g_fpu_in + 28 + 10 * i);
  }
  memcpy(g_fpu_in, &cw, 2);
  memcpy(g_fpu_in + 4, &sw, 2);
  memcpy(g_fpu_in + 8, &tw, 2);
}

static void make_sse_state(int dc) {
  uint8_t *b = g_xmm_in;
  for (int r = 0; r < 16; r++) {
    for (int i = 0; i < 4; i++) {
      if (r == 0 || r == 4 || r == 6) {
        uint32_t v = 0x11111111u * (uint32_t)r + (uint32_t)i;
        memcpy(b + 16 * r + 4 * i, &v, 4);
      } else if (dc == DC_PSR) { /* any encoding: every exponent, NaNs included */
        uint32_t f = rnd() ^ (rnd() << 16);
        memcpy(b + 16 * r + 4 * i, &f, 4);
      } else if (dc == DC_PDR) {
        if (i & 1) continue;
        uint64_t u = ((uint64_t)(rnd() ^ (rnd() << 16)) << 32) | (rnd() ^ (rnd() << 16));
        if (rbelow(3) == 0) u = (u & 0x800fffffffffffffull) | (uint64_t)(rbelow(2) ? 1 + rbelow(60) : 1980 + rbelow(66)) << 52;
        memcpy(b + 16 * r + 4 * i, &u, 8);
      } else if (dc == DC_PSDN || dc == DC_PDDN) {
        uint32_t k = rbelow(10), sign = rbelow(2);
        if (dc == DC_PSDN) {
          uint32_t e = k < 4 ? rbelow(13) : k < 7 ? 126 + rbelow(3) : k < 9 ? 150 + rbelow(11) : 0;
          uint32_t f = sign << 31 | e << 23 | (k == 9 ? 0 : rnd() & 0x7fffff);
          memcpy(b + 16 * r + 4 * i, &f, 4);
        } else {
          if (i & 1) continue;
          uint64_t e = k < 4 ? rbelow(41) : k < 7 ? 1022 + rbelow(3) : k < 9 ? 1100 + rbelow(51) : 0;
          uint64_t m = k == 9 ? 0 : ((uint64_t)(rnd() & 0xfffff) << 32) | rnd();
          uint64_t u = (uint64_t)sign << 63 | e << 52 | m;
          memcpy(b + 16 * r + 4 * i, &u, 8);
        }
      } else if (dc == DC_PS || dc == DC_CVTS) {
        double d = dc == DC_CVTS ? fp_for(DC_INT, 0) : fpval(20);
        uint32_t f = fbits((float)d);
        if (d != d) f = (uint32_t)(dbits(d) >> 32 & 0x80000000u) | 0x7f800000u | (rnd() & 0x7fffff) | 1;
        memcpy(b + 16 * r + 4 * i, &f, 4);
      } else if (dc == DC_PD || dc == DC_CVTD) {
        if (i & 1) continue;
        double d = dc == DC_CVTD ? fp_for(DC_INT, 0) : fpval(20);
        memcpy(b + 16 * r + 4 * i, &d, 8);
      } else {
        uint32_t v = rval();
        memcpy(b + 16 * r + 4 * i, &v, 4);
      }
    }
  }
  if (dc == DC_SHC) { /* xmm2 = shift count */
    uint32_t c = rbelow(8) == 0 ? rval() : rbelow(70), hi = rbelow(8) == 0 ? rval() : 0;
    memcpy(b + 32, &c, 4);
    memcpy(b + 36, &hi, 4);
  }
  uint32_t mx = 0x1f80 | (rbelow(5) == 0 ? rbelow(4) << 13 : 0);
  if (rbelow(5) == 0) mx |= rnd() & 0x3f;
  if (dc == DC_PSDN || dc == DC_PDDN) mx |= (rbelow(2) ? 0x8000 : 0) | (rbelow(2) ? 0x40 : 0);
  if (dc == DC_PSR || dc == DC_PDR) mx = 0x1f80 | rbelow(4) << 13 | (rbelow(4) == 0 ? 0x8040 : 0);
  memcpy(b + 256, &mx, 4);
}


static int has_mem(int gen) { return gen == G_X87M || gen == G_SSEM || gen == G_FXS || gen == G_WIDEM; }

/* A 64-bit GPR value: a harness value in the low half, the high half 0, all ones or random. */
static uint64_t rval64(void) {
  uint32_t k = rbelow(4);
  uint64_t hi = k == 0 ? 0 : k == 1 ? 0xffffffffu : rval();
  return (hi << 32) | rval();
}

/* A 64-bit integer for the REX.W conversions: small, near 2^31/2^53/2^63, or any. */
static uint64_t qval(void) {
  uint32_t k = rbelow(6);
  int64_t v;
  if (k == 0) v = (int32_t)rval();
  else if (k == 1) v = (int64_t)(((uint64_t)(rnd() & 0x3fffff) << 32) | rnd()) - (1ll << 53);
  else if (k == 2) v = (int64_t)(0x7fffffffffffffffull - rbelow(5000));
  else if (k == 3) v = (int64_t)(0x8000000000000000ull + rbelow(5000));
  else v = (int64_t)rval64();
  return (uint64_t)v;
}

static void make_case(const struct form *f) {
  for (int r = 0; r < 16; r++) g_in[r] = rval64();
  g_in[4] = 0;
  g_in[16] = 0x202 | (rnd() & 0x8d5);
  memset(mem_in, 0, sizeof mem_in);
  switch (f->gen) {
  case G_X87: case G_X87M:
    make_x87_state(f->dc);
    fill_mem_fp(f->dc);
    break;
  case G_FXS: {
    make_x87_state(DC_F);
    make_sse_state(rbelow(2) ? DC_PS : DC_PD);
    uint8_t *b = (uint8_t *)mem_in;
    for (int k = 0; k < MEM_SIZE_FXS / 4; k++) mem_in[k] = rval();
    uint16_t cw = (uint16_t)(0x027f | rbelow(4) << 10), sw = (uint16_t)(rnd() & 0x3f00);
    memcpy(b, &cw, 2);
    memcpy(b + 2, &sw, 2);
    b[4] = (uint8_t)rnd();
    b[5] = 0;
    uint32_t mx = 0x1f80 | (rnd() & 0x603f);
    memcpy(b + 24, &mx, 4);
    for (int i = 0; i < 8; i++) d_to_f80(fpval(20), b + 32 + 16 * i);
    break;
  }
  case G_WIDE: case G_WIDEM:
    make_sse_state(f->dc == DC_Q ? DC_I : f->dc);
    fill_mem_fp(f->dc == DC_Q ? DC_I : f->dc);
    if (f->dc == DC_Q) {
      for (int r = 0; r < 16; r++) if (r != 3 && r != 4) g_in[r] = qval();
      for (int i = 0; i < 4; i++) { uint64_t q = qval(); memcpy((uint8_t *)mem_in + 8 * i, &q, 8); }
    }
    break;
  default: /* G_SSE, G_SSEM */
    make_sse_state(f->dc);
    fill_mem_fp(f->dc);
    break;
  }
  if (has_mem(f->gen)) g_in[3] = MEM_BASE;
}

/* The 32-bit set covers the semantics in depth: here 24 cases per shared form (the 64-bit
 * plumbing), 96 per REX-only form (names starting x_, w_, r_, rip_, fxsave64...). */
static uint32_t cases_for(const struct form *f) {
  uint32_t scale = getenv("HARNESS_SCALE") ? (uint32_t)atoi(getenv("HARNESS_SCALE")) : 1;
  return (f->begin >= f_rex_forms_begin ? 96 : 24) * scale;
}

int main(int argc, char **argv) {
  if (getenv("HARNESS_SEED")) rng_state ^= strtoull(getenv("HARNESS_SEED"), 0, 0) * 0x9e3779b97f4a7c15ull;
  mem = mmap((void *)(uintptr_t)MEM_BASE, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mem != (uint8_t *)(uintptr_t)MEM_BASE) { perror("mmap MEM_BASE"); return 1; }
  FILE *meta = fopen(argc > 1 ? argv[1] : "fpu64_forms.json", "w");
  if (!meta) { perror("forms json"); return 1; }
  fprintf(meta, "[\n");
  uint32_t total = 0;
  for (uint32_t fi = 0; fi < NFORMS; fi++) {
    const struct form *f = &forms[fi];
    static const char *kinds[] = {"int", "x87", "sse", "fxs"};
    uint32_t n = cases_for(f);
    fprintf(meta, "  {\"id\": %u, \"name\": \"%s\", \"kind\": \"%s\", \"mem\": %s, \"cases\": %u, \"at\": %lu, \"asm\": \"",
            fi, f->name, kinds[f->kind], has_mem(f->gen) ? "true" : "false", n, (unsigned long)(uintptr_t)f->begin);
    for (const char *t = f->text; *t; t++) {
      if (*t == '\n') fputs(";", meta);
      else fputc(*t, meta);
    }
    fprintf(meta, "\", \"bytes\": \"");
    for (char *p = f->begin; p < f->end; p++) fprintf(meta, "%02x", (uint8_t)*p);
    fprintf(meta, "\"}%s\n", fi + 1 < NFORMS ? "," : "");
    g_stub = f->begin;
    g_kind = (uint64_t)f->kind;
    for (uint32_t i = 0; i < n; i++) {
      make_case(f);
      uint32_t msize = f->kind == K_FXS ? MEM_SIZE_FXS : MEM_SIZE;
      memcpy(mem, mem_in, msize);
      run_case();
      memcpy(mem_out, mem, msize);
      g_out[4] = 0;
      uint16_t id = (uint16_t)fi;
      fwrite(&id, 2, 1, stdout);
      for (int half = 0; half < 2; half++) {
        fwrite(half ? g_out : g_in, 8, 17, stdout);
        if (has_mem(f->gen)) fwrite(half ? mem_out : mem_in, 1, msize, stdout);
        if (f->kind & K_X87) fwrite(half ? g_fpu_out : g_fpu_in, 1, 108, stdout);
        if (f->kind & K_SSE) fwrite(half ? g_xmm_out : g_xmm_in, 1, 260, stdout);
      }
      total++;
    }
  }
  fprintf(meta, "]\n");
  fclose(meta);
  fprintf(stderr, "%u forms, %u cases\n", (unsigned)NFORMS, total);
  return 0;
}
