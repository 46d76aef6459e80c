/* Host oracle for tests/cpu/long/alu64_test.ts: runs each ALU instruction on the host CPU
 * and prints "op size a b cf result flags" (hex). With the argument "shift", runs the
 * group 2 shifts/rotates by CL instead (op = ModRM reg field, b = count) for
 * shift64_test.ts; with "muldiv", mul/imul/div/idiv (and imul r, r/m) for muldiv64_test.ts,
 * printing "de" where the instruction raises #DE. Regenerate with ./generate.sh. */
#include <stdint.h>
#include <stdio.h>

#define BIN(NAME, INS, R)                                                                    \
  static uint64_t NAME(uint64_t a, uint64_t b, uint64_t cf, uint64_t *f) {               \
    __asm__ volatile("bt $0,%[cf]\n\t" INS " %" R "[b],%" R "[a]\n\tpushfq\n\tpopq %[f]"    \
                     : [a] "+r"(a), [f] "=r"(*f) : [b] "r"(b), [cf] "r"(cf) : "cc");        \
    return a;                                                                              \
  }
#define UN(NAME, INS, R)                                                                     \
  static uint64_t NAME(uint64_t a, uint64_t b, uint64_t cf, uint64_t *f) {               \
    (void)b;                                                                               \
    __asm__ volatile("bt $0,%[cf]\n\t" INS " %" R "[a]\n\tpushfq\n\tpopq %[f]"              \
                     : [a] "+r"(a), [f] "=r"(*f) : [cf] "r"(cf) : "cc");                    \
    return a;                                                                              \
  }
#define SIZES(M, N, I)                                                                       \
  M(N##8, I "b", "b") M(N##16, I "w", "w") M(N##32, I "l", "k") M(N##64, I "q", "q")
SIZES(BIN, add, "add") SIZES(BIN, or, "or") SIZES(BIN, adc, "adc") SIZES(BIN, sbb, "sbb")
SIZES(BIN, and, "and") SIZES(BIN, sub, "sub") SIZES(BIN, xor, "xor") SIZES(BIN, cmp, "cmp")
SIZES(UN, inc, "inc") SIZES(UN, dec, "dec") SIZES(UN, not, "not") SIZES(UN, neg, "neg")

#define SH(NAME, INS, R)                                                                     \
  static uint64_t NAME(uint64_t a, uint64_t b, uint64_t cf, uint64_t *f) {               \
    __asm__ volatile("bt $0,%[cf]\n\t" INS " %%cl,%" R "[a]\n\tpushfq\n\tpopq %[f]"          \
                     : [a] "+r"(a), [f] "=r"(*f) : [b] "c"(b), [cf] "r"(cf) : "cc");        \
    return a;                                                                              \
  }
SIZES(SH, rol, "rol") SIZES(SH, ror, "ror") SIZES(SH, rcl, "rcl") SIZES(SH, rcr, "rcr")
SIZES(SH, shl, "shl") SIZES(SH, shr, "shr") SIZES(SH, sar, "sar")

typedef uint64_t (*fn)(uint64_t, uint64_t, uint64_t, uint64_t *);
#define ROW(N) {N##8, N##16, N##32, N##64}
static const fn ops[12][4] = {ROW(add), ROW(or),  ROW(adc), ROW(sbb), ROW(and), ROW(sub),
                              ROW(xor), ROW(cmp), ROW(inc), ROW(dec), ROW(not), ROW(neg)};

static const uint64_t vals[] = {0,
                                1,
                                0x7f,
                                0x80,
                                0xff,
                                0x7fff,
                                0x8000,
                                0xffff,
                                0x7fffffff,
                                0x80000000,
                                0xffffffff,
                                0x100000000,
                                0x7fffffffffffffff,
                                0x8000000000000000,
                                0xffffffffffffffff,
                                0x123456789abcdef0,
                                0xdeadbeefcafe0f0f};
#define NV (sizeof vals / sizeof vals[0])

static const fn shifts[8][4] = {ROW(rol), ROW(ror), ROW(rcl), ROW(rcr),
                                 ROW(shl), ROW(shr), ROW(shl), ROW(sar)};
static const uint64_t svals[] = {0, 1, 0x81, 0x8001, 0x80000001, 0xc000000000000001,
                                 0x123456789abcdef0, 0xfedcba9876543210};
static const uint64_t counts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255};
#define N(A) (sizeof A / sizeof A[0])

/* mul imul div idiv of rdx:rax (ax at 8 bits) by b, and imul r, r/m (op 4). */
#define MD(NAME, INS, R)                                                                     \
  static void NAME(uint64_t *a, uint64_t *d, uint64_t b, uint64_t *f) {                  \
    __asm__ volatile(INS " %" R "[b]\n\tpushfq\n\tpopq %[f]"                                \
                     : "+a"(*a), "+d"(*d), [f] "=r"(*f) : [b] "r"(b) : "cc");               \
  }
