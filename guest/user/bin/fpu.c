/*
 * fpu: lazy FPU across processes. Keeps values on the x87 stack, runs `fpuchild` (which
 * reinitialises the FPU), then checks its own values survived: exit 0 when they did.
 */
#include "ulib.h"

int main(int argc, char **argv) {
  double in = 2.5, out = 0;
  __asm__ volatile("fldl %0" : : "m"(in));
  __asm__ volatile("fld1");
  long r = syscall3(PVX_run, (long)"fpuchild", 0, 0);
  __asm__ volatile("faddp\n\tfstpl %0" : "=m"(out));
  if (r != 7) return 2;
  return out == 3.5 ? 0 : 1;
}
