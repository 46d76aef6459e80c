#!/bin/sh
# Regenerates the host CPU's results for the 64-bit tests: alu_host.txt.gz, shift_host.txt.gz,
# muldiv_host.txt.gz (alu_host.c, for alu64_test.ts shift64_test.ts muldiv64_test.ts) and
# forms64.json + host64.bin.gz (harness64.c over forms64.h, for host64_test.ts), and
# far64_host.txt (far64_host.c: ring-3 system behaviour, for far64_host_test.ts).
# Needs gcc on x86-64 (HARNESS_SCALE=n for n x the harness's cases).
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
gcc -O1 -m64 -o "$tmp/alu_host" alu_host.c
"$tmp/alu_host" | gzip -9n > alu_host.txt.gz
"$tmp/alu_host" shift | gzip -9n > shift_host.txt.gz
"$tmp/alu_host" muldiv | gzip -9n > muldiv_host.txt.gz
gcc -O1 -m64 -no-pie -fno-pic -Wall -o "$tmp/harness64" harness64.c
"$tmp/harness64" forms64.json | gzip -9n > host64.bin.gz
if command -v deno >/dev/null; then deno fmt -q forms64.json; fi
gcc -O1 -m64 -no-pie -fno-pic -Wall -o "$tmp/far64_host" far64_host.c
"$tmp/far64_host" > far64_host.txt
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: //' > host64_cpu.txt
rm -rf "$tmp"
