/*
 * balloon.c: memory reservation. balloon_out unmaps pages from the linear map and gives
 * them back (XENMEM_decrease_reservation); balloon_in repopulates the same pfns
 * (XENMEM_populate_physmap), updates the p2m and M2P (MMU_MACHPHYS_UPDATE) and maps
 * them again.
 */
#include "kernel.h"

#define INVALID_MFN (~0ul)
ulong balloon_pages;

int balloon_out(ulong n, ulong *pfns) {
  static ulong frames[64];
  if (n > ARRAY_SIZE(frames)) return -1;
  for (ulong i = 0; i < n; i++) {
    void *p = alloc_page();
    if (!p) return -1;
    pfns[i] = __pa(p) >> PAGE_SHIFT;
    frames[i] = translated ? pfns[i] : pfn_to_mfn(pfns[i]);
    if (!translated && map_frame_at(p, 0, 0) != 0) return -2;
  }
  struct xen_memory_reservation r = {frames, n, 0, 0, DOMID_SELF};
  long rc = HYPERVISOR_memory_op(XENMEM_decrease_reservation, &r);
  if (rc != (long)n) return -3;
  if (!translated)
    for (ulong i = 0; i < n; i++) p2m[pfns[i]] = INVALID_MFN;
  balloon_pages += n;
  return 0;
}

int balloon_in(ulong n, ulong *pfns) {
  static ulong frames[64];
  static struct mmu_update m2p[64];
  if (n > ARRAY_SIZE(frames)) return -1;
  for (ulong i = 0; i < n; i++) frames[i] = pfns[i];
  struct xen_memory_reservation r = {frames, n, 0, 0, DOMID_SELF};
  long rc = HYPERVISOR_memory_op(XENMEM_populate_physmap, &r);
  if (rc != (long)n) return -3;
  if (!translated) {
    for (ulong i = 0; i < n; i++) {
      p2m[pfns[i]] = frames[i];
      m2p[i].ptr = ((u64)frames[i] << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
      m2p[i].val = pfns[i];
    }
    if (HYPERVISOR_mmu_update(m2p, n, NULL, DOMID_SELF) < 0) return -4;
    for (ulong i = 0; i < n; i++)
      if (map_frame_at(__va(pfns[i] << PAGE_SHIFT), frames[i], PTE_KERNEL) != 0) return -5;
  }
  for (ulong i = 0; i < n; i++) free_page(__va(pfns[i] << PAGE_SHIFT));
  balloon_pages -= n;
  return 0;
}
