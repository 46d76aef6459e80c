/*
 * Host-CPU oracle for pvx's differential tests (build: see generate.sh; gcc -m32 -no-pie).
 *
 * Every instruction form of forms_*.h is assembled into its own stub. For each case the
 * runner loads the general registers, EFLAGS, a 64-byte memory buffer at MEM_BASE and,
 * for x87 forms, an fnsave image (frstor) or, for SSE forms, xmm0-7 and MXCSR; calls the
 * stub; and records the state after. Inputs come from a fixed-seed xorshift generator so
 * the vectors are reproducible on the same CPU.
 *
 * Output: forms.json (one object per form, on stdout's side file) and a binary record
 * stream on stdout; the layout is described in README.md beside this file.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_BASE 0x00200000u
#define MEM_SIZE 64
#define MEM_SIZE_FXS 512 /* fxsave/fxrstor forms */

enum { K_INT = 0, K_X87 = 1, K_SSE = 2, K_FXS = 3 }; /* bit 0: x87 state, bit 1: SSE state */
enum {
  G_ANY, G_SHIFT, G_SHIFTM, G_MEM, G_BTMEM, G_BITSCAN, G_STR, G_BCD, G_POPF, G_CMPXCHG,
  G_CMPXCHGM, G_DIV8, G_DIV16, G_DIV32, G_IDIV8, G_IDIV16, G_IDIV32, G_X87, G_X87M, G_SSE,
  G_SSEM, G_XLAT, G_FXS
};
enum {
  DC_0 = 0, DC_F, DC_M32, DC_M64, DC_M80, DC_I16, DC_I32, DC_I64, DC_INT, DC_TRIG, DC_UNIT,
  DC_POS, DC_SCALE, DC_CW, DC_PS, DC_PD, DC_I, DC_SHC, DC_CVTS, DC_CVTD, DC_MX, DC_BCD, DC_PSDN, DC_PDDN, DC_PSR, DC_PDR
};

/* ---- the stubs: one function per form, [f_name, f_name_end) holds the bytes under test */
#define F(name, kind, gen, dc, text)                                                     \
  __asm__(".pushsection .text\n.intel_syntax noprefix\n.globl f_" #name "\nf_" #name   \
          ":\n" text "\n.globl f_" #name "_end\nf_" #name "_end:\nret\n.att_syntax\n"     \
          ".popsection\n");
#include "forms_int.h"
#include "forms_x87.h"
#include "forms_sse.h"
#undef F

#define F(name, kind, gen, dc, text) extern char f_##name[], f_##name##_end[];
#include "forms_int.h"
#include "forms_x87.h"
#include "forms_sse.h"
#undef F

struct form {
  const char *name, *text;
  int kind, gen, dc;
  char *begin, *end;
};
static const struct form forms[] = {
#define F(name, kind, gen, dc, text) {#name, text, kind, gen, dc, f_##name, f_##name##_end},
#include "forms_int.h"
#include "forms_x87.h"
#include "forms_sse.h"
#undef F
};
#define NFORMS (sizeof forms / sizeof forms[0])

/* ---- the state the runner loads and stores (absolute addresses: non-PIE build) */
uint32_t g_in[9], g_out[9]; /* eax ecx edx ebx esp ebp esi edi eflags */
uint8_t g_fpu_in[108], g_fpu_out[108];
uint8_t g_xmm_in[132] __attribute__((aligned(16))), g_xmm_out[132] __attribute__((aligned(16)));
uint32_t g_kind, g_saved_esp, g_mx_default = 0x1f80;
void *g_stub;

