/*
 * balloon.c: memory reservation. balloon_out unmaps pages from the linear map and gives
 * them back (XENMEM_decrease_reservation); balloon_in repopulates the same pfns
 * (XENMEM_populate_physmap), updates the p2m, then in one multicall the M2P
 * (MMU_MACHPHYS_UPDATE) and the mappings.
 */
#include "kernel.h"

#define INVALID_MFN (~0ul)
ulong balloon_pages;

/* undoes balloon_out's first `n` pages after a failure (mapped again, freed) */
static void balloon_undo(ulong n, ulong *pfns) {
  for (ulong i = 0; i < n; i++) {
    void *p = __va(pfns[i] << PAGE_SHIFT);
    if (!translated) map_frame_at(p, pfn_to_mfn(pfns[i]), PTE_KERNEL);
    free_page(p);
  }
}

int balloon_out(ulong n, ulong *pfns) {
  static ulong frames[64];
  if (n > ARRAY_SIZE(frames)) return -1;
  for (ulong i = 0; i < n; i++) {
    void *p = alloc_page();
    if (!p) return balloon_undo(i, pfns), -1;
    pfns[i] = __pa(p) >> PAGE_SHIFT;
    frames[i] = translated ? pfns[i] : pfn_to_mfn(pfns[i]);
    if (!translated && map_frame_at(p, 0, 0) != 0) return balloon_undo(i + 1, pfns), -2;
  }
  struct xen_memory_reservation r = {frames, n, 0, 0, DOMID_SELF};
  long rc = HYPERVISOR_memory_op(XENMEM_decrease_reservation, &r);
  /* none given back (an error, or 0 done): undo; a partial success keeps its pages out of
     use, as their frames are gone */
  if (rc <= 0) return balloon_undo(n, pfns), -3;
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
    /* one multicall: the M2P updates, then every page mapped again */
    static struct multicall_entry mc[1 + 64];
    mc[0] = (struct multicall_entry){__HYPERVISOR_mmu_update, 0, {(ulong)m2p, n, 0, DOMID_SELF}};
    for (ulong i = 0; i < n; i++) {
      u64 pte = ((u64)frames[i] << PAGE_SHIFT) | PTE_KERNEL;
      mc[1 + i] = (struct multicall_entry){
          __HYPERVISOR_update_va_mapping, 0,
          MC_UPDATE_VA_MAPPING(__va(pfns[i] << PAGE_SHIFT), pte, UVMF_INVLPG)};
    }
    if (HYPERVISOR_multicall(mc, 1 + n) != 0) return -4;
    for (ulong i = 0; i <= n; i++)
      if ((long)mc[i].result < 0) return -5;
  }
  for (ulong i = 0; i < n; i++) free_page(__va(pfns[i] << PAGE_SHIFT));
  balloon_pages -= n;
  return 0;
}
