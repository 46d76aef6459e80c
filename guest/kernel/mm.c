/*
 * mm.c: physical memory. The p2m from start_info (direct paging) or identity
 * (translated), a bitmap page allocator, and the kernel's linear map of every pfn at
 * VIRT_BASE + pfn * 4 KiB: the boot mapping is extended with new L1 tables, each filled,
 * made read-only, pinned (MMUEXT_PIN_L1_TABLE) and installed with one batched mmu_update.
 * The tables are PAE (3 levels, the L3 at pt_base) or x86_64 (4 levels, the L4 at
 * pt_base); both have 512 64-bit entries per table, so one walk serves both.
 */
#include "kernel.h"

#define MAX_PFNS (1u << 18) /* 1 GiB */
static volatile ulong *m2p_table = (volatile ulong *)MACH2PHYS_VIRT_START;
static ulong m2p_max_mfn = ~0ul;
#define M2P m2p_table
#ifdef __x86_64__
#define L2_LIMIT 512u /* the kernel's L2 maps VIRT_BASE..VIRT_BASE + 1 GiB */
#else
#define L2_LIMIT ((HYPERVISOR_VIRT_START - VIRT_BASE) >> 21) /* kernel L2 slots below Xen */
#endif

ulong *p2m;
ulong nr_pages;
u64 *kernel_top;
ulong kernel_top_mfn;
ulong mm_l1_added, mm_pages_mapped;
static u64 *kernel_l2; /* the L2 that maps VIRT_BASE.. */
static ulong used_map[MAX_PFNS / 32];
static ulong mapped_pfns; /* pfns [0, mapped_pfns) are in the linear map */
static ulong alloc_hint, free_count;

ulong pfn_to_mfn(ulong pfn) { return translated ? pfn : p2m[pfn]; }
ulong mfn_to_pfn(ulong mfn) {
  if (translated) return mfn;
  return mfn <= m2p_max_mfn ? M2P[mfn] : ~0ul;
}

u64 virt_to_machine(const void *v) {
  ulong pa = __pa(v);
  return ((u64)pfn_to_mfn(pa >> PAGE_SHIFT) << PAGE_SHIFT) | (pa & (PAGE_SIZE - 1));
}

void *table_va(u64 entry) { return __va(mfn_to_pfn(PTE_MFN(entry)) << PAGE_SHIFT); }

u64 *pt_entry(ulong va, int level) {
  u64 *t = kernel_top;
  for (int l = PT_LEVELS;; l--) {
    u64 *e = &t[(va >> (PAGE_SHIFT + 9 * (l - 1))) & 511];
    if (l == level) return e;
    if (!(*e & _PAGE_PRESENT)) return NULL;
    t = table_va(*e);
  }
}

u64 *pte_of(ulong va) { return pt_entry(va, 1); }

int map_frame_at(void *va, ulong mfn, u32 flags) {
  u64 pte = mfn ? ((u64)mfn << PAGE_SHIFT) | flags : 0;
  return (int)HYPERVISOR_update_va_mapping((ulong)va, pte, UVMF_INVLPG);
}

void *alloc_page(void) {
  for (ulong i = 0; i < mapped_pfns; i++) {
    ulong pfn = alloc_hint + i;
    if (pfn >= mapped_pfns) pfn -= mapped_pfns;
    if (!test_bit(pfn, used_map)) {
      set_bit(pfn, used_map);
      alloc_hint = pfn + 1;
      free_count--;
      void *p = __va(pfn << PAGE_SHIFT);
      memset(p, 0, PAGE_SIZE);
      return p;
    }
  }
  return NULL;
}

/* n physically contiguous pages (zeroed), or NULL */
void *alloc_pages_contig(ulong n) {
  ulong run = 0;
  for (ulong pfn = 0; pfn < mapped_pfns; pfn++) {
    run = test_bit(pfn, used_map) ? 0 : run + 1;
    if (run == n) {
      ulong first = pfn + 1 - n;
      for (ulong i = first; i <= pfn; i++) set_bit(i, used_map);
      free_count -= n;
      memset(__va(first << PAGE_SHIFT), 0, n * PAGE_SIZE);
      return __va(first << PAGE_SHIFT);
    }
  }
  return NULL;
}

void free_page(void *p) {
  ulong pfn = __pa(p) >> PAGE_SHIFT;
  if (pfn < mapped_pfns && test_bit(pfn, used_map)) {
    clear_bit(pfn, used_map);
    free_count++;
  }
}

ulong free_page_count(void) { return free_count; }

/* make a page read-only in the linear map (before it becomes a page table) */
static int make_ro(void *p) {
  return map_frame_at(p, pfn_to_mfn(__pa(p) >> PAGE_SHIFT), PTE_KERNEL_RO);
}

