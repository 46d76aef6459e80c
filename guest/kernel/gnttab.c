/*
 * gnttab.c: grant tables (v1). GNTTABOP_setup_table gives the frame(s) of the shared
 * grant table, mapped into a kernel page; entries 0-7 are reserved for the toolstack.
 */
#include "kernel.h"

#define GNTTAB_RESERVED 8
struct grant_entry_v1 *gnttab;
u32 gnttab_nr_entries;
volatile u32 stat_grants;
static __attribute__((aligned(4096))) char gnttab_page[4096];
static u8 ref_used[512];

int gnttab_init(void) {
  ulong frame = 0;
  struct gnttab_setup_table st = {DOMID_SELF, 1, 0, &frame};
  if (translated) {
    struct xen_add_to_physmap a = {DOMID_SELF, 0, XENMAPSPACE_grant_table, 0,
                                   __pa(gnttab_page) >> PAGE_SHIFT};
    if (HYPERVISOR_memory_op(XENMEM_add_to_physmap, &a) != 0) return -1;
  } else {
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
    if (rc != 0 || st.status != 0) {
      printk("gnttab: setup_table rc %ld status %d\n", rc, st.status);
      return -1;
    }
    if (map_frame_at(gnttab_page, frame, PTE_KERNEL) != 0) return -1;
  }
  gnttab = (struct grant_entry_v1 *)gnttab_page;
  gnttab_nr_entries = PAGE_SIZE / sizeof(struct grant_entry_v1);
  return 0;
}

int gnttab_grant(u16 domid, ulong frame, int ro) {
  if (!gnttab) return -1;
  for (u32 ref = GNTTAB_RESERVED; ref < gnttab_nr_entries; ref++) {
    if (ref_used[ref]) continue;
    ref_used[ref] = 1;
    gnttab[ref].frame = (u32)frame;
    gnttab[ref].domid = domid;
    mb();
    gnttab[ref].flags = GTF_permit_access | (ro ? GTF_readonly : 0);
    stat_grants++;
    return (int)ref;
  }
  return -1;
}

/* revokes a grant; returns -1 (and keeps the reference) while the peer still maps it */
int gnttab_end(int ref) {
  if (ref < GNTTAB_RESERVED || (u32)ref >= gnttab_nr_entries) return -1;
  volatile u16 *flags = &gnttab[ref].flags;
  for (;;) {
    u16 f = *flags;
    if (f & (GTF_reading | GTF_writing)) return -1;
    if (__sync_bool_compare_and_swap(flags, f, 0)) break;
  }
  mb();
  ref_used[ref] = 0;
  return 0;
}
