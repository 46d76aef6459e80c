/* Host oracle for tests/cpu/long/alu64_test.ts: runs each ALU instruction on the host CPU
 * and prints "op size a b cf result flags" (hex). With the argument "shift", runs the
 * group 2 shifts/rotates by CL instead (op = ModRM reg field, b = count) for
 * shift64_test.ts. Regenerate with ./generate.sh. */
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
