#!/bin/sh
# Regenerates alu_host.txt.gz and shift_host.txt.gz (the host CPU's results for
# alu64_test.ts shift64_test.ts and
# muldiv64_test.ts). Needs gcc on x86-64.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
gcc -O1 -m64 -o "$tmp/alu_host" alu_host.c
"$tmp/alu_host" | gzip -9n > alu_host.txt.gz
"$tmp/alu_host" shift | gzip -9n > shift_host.txt.gz
"$tmp/alu_host" muldiv | gzip -9n > muldiv_host.txt.gz
rm -rf "$tmp"