void mm_init(void) {
  /* where Xen maps the M2P for this guest (the default when the call is absent) */
  struct xen_machphys_mapping mm = {0, 0, 0};
  if (HYPERVISOR_memory_op(XENMEM_machphys_mapping, &mm) == 0 && mm.v_start) {
    m2p_table = (volatile ulong *)mm.v_start;
    m2p_max_mfn = mm.max_mfn;
  }
  p2m = (ulong *)start_info->mfn_list;
  nr_pages = start_info->nr_pages;
  if (nr_pages > MAX_PFNS) nr_pages = MAX_PFNS;
  kernel_top = (u64 *)start_info->pt_base;
  kernel_top_mfn = pfn_to_mfn(__pa(kernel_top) >> PAGE_SHIFT);
  u64 *l2e = pt_entry(VIRT_BASE, 2);
  if (!l2e) panic("mm: the boot tables do not map VIRT_BASE");
  kernel_l2 = l2e - ((VIRT_BASE >> 21) & 511);

  /* how far the boot mapping reaches */
  ulong pfn = 0;
  while (pfn < nr_pages) {
    u64 *pte = pte_of(VIRT_BASE + (pfn << PAGE_SHIFT));
    if (!pte || !(*pte & _PAGE_PRESENT)) break;
    pfn++;
  }
  mapped_pfns = pfn;
  ulong first_free = (__pa(start_info->pt_base) >> PAGE_SHIFT) + start_info->nr_pt_frames + 1;
  extern char _end[];
  if (first_free < __pa(_end) >> PAGE_SHIFT) first_free = __pa(_end) >> PAGE_SHIFT;
  for (ulong i = 0; i < first_free && i < MAX_PFNS; i++) set_bit(i, used_map);
  free_count = mapped_pfns > first_free ? mapped_pfns - first_free : 0;
  alloc_hint = first_free;
  printk("mm: %lu pages, boot mapping %lu pages, first free pfn %lu\n", nr_pages, mapped_pfns,
         first_free);

  ulong limit = nr_pages;
  if (limit > L2_LIMIT * 512) limit = L2_LIMIT * 512;
  /* finish a partial last boot L1 with one batched mmu_update */
  if (mapped_pfns & 511) {
    static struct mmu_update req[512];
    u64 *l1 = pte_of(VIRT_BASE + ((mapped_pfns & ~511ul) << PAGE_SHIFT));
    ulong n = 0, l1_mfn = pfn_to_mfn(__pa(l1) >> PAGE_SHIFT);
    while (mapped_pfns < limit && (mapped_pfns & 511)) {
      req[n].ptr = ((u64)l1_mfn << PAGE_SHIFT) + (mapped_pfns & 511) * 8 + MMU_NORMAL_PT_UPDATE;
      req[n].val = ((u64)pfn_to_mfn(mapped_pfns) << PAGE_SHIFT) | PTE_KERNEL;
      n++, mapped_pfns++;
    }
    if (HYPERVISOR_mmu_update(req, n, NULL, DOMID_SELF) < 0) panic("mm: extending the last L1");
    free_count += n;
    mm_pages_mapped += n;
  }
  /* new L1 tables, 2 MiB each */
  while (mapped_pfns < limit) {
    u64 *l1 = alloc_page();
    if (!l1) panic("mm: out of pages for L1 tables");
    ulong base = mapped_pfns, n = 0;
    for (; n < 512 && base + n < limit; n++)
      l1[n] = ((u64)pfn_to_mfn(base + n) << PAGE_SHIFT) | PTE_KERNEL;
    ulong l1_mfn = pfn_to_mfn(__pa(l1) >> PAGE_SHIFT);
    if (make_ro(l1)) panic("mm: cannot make an L1 read-only");
    struct mmuext_op pin = {MMUEXT_PIN_L1_TABLE, l1_mfn, 0};
    if (HYPERVISOR_mmuext_op(&pin, 1, NULL, DOMID_SELF) < 0) panic("mm: pin L1 failed");
    struct mmu_update u;
    u.ptr = virt_to_machine(&kernel_l2[(VIRT_BASE + (base << PAGE_SHIFT)) >> 21 & 511]);
    u.val = ((u64)l1_mfn << PAGE_SHIFT) | PTE_TABLE;
    if (HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF) < 0) panic("mm: installing an L1 failed");
    mapped_pfns += n;
    free_count += n;
    mm_l1_added++;
    mm_pages_mapped += n;
  }
  printk("mm: linear map of %lu pages (%lu new L1 tables), %lu pages free\n", mapped_pfns,
         mm_l1_added, free_count);
}
