/* hello: the user-mode selftest program; exits 42 when every system call behaves. */
#include "ulib.h"

static int fails;
static void check(int ok, const char *what) {
  if (!ok) {
    printf("hello: %s failed\n", what);
    fails++;
  }
}

int main(int argc, char **argv) {
  check(argc == 1 && !strcmp(argv[0], "hello"), "argv");
  check(write(1, "hello from user mode\n", 21) == 21, "write");
  check(getpid() > 0, "getpid");
  struct utsname u;
  check(uname(&u) == 0 && !strcmp(u.sysname, "pvx") && !strcmp(u.machine, UTS_MACHINE), "uname");
  char *heap = sbrk(8192);
  check(heap != (void *)-1, "brk");
  if (heap != (void *)-1) {
    heap[0] = 1, heap[8191] = 2;
    check(heap[0] + heap[8191] == 3, "brk memory");
  }
  unsigned *m = mmap_anon(3 * 4096);
  check((long)m > 0 && m[0] == 0 && m[3 * 1024 - 1] == 0, "mmap");
  if ((long)m > 0) {
    m[1000] = 77;
    check(m[1000] == 77, "mmap memory");
  }
  check(time(NULL) > 0, "time");
  check(nanosleep_ms(2) == 0, "nanosleep");
  check(open("/no/such/file", 0) < 0, "open of a missing file");
  int fd = open("motd", 0);
  char buf[16];
  check(fd >= 3 && read(fd, buf, 3) == 3 && close(fd) == 0, "open/read/close");
  check(syscall3(9999, 0, 0, 0) == -38, "ENOSYS");
  check(write(1, (void *)KERNEL_BASE, 4) == -14, "EFAULT on a kernel address");
  check(write(1, (void *)0x1000, 4) == -14, "EFAULT on an unmapped user address");
  check(read(0, (void *)0x2000, 0) == 0, "read of 0 bytes");
  check(uname((struct utsname *)0x3000) == -14, "EFAULT on uname to an unmapped address");
  return fails ? 1 : 42;
}
