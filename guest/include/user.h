/* user.h: the current user process (kernel side). */
#ifndef PVX_USER_H
#define PVX_USER_H
#include "kernel.h"

#define USER_STACK_TOP 0x3FFFF000u
#define USER_STACK_PAGES 8
#define USER_MMAP_BASE 0x20000000u
#define USER_MMAP_END 0x3F000000u

struct proc {
  u32 pid;
  int running, pinned, status;
  u64 *l3, *l2, *l2k;
  u64 *tables[64];
  int ntables;
  void *pages[2048];
  int npages;
  ulong brk, brk_base, mmap_next;
};
extern struct proc proc;
extern volatile u32 stat_multicalls;
int user_map_page(ulong va, void **out);
void user_exit(int status) __attribute__((noreturn));
#endif
