/*
 * loop.c: the compute loop of bench/vs_v86.ts, built twice from the same object: as a
 * multiboot kernel for v86 (mb_head.S) and as a 32-bit PV kernel for pvx (pv_head.S).
 * Each round: CRC-32 (table driven) over 32 KiB, an insertion sort of 512 words and a
 * 24x24 integer matrix multiply. `bench_main` prints "S\n" before the first round and
 * "E <rounds> <checksum>\n" after the last, so the host times only the loop.
 */
typedef unsigned int u32;

void out(const char *s, u32 n); /* from the head: serial port or console_io */

#define N_DATA 8192
#define N_SORT 512
#define N_MAT 24

static u32 table[256];
static u32 data[N_DATA];
static u32 sorted[N_SORT];
static u32 ma[N_MAT][N_MAT], mb[N_MAT][N_MAT], mc[N_MAT][N_MAT];

static void make_table(void) {
  for (u32 i = 0; i < 256; i++) {
    u32 c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
}

static u32 crc32(const unsigned char *p, u32 n) {
  u32 c = 0xffffffffu;
  for (u32 i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

static void insertion_sort(u32 *a, int n) {
  for (int i = 1; i < n; i++) {
    u32 t = a[i];
    int j = i - 1;
    for (; j >= 0 && a[j] > t; j--) a[j + 1] = a[j];
    a[j + 1] = t;
  }
}

static u32 matmul(void) {
  u32 sum = 0;
  for (int i = 0; i < N_MAT; i++)
    for (int j = 0; j < N_MAT; j++) {
      u32 s = 0;
      for (int k = 0; k < N_MAT; k++) s += ma[i][k] * mb[k][j];
      mc[i][j] = s;
      sum = sum * 31 + s;
    }
  return sum;
}

static u32 parse_rounds(const char *s) {
  u32 v = 0;
  if (!s) return 0;
  for (; *s; s++) {
    if (*s == 'r' && s[1] == '=') {
      for (s += 2; *s >= '0' && *s <= '9'; s++) v = v * 10 + (u32)(*s - '0');
      return v;
    }
  }
  return 0;
}

static void out_hex(u32 v) {
  char b[8];
  for (int i = 7; i >= 0; i--, v >>= 4) b[i] = "0123456789abcdef"[v & 15];
  out(b, 8);
}

static void out_dec(u32 v) {
  char b[10];
  int i = 10;
  do b[--i] = (char)('0' + v % 10), v /= 10; while (v);
  out(b + i, (u32)(10 - i));
}

/* Runs the rounds named by "r=N" in cmdline (default 50); returns the checksum. */
u32 bench_main(const char *cmdline) {
  u32 rounds = parse_rounds(cmdline);
  if (!rounds) rounds = 50;
  make_table();
  u32 seed = 12345;
  for (int i = 0; i < N_DATA; i++) data[i] = seed = seed * 1103515245u + 12345u;
  for (int i = 0; i < N_MAT; i++)
    for (int j = 0; j < N_MAT; j++) ma[i][j] = (u32)(i * 7 + j), mb[i][j] = (u32)(i - j * 3);
  out("S\n", 2);
  u32 check = 0;
  for (u32 r = 0; r < rounds; r++) {
    u32 crc = crc32((const unsigned char *)data, sizeof data);
    for (int i = 0; i < N_SORT; i++) sorted[i] = data[(i * 13 + r) % N_DATA] ^ crc;
    insertion_sort(sorted, N_SORT);
    ma[r % N_MAT][crc % N_MAT] ^= crc;
    u32 m = matmul();
    check = check * 31 + (crc ^ sorted[0] ^ sorted[N_SORT - 1] ^ m);
    data[r % N_DATA] ^= check;
  }
  out("E ", 2);
  out_dec(rounds);
  out(" ", 1);
  out_hex(check);
  out("\n", 1);
  return check;
}