__asm__(".pushsection .text\n.intel_syntax noprefix\n.globl run_case\nrun_case:\n"
        "pushad\n mov [g_saved_esp], esp\n"
        "test dword ptr [g_kind], 1\n jz 1f\n frstor [g_fpu_in]\n"
        "1: test dword ptr [g_kind], 2\n jz 2f\n"
        "movups xmm0, [g_xmm_in]\n movups xmm1, [g_xmm_in+16]\n movups xmm2, [g_xmm_in+32]\n"
        "movups xmm3, [g_xmm_in+48]\n movups xmm4, [g_xmm_in+64]\n movups xmm5, [g_xmm_in+80]\n"
        "movups xmm6, [g_xmm_in+96]\n movups xmm7, [g_xmm_in+112]\n ldmxcsr [g_xmm_in+128]\n"
        "2: push dword ptr [g_in+32]\n popfd\n"
        "mov eax, [g_in]\n mov ecx, [g_in+4]\n mov edx, [g_in+8]\n mov ebx, [g_in+12]\n"
        "mov ebp, [g_in+20]\n mov esi, [g_in+24]\n mov edi, [g_in+28]\n"
        "call dword ptr [g_stub]\n"
        "pushfd\n pop dword ptr [g_out+32]\n"
        "mov [g_out], eax\n mov [g_out+4], ecx\n mov [g_out+8], edx\n mov [g_out+12], ebx\n"
        "mov [g_out+20], ebp\n mov [g_out+24], esi\n mov [g_out+28], edi\n"
        "test dword ptr [g_kind], 1\n jz 3f\n fnsave [g_fpu_out]\n"
        "3: test dword ptr [g_kind], 2\n jz 4f\n"
        "stmxcsr [g_xmm_out+128]\n"
        "movups [g_xmm_out], xmm0\n movups [g_xmm_out+16], xmm1\n movups [g_xmm_out+32], xmm2\n"
        "movups [g_xmm_out+48], xmm3\n movups [g_xmm_out+64], xmm4\n movups [g_xmm_out+80], xmm5\n"
        "movups [g_xmm_out+96], xmm6\n movups [g_xmm_out+112], xmm7\n ldmxcsr [g_mx_default]\n"
        "4: mov esp, [g_saved_esp]\n popad\n cld\n ret\n.att_syntax\n.popsection\n");
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
  for (int r = 0; r < 8; r++) {
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
  memcpy(b + 128, &mx, 4);
}

static int has_mem(int gen) {
  return gen == G_SHIFTM || gen == G_MEM || gen == G_BTMEM || gen == G_STR || gen == G_CMPXCHGM ||
         gen == G_X87M || gen == G_SSEM || gen == G_XLAT || gen == G_FXS;
}

/* Picks a dividend/divisor pair with an in-range quotient (no #DE). */
static void make_div(int bits, int sgn) {
  for (;;) {
    uint32_t a = rval(), d = rval(), s = rval();
    if (bits == 8) {
      int64_t dividend = sgn ? (int16_t)(a & 0xffff) : (a & 0xffff);
      int64_t div = sgn ? (int8_t)s : (uint8_t)s;
      if (div == 0) continue;
      if (!sgn && rbelow(2)) { a = (a & ~0xff00u) | ((((a >> 8) & 0xff) % div) << 8); dividend = a & 0xffff; }
      int64_t q = dividend / div;
      if (sgn ? (q < -128 || q > 127) : (q > 255)) continue;
      g_in[0] = a; g_in[3] = s; return;
    }
    if (bits == 16) {
      uint32_t dd = (d & 0xffff);
      if (rbelow(2)) dd = sgn ? ((a & 0x8000) ? 0xffff : 0) : dd % ((s & 0xffff) ? (s & 0xffff) : 1);
      int64_t dividend = sgn ? (int32_t)((dd << 16) | (a & 0xffff)) : (int64_t)((dd << 16) | (a & 0xffff));
      int64_t div = sgn ? (int16_t)s : (uint16_t)s;
      if (div == 0) continue;
      int64_t q = dividend / div;
      if (sgn ? (q < -32768 || q > 32767) : (q > 65535)) continue;
      g_in[0] = a; g_in[2] = (d & 0xffff0000u) | dd; g_in[3] = s; return;
    }
    if (rbelow(2)) d = sgn ? ((a & 0x80000000u) ? 0xffffffffu : 0) : (s ? d % s : d);
    int64_t div = sgn ? (int32_t)s : (int64_t)s;
    if (div == 0) continue;
    if (sgn) {
      int64_t dividend = (int64_t)(((uint64_t)d << 32) | a);
      if (div == -1 && dividend == INT64_MIN) continue;
      int64_t q = dividend / div;
      if (q < INT32_MIN || q > INT32_MAX) continue;
    } else {
      uint64_t q = (((uint64_t)d << 32) | a) / (uint64_t)s;
      if (q > 0xffffffffull) continue;
    }
    g_in[0] = a; g_in[2] = d; g_in[3] = s; return;
  }
}

