/*
 * main.c: start of day. start_info arrives in esi (pushed by head.S); the kernel queries
 * version and features, maps shared_info, installs traps and callbacks, extends the
 * page tables, starts events, time, grant tables, the console ring and xenbus, then runs
 * the network boot modes (ping=, netserve=), the selftest (cmdline "selftest") or the
 * shell from the built-in archive.
 */
#include "kernel.h"
#include "blkfront.h"
#include "netfront.h"

struct start_info *start_info;
struct shared_info *shared;
int translated;
volatile u32 stat_hypercalls;
char xen_extra[16];
char xen_caps[1024];
ulong xen_ver;
ulong xen_features;
static __attribute__((aligned(4096))) char shared_page[4096];

static void map_shared_info(void) {
  if (translated) {
    struct xen_add_to_physmap a = {DOMID_SELF, 0, XENMAPSPACE_shared_info, 0,
                                   __pa(shared_page) >> PAGE_SHIFT};
    if (HYPERVISOR_memory_op(XENMEM_add_to_physmap, &a) != 0) panic("add_to_physmap failed");
  } else if (map_frame_at(shared_page, start_info->shared_info >> PAGE_SHIFT, PTE_KERNEL) != 0) {
    panic("cannot map shared_info (machine address %lx)", start_info->shared_info);
  }
  shared = (struct shared_info *)shared_page;
}

int cmdline_has(const char *word) {
  const char *s = start_info->cmd_line;
  size_t n = strlen(word);
  while (*s) {
    while (*s == ' ') s++;
    if (!strncmp(s, word, n) && (s[n] == 0 || s[n] == ' ' || s[n] == '=')) return 1;
    while (*s && *s != ' ') s++;
  }
  return 0;
}

/* the value of word=value on the command line, or NULL */
const char *cmdline_value(const char *word) {
  const char *s = start_info->cmd_line;
  size_t n = strlen(word);
  while (*s) {
    while (*s == ' ') s++;
    if (!strncmp(s, word, n) && s[n] == '=') return s + n + 1;
    while (*s && *s != ' ') s++;
  }
  return NULL;
}

void start_kernel(struct start_info *si) {
  start_info = si;
  printk("pvx-guest: booting (%s), cmdline \"%s\"\n", si->magic, si->cmd_line);
  xen_ver = (ulong)HYPERVISOR_xen_version(XENVER_version, NULL);
  HYPERVISOR_xen_version(XENVER_extraversion, xen_extra);
  xen_extra[15] = 0;
  HYPERVISOR_xen_version(XENVER_capabilities, xen_caps);
  xen_caps[1023] = 0;
  struct xen_feature_info fi = {0, 0};
  if (HYPERVISOR_xen_version(XENVER_get_features, &fi) == 0) xen_features = fi.submap;
  translated = (xen_features >> XENFEAT_auto_translated_physmap) & 1;
  printk("xen: version %lu.%lu%s, caps \"%s\", features %lx, %s paging\n", xen_ver >> 16,
         xen_ver & 0xffff, xen_extra, xen_caps, xen_features,
         translated ? "translated" : "direct");
  printk("start_info: %lu pages, pt_base %lx (%lu frames), mfn_list %lx, module %lx+%lu\n",
         si->nr_pages, si->pt_base, si->nr_pt_frames, si->mfn_list, si->mod_start, si->mod_len);
  mm_init();
  map_shared_info();
  traps_init();
  events_init();
  time_init();
  if (gnttab_init() != 0) printk("gnttab: setup failed\n");
  console_ring_init();
  printk("console: ring %s\n", console_ring_active() ? "active" : "absent (console_io only)");
  xenbus_init();
  control_init();
  user_init();
  if (blkfront_init() == 0) ramdisk_load_disk();
  net_boot_modes(); /* ip=; ping= and netserve= power off when done */
  if (cmdline_has("selftest")) {
    int fails = selftest_run();
    poweroff(fails ? SHUTDOWN_crash : SHUTDOWN_poweroff);
  }
  char init[24] = "sh";
  const char *arg = cmdline_value("init");
  if (arg) {
    size_t i = 0;
    while (arg[i] && arg[i] != ' ' && i < sizeof(init) - 1) init[i] = arg[i], i++;
    init[i] = 0;
  }
  int status = 0;
  size_t len;
  const void *prog = ramdisk_find(init, &len);
  if (!prog) panic("no program \"%s\" in the archive", init);
  int rc = user_run(prog, len, init, &status);
  if (rc) panic("cannot run %s (%d)", init, rc);
  printk("%s exited with status %d\n", init, status);
  poweroff(status == 0x100 ? SHUTDOWN_reboot : SHUTDOWN_poweroff);
}
