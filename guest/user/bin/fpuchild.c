/* fpuchild: clobbers the x87 state (fninit, own values) and exits 7. */
#include "ulib.h"

int main(int argc, char **argv) {
  double v = 100.0, w = 0;
  __asm__ volatile("fninit\n\tfldl %1\n\tfld %%st(0)\n\tfaddp\n\tfstpl %0" : "=m"(w) : "m"(v));
  return w == 200.0 ? 7 : 3;
}
