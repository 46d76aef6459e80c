/* sh: the pvx-guest shell (user mode): reads lines from the console and runs commands. */
#include "ulib.h"

static char line[256];

static int read_line(void) {
  int n = 0;
  for (;;) {
    char c;
    long r = read(0, &c, 1);
    if (r <= 0) return n ? n : -1;
    if (c == '\r' || c == '\n') {
      write(1, "\n", 1);
      line[n] = 0;
      return n;
    }
    if ((c == 8 || c == 127) && n) {
      n--;
      write(1, "\b \b", 3);
      continue;
    }
    if (c >= ' ' && n < (int)sizeof(line) - 1) {
      line[n++] = c;
      write(1, &c, 1);
    }
  }
}

static void cat(const char *path) {
  int fd = open(path, 0);
  if (fd < 0) {
    printf("cat: %s: no such file\n", path);
    return;
  }
  char buf[256];
  long n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) write(1, buf, n);
  close(fd);
}

static void help(void) {
  printf("commands: help uname uptime date mem ls cat FILE ping [IP] stats balloon N\n"
         "          selftest run PROGRAM poweroff reboot exit\n");
}

static void run_cmd(char *cmd) {
  char *arg = cmd;
  while (*arg && *arg != ' ') arg++;
  if (*arg) *arg++ = 0;
  while (*arg == ' ') arg++;
  if (!*cmd) return;
  if (!strcmp(cmd, "help")) help();
  else if (!strcmp(cmd, "uname")) {
    struct utsname u;
    uname(&u);
    printf("%s %s %s %s %s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
  } else if (!strcmp(cmd, "uptime")) {
    struct sysinfo s;
    sysinfo(&s);
    printf("up %ld s\n", s.uptime);
  } else if (!strcmp(cmd, "date")) {
    long t = time(NULL);
    long days = t / 86400, rem = t % 86400;
    /* civil date from days since 1970-01-01 */
    long z = days + 719468, era = z / 146097, doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1, mo = mp < 10 ? mp + 3 : mp - 9;
    if (mo <= 2) y++;
    printf("%ld-%02ld-%02ld %02ld:%02ld:%02ld UTC\n", y, mo, d, rem / 3600, rem / 60 % 60, rem % 60);
  } else if (!strcmp(cmd, "mem")) {
    struct sysinfo s;
    sysinfo(&s);
    printf("total %lu KiB, free %lu KiB\n", s.totalram * 4, s.freeram * 4);
  } else if (!strcmp(cmd, "ls")) {
    char buf[1024];
    long n = syscall3(PVX_ls, (long)buf, sizeof(buf), 0);
    if (n > 0) write(1, buf, n);
  } else if (!strcmp(cmd, "cat")) {
    cat(*arg ? arg : "motd");
  } else if (!strcmp(cmd, "ping")) {
    long ip = 0x0a000001;
    if (*arg) {
      long parts[4] = {0, 0, 0, 0};
      int k = 0;
      for (const char *p = arg; *p && k < 4; p++) {
        if (*p == '.') k++;
        else if (*p >= '0' && *p <= '9') parts[k] = parts[k] * 10 + (*p - '0');
      }
      ip = (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3];
    }
    long r = syscall3(PVX_ping, ip, 4, 0);
    if (r < 0) printf("ping: no network (%ld)\n", r);
    else printf("ping: %ld replies\n", r);
  } else if (!strcmp(cmd, "stats")) {
    char buf[512];
    long n = syscall3(PVX_stats, (long)buf, sizeof(buf), 0);
    if (n > 0) write(1, buf, n);
  } else if (!strcmp(cmd, "balloon")) {
    long r = syscall3(PVX_balloon, atol(arg), 0, 0);
    if (r < 0) printf("balloon: error %ld\n", r);
    else printf("balloon: %ld pages out\n", r);
  } else if (!strcmp(cmd, "selftest")) {
    long r = syscall3(PVX_selftest, 0, 0, 0);
    printf("selftest: %ld failures\n", r);
  } else if (!strcmp(cmd, "run")) {
    long r = syscall3(PVX_run, (long)arg, 0, 0);
    if (r < 0) printf("run: %s: error %ld\n", arg, r);
    else printf("run: %s exited with %ld\n", arg, r);
  } else if (!strcmp(cmd, "poweroff")) {
    syscall3(SYS_reboot, 0xfee1dead, 672274793, 0x4321FEDC);
  } else if (!strcmp(cmd, "reboot")) {
    syscall3(SYS_reboot, 0xfee1dead, 672274793, 0x01234567);
  } else if (!strcmp(cmd, "exit")) {
    exit(0);
  } else {
    printf("%s: unknown command (try help)\n", cmd);
  }
}

int main(int argc, char **argv) {
  cat("motd");
  for (;;) {
    write(1, "pvx$ ", 5);
    if (read_line() < 0) return 0;
    run_cmd(line);
  }
}