static void make_case(const struct form *f, uint32_t i) {
  for (int r = 0; r < 8; r++) g_in[r] = rval();
  g_in[4] = 0;
  g_in[8] = 0x202 | (rnd() & 0x8d5);
  fill_mem_random();
  switch (f->gen) {
  case G_SHIFTM: g_in[3] = MEM_BASE; memset(mem_in + 2, 0, MEM_SIZE - 8); /* fallthrough */
  case G_SHIFT: g_in[1] = i < 32 * 16 ? (g_in[1] & ~0xffu) | (i & 31) : g_in[1]; break;
  case G_MEM: g_in[3] = MEM_BASE; memset(mem_in + 6, 0, MEM_SIZE - 24); break;
  case G_BTMEM: g_in[3] = MEM_BASE; g_in[1] = rbelow(512); break;
  case G_XLAT: g_in[3] = MEM_BASE; g_in[0] = (g_in[0] & ~0xffu) | rbelow(64); break;
  case G_BITSCAN: if (rbelow(6) == 0) g_in[3] = 0; else if (rbelow(3) == 0) g_in[3] = 1u << rbelow(32); break;
  case G_STR: {
    uint32_t df = rbelow(2), alpha[3] = {0, g_in[0], 0xffffffffu};
    g_in[8] = (g_in[8] & ~0x400u) | (df << 10);
    g_in[1] = rbelow(9);
    g_in[6] = MEM_BASE + (df ? 28 : 0) + rbelow(4);
    g_in[7] = MEM_BASE + (df ? 56 : 32) + rbelow(4);
    for (int k = 0; k < MEM_SIZE / 4; k++)
      if (rbelow(3)) mem_in[k] = alpha[rbelow(3)];
    break;
  }
  case G_BCD:
    g_in[0] = (g_in[0] & ~0xffu) | (i & 0xff);
    g_in[8] = (g_in[8] & ~0x11u) | ((i >> 8) & 1 ? 0x10 : 0) | ((i >> 9) & 1);
    break;
  case G_POPF: g_in[0] = rnd() & (0x8d5 | 0x400 | 0x200000 | 0x202a | 0x3000 | 0x8000); break;
  case G_CMPXCHG: if (rbelow(2)) g_in[0] = g_in[1]; break;
  case G_CMPXCHGM:
    g_in[3] = MEM_BASE;
    if (rbelow(2)) { mem_in[1] = g_in[0]; mem_in[2] = g_in[0]; mem_in[3] = g_in[2]; }
    break;
  case G_DIV8: make_div(8, 0); break;
  case G_DIV16: make_div(16, 0); break;
  case G_DIV32: make_div(32, 0); break;
  case G_IDIV8: make_div(8, 1); break;
  case G_IDIV16: make_div(16, 1); break;
  case G_IDIV32: make_div(32, 1); break;
  case G_X87: case G_X87M:
    for (int r = 2; r < 8; r++) g_in[r] = r == 4 ? 0 : 0x01010101u * (uint32_t)r;
    memset(mem_in, 0, sizeof mem_in);
    make_x87_state(f->dc);
    g_in[3] = MEM_BASE;
    fill_mem_fp(f->dc);
    break;
  case G_FXS: { /* x87 + SSE state; the memory holds a valid fxsave image for fxrstor */
    for (int r = 2; r < 8; r++) g_in[r] = r == 4 ? 0 : 0x01010101u * (uint32_t)r;
    g_in[3] = MEM_BASE;
    make_x87_state(DC_F);
    make_sse_state(rbelow(2) ? DC_PS : DC_PD);
    uint8_t *b = (uint8_t *)mem_in;
    for (int k = 0; k < MEM_SIZE_FXS / 4; k++) mem_in[k] = rval();
    uint16_t cw = (uint16_t)(0x027f | rbelow(4) << 10), sw = (uint16_t)(rnd() & 0x3f00);
    memcpy(b, &cw, 2);
    memcpy(b + 2, &sw, 2);
    b[4] = (uint8_t)rnd(); /* abridged tags */
    b[5] = 0;
    uint32_t mx = 0x1f80 | (rnd() & 0x603f);
    memcpy(b + 24, &mx, 4);
    for (int i = 0; i < 8; i++) d_to_f80(fpval(20), b + 32 + 16 * i);
    break;
  }
  case G_SSE: case G_SSEM:
    for (int r = 2; r < 8; r++) g_in[r] = r == 4 ? 0 : 0x01010101u * (uint32_t)r;
    memset(mem_in, 0, sizeof mem_in);
    make_sse_state(f->dc);
    g_in[3] = MEM_BASE;
    fill_mem_fp(f->dc);
    break;
  default: break;
  }
}

