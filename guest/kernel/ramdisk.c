/*
 * ramdisk.c: the file archive (format "PVXARC01", see guest/README.md). The kernel has
 * one built in (arch/archive.S); a boot module in the same format (start_info mod_start)
 * is searched first, then an archive at the start of the first disk (read at boot).
 */
#include "kernel.h"
#include "blkfront.h"

#define DISK_ARCHIVE_MAX (1u << 20)
static const char *disk_arc;
static u32 disk_arc_len;

/* reads an archive from sector 0 of the first disk into memory (once, at boot) */
int ramdisk_load_disk(void) {
  static u8 sect[4096];
  if (!blk.connected || blkfront_io(BLKIF_OP_READ, 0, sect, 8) != 0) return -1;
  if (memcmp(sect, "PVXARC01", 8)) return 1;
  u32 count = *(u32 *)(sect + 8);
  u32 end = 16 + count * 32;
  if (count > 127) return -2;
  for (u32 i = 0; i < count; i++) {
    u32 o = *(u32 *)(sect + 16 + i * 32 + 24), n = *(u32 *)(sect + 16 + i * 32 + 28);
    if (o > DISK_ARCHIVE_MAX || n > DISK_ARCHIVE_MAX - o) return -2;
    if (o + n > end) end = o + n;
  }
  ulong pages = (end + PAGE_SIZE - 1) / PAGE_SIZE;
  char *buf = alloc_pages_contig(pages);
  if (!buf) return -3;
  for (ulong p = 0; p < pages; p++)
    if (blkfront_io(BLKIF_OP_READ, p * 8, buf + p * PAGE_SIZE, 8) != 0) return -4;
  disk_arc = buf;
  disk_arc_len = end;
  printk("ramdisk: %lu files from the disk archive\n", (ulong)count);
  return 0;
}

struct arc_entry { char name[24]; u32 offset; u32 size; };
extern const char builtin_archive[];
extern const char builtin_archive_end[];

static const char *module_archive(u32 *len) {
  if (!start_info->mod_start || start_info->mod_len < 16) return NULL;
  if (start_info->flags & SIF_MOD_START_PFN) return NULL; /* only the mapped form */
  *len = start_info->mod_len;
  return (const char *)start_info->mod_start;
}

static const struct arc_entry *lookup(const char *a, u32 len, const char *name) {
  if (!a || len < 16 || memcmp(a, "PVXARC01", 8)) return NULL;
  u32 count = *(const u32 *)(a + 8);
  if (count > (len - 16) / sizeof(struct arc_entry)) return NULL;
  const struct arc_entry *e = (const struct arc_entry *)(a + 16);
  for (u32 i = 0; i < count; i++) {
    if (e[i].offset > len || e[i].size > len - e[i].offset) continue;
    if (!strncmp(e[i].name, name, sizeof(e[i].name))) return &e[i];
  }
  return NULL;
}

const void *ramdisk_find(const char *name, size_t *len) {
  while (*name == '/') name++;
  u32 mlen = 0;
  const char *m = module_archive(&mlen);
  const struct arc_entry *e = lookup(m, mlen, name);
  if (e) {
    *len = e->size;
    return m + e->offset;
  }
  e = lookup(disk_arc, disk_arc_len, name);
  if (e) {
    *len = e->size;
    return disk_arc + e->offset;
  }
  u32 blen = (u32)(builtin_archive_end - builtin_archive);
  e = lookup(builtin_archive, blen, name);
  if (!e) return NULL;
  *len = e->size;
  return builtin_archive + e->offset;
}

static int list_one(const char *a, u32 len, char *out, size_t n, size_t *o) {
  if (!a || len < 16 || memcmp(a, "PVXARC01", 8)) return 0;
  u32 count = *(const u32 *)(a + 8);
  if (count > (len - 16) / sizeof(struct arc_entry)) return 0;
  const struct arc_entry *e = (const struct arc_entry *)(a + 16);
  for (u32 i = 0; i < count; i++) {
    char line[64];
    char name[25];
    memcpy(name, e[i].name, 24);
    name[24] = 0;
    int l = snprintf(line, sizeof(line), "%s %lu\n", name, (ulong)e[i].size);
    if (*o + l + 1 > n) break;
    memcpy(out + *o, line, l);
    *o += l;
  }
  return (int)count;
}

int ramdisk_list(char *out, size_t n) {
  size_t o = 0;
  u32 mlen = 0;
  const char *m = module_archive(&mlen);
  list_one(m, mlen, out, n, &o);
  list_one(disk_arc, disk_arc_len, out, n, &o);
  list_one(builtin_archive, (u32)(builtin_archive_end - builtin_archive), out, n, &o);
  if (n) out[o < n ? o : n - 1] = 0;
  return (int)o;
}