#define IM2(NAME, INS, R)                                                                    \
  static void NAME(uint64_t *a, uint64_t *d, uint64_t b, uint64_t *f) {                  \
    (void)d;                                                                               \
    __asm__ volatile(INS " %" R "[b],%" R "[a]\n\tpushfq\n\tpopq %[f]"                      \
                     : [a] "+r"(*a), [f] "=r"(*f) : [b] "r"(b) : "cc");                     \
  }
SIZES(MD, mul, "mul") SIZES(MD, imul1, "imul") SIZES(MD, div, "div") SIZES(MD, idiv, "idiv")
IM2(imul2_16, "imulw", "w") IM2(imul2_32, "imull", "k") IM2(imul2_64, "imulq", "q")
typedef void (*mdfn)(uint64_t *, uint64_t *, uint64_t, uint64_t *);
static const mdfn muldivs[5][4] = {ROW(mul), ROW(imul1), ROW(div), ROW(idiv), {0, imul2_16, imul2_32, imul2_64}};
static const uint64_t mvals[] = {0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
                                 0x80000000, 0xffffffff, 0x7fffffffffffffff, 0x8000000000000000,
                                 0xffffffffffffffff, 0x123456789abcdef0, 0xfffffffffffffffd};
static const uint64_t dvals[] = {0, 1, 0x8000000000000000, 0xffffffffffffffff, 0x123456789abcdef0};

static int64_t sext(uint64_t v, int s) { return s == 64 ? (int64_t)v : (int64_t)(v << (64 - s)) >> (64 - s); }

/* Whether div (op 2) or idiv (op 3) of d:a by b at s bits raises #DE. */
static int faults(int op, int s, uint64_t a, uint64_t d, uint64_t b) {
  uint64_t m = s == 64 ? ~0ull : (1ull << s) - 1;
  unsigned __int128 n = s == 8 ? (a & 0xffff) : ((unsigned __int128)(d & m) << s) | (a & m);
  if ((b & m) == 0) return 1;
  if (op == 2) return n / (b & m) > m;
  __int128 sn = s == 64 ? (__int128)n : (__int128)sext((uint64_t)n, 2 * s), sd = sext(b, s);
  if (s == 64 && sd == -1 && n == (unsigned __int128)1 << 127) return 1;
  __int128 q = sn / sd, lim = (__int128)1 << (s - 1);
  return q < -lim || q >= lim;
}

static int muldiv_main(void) {
  static const int sizes[4] = {8, 16, 32, 64};
  for (int op = 0; op < 5; op++)
    for (int s = op == 4 ? 1 : 0; s < 4; s++)
      for (unsigned i = 0; i < N(mvals); i++)
        for (unsigned j = 0; j < N(mvals); j++)
          for (unsigned k = 0; k < (op == 2 || op == 3 ? N(dvals) : 1); k++) {
            uint64_t a = mvals[i], d = dvals[k] ^ 0x5555, b = mvals[j], f = 0;
            printf("%d %d %llx %llx %llx ", op, sizes[s], (unsigned long long)a,
                   (unsigned long long)d, (unsigned long long)b);
            if (op >= 2 && op < 4 && faults(op, sizes[s], a, d, b)) {
              printf("de\n");
              continue;
            }
            muldivs[op][s](&a, &d, b, &f);
            printf("%llx %llx %llx\n", (unsigned long long)a, (unsigned long long)d,
                   (unsigned long long)(f & 0x801));
          }
  return 0;
}

static int shift_main(void) {
  static const int sizes[4] = {8, 16, 32, 64};
  for (int op = 0; op < 8; op++)
    for (int s = 0; s < 4; s++)
      for (unsigned i = 0; i < N(svals); i++)
        for (unsigned j = 0; j < N(counts); j++)
          for (uint64_t cf = 0; cf < 2; cf++) {
            uint64_t f, r = shifts[op][s](svals[i], counts[j], cf, &f);
            printf("%d %d %llx %llx %llu %llx %llx\n", op, sizes[s], (unsigned long long)svals[i],
                   (unsigned long long)counts[j], (unsigned long long)cf, (unsigned long long)r,
                   (unsigned long long)(f & 0x8d5));
          }
  return 0;
}

int main(int argc, char **argv) {
  static const int sizes[4] = {8, 16, 32, 64};
  if (argc > 1 && argv[1][0] == 's') return shift_main();
  if (argc > 1 && argv[1][0] == 'm') return muldiv_main();
  for (int op = 0; op < 12; op++)
    for (int s = 0; s < 4; s++)
      for (unsigned i = 0; i < NV; i++)
        for (unsigned j = 0; j < (op < 8 ? NV : 1); j++)
          for (uint64_t cf = 0; cf < 2; cf++) {
            uint64_t f, r = ops[op][s](vals[i], vals[j], cf, &f);
            printf("%d %d %llx %llx %llu %llx %llx\n", op, sizes[s], (unsigned long long)vals[i],
                   (unsigned long long)vals[j], (unsigned long long)cf, (unsigned long long)r,
                   (unsigned long long)(f & 0x8d5));
          }
  return 0;
}
