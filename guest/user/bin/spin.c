/* spin: a user-mode compute loop for the benchmark; prints a checksum. */
#include "ulib.h"

int main(int argc, char **argv) {
  unsigned x = 1;
  for (unsigned i = 0; i < 20000000; i++) x = x * 1103515245u + 12345u;
  printf("spin: %x\n", x);
  return 0;
}
