/*
 * fuzz: random system calls with random arguments (pointers into a scratch area,
 * unmapped user memory, the kernel, NULL) from a fixed seed. The kernel must answer each
 * with a result, never die; exit 0 after the last call.
 */
#include "ulib.h"

static u32 seed = 12345;
static u32 rnd(void) {
  seed = seed * 1103515245u + 12345u;
  return seed >> 8 ^ seed << 13;
}

#ifdef __x86_64__
/* the same calls by their x86_64 numbers (the kernel has no old mmap / set_thread_area) */
#define NR_READ 0
#define NR_WRITE 1
#define NR_WRITEV 20
static const long calls[] = {0, 1, 2, 3, 201, 39, 12, 16, 110, 96, 89, 9, 11, 99, 63, 10,
                             20, 97, 102, 158, 218, 228, 257, 273, 318, 4096, 4097,
                             4100, 7, 999, -1, 0x7fffffff};
#else
#define NR_READ 3
#define NR_WRITE 4
#define NR_WRITEV 146
static const long calls[] = {3, 4, 5, 6, 13, 20, 45, 54, 64, 78, 85, 90, 91, 116, 122, 125,
                             146, 191, 192, 199, 243, 258, 265, 295, 311, 355, 4096, 4097,
                             4100, 7, 999, -1, 0x7fffffff};
#endif

int main(int argc, char **argv) {
  char *scratch = mmap_anon(4 * 4096);
  if ((long)scratch < 0) return 2;
  long n = 3000;
  for (long i = 0; i < n; i++) {
    long args[6];
    for (int k = 0; k < 6; k++) {
      switch (rnd() % 6) {
      case 0: args[k] = (long)(scratch + rnd() % (4 * 4096 - 64)); break; /* valid */
      case 1: args[k] = 0; break;
      case 2: args[k] = 0x1000 + (rnd() % 16) * 4096; break;              /* unmapped */
      case 3: args[k] = (long)(KERNEL_BASE + rnd() % 0x100000); break;     /* kernel */
      case 4: args[k] = rnd() % 64; break;                                /* small */
      default: args[k] = (long)rnd(); break;
      }
    }
    long nr = calls[rnd() % (sizeof(calls) / sizeof(calls[0]))];
    if (nr == NR_READ && args[0] == 0) args[0] = 9; /* no blocking read of the console */
    if (nr == NR_WRITE && (args[0] == 1 || args[0] == 2)) args[2] &= 63;
    if (nr == NR_WRITEV && (args[0] == 1 || args[0] == 2)) args[0] = 5;
    if (nr == 4097) args[0] = (long)(rnd() % 3) - 1; /* balloon -1, 0, 1 */
    syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  }
  syscall3(4097, -64, 0, 0); /* give back what the balloon took */
  printf("fuzz: %ld calls survived\n", n);
  return 0;
}