static uint32_t cases_for(const struct form *f) {
  uint32_t scale = getenv("HARNESS_SCALE") ? (uint32_t)atoi(getenv("HARNESS_SCALE")) : 1;
  switch (f->gen) {
  case G_SHIFT: case G_SHIFTM: return 32 * 20 * scale;
  case G_BCD: return 1024 * 2 * scale;
  case G_X87: case G_X87M: return 240 * scale;
  case G_SSE: case G_SSEM: return 160 * scale;
  default: return 200 * scale;
  }
}

int main(int argc, char **argv) {
  if (getenv("HARNESS_SEED")) rng_state ^= strtoull(getenv("HARNESS_SEED"), 0, 0) * 0x9e3779b97f4a7c15ull;
  mem = mmap((void *)MEM_BASE, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mem != (uint8_t *)MEM_BASE) { perror("mmap MEM_BASE"); return 1; }
  FILE *meta = fopen(argc > 1 ? argv[1] : "forms.json", "w");
  if (!meta) { perror("forms.json"); return 1; }
  fprintf(meta, "[\n");
  uint32_t total = 0;
  for (uint32_t fi = 0; fi < NFORMS; fi++) {
    const struct form *f = &forms[fi];
    static const char *kinds[] = {"int", "x87", "sse", "fxs"};
    uint32_t n = cases_for(f);
    fprintf(meta, "  {\"id\": %u, \"name\": \"%s\", \"kind\": \"%s\", \"mem\": %s, \"cases\": %u, \"asm\": \"%s\", \"bytes\": \"",
            fi, f->name, kinds[f->kind], has_mem(f->gen) ? "true" : "false", n, f->text);
    for (char *p = f->begin; p < f->end; p++) fprintf(meta, "%02x", (uint8_t)*p);
    fprintf(meta, "\"}%s\n", fi + 1 < NFORMS ? "," : "");
    g_stub = f->begin;
    g_kind = (uint32_t)f->kind;
    for (uint32_t i = 0; i < n; i++) {
      make_case(f, i);
      uint32_t msize = f->kind == K_FXS ? MEM_SIZE_FXS : MEM_SIZE;
      memcpy(mem, mem_in, msize);
      run_case();
      memcpy(mem_out, mem, msize);
      g_out[4] = 0;
      uint16_t id = (uint16_t)fi;
      fwrite(&id, 2, 1, stdout);
      fwrite(g_in, 4, 9, stdout);
      if (has_mem(f->gen)) fwrite(mem_in, 1, msize, stdout);
      if (f->kind & K_X87) fwrite(g_fpu_in, 1, 108, stdout);
      if (f->kind & K_SSE) fwrite(g_xmm_in, 1, 132, stdout);
      fwrite(g_out, 4, 9, stdout);
      if (has_mem(f->gen)) fwrite(mem_out, 1, msize, stdout);
      if (f->kind & K_X87) fwrite(g_fpu_out, 1, 108, stdout);
      if (f->kind & K_SSE) fwrite(g_xmm_out, 1, 132, stdout);
      total++;
    }
  }
  fprintf(meta, "]\n");
  fclose(meta);
  fprintf(stderr, "%u forms, %u cases\n", (unsigned)NFORMS, total);
  return 0;
}
