/* segv: touches an unmapped address; the kernel must kill it (status 139), not die. */
#include "ulib.h"

volatile int *volatile target = (volatile int *)0x10;

int main(int argc, char **argv) {
  *target = 1;
  return 0;
}
