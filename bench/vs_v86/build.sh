#!/bin/sh
# Rebuilds the vs_v86 loop kernels (committed): loop_mb.elf (multiboot, for v86) and
# loop_pv.elf (32-bit PAE PV, for pvx), the same loop.o linked with two heads.
set -e
cd "$(dirname "$0")"
B=$(mktemp -d)
CFLAGS="-m32 -march=i686 -O2 -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
  -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-builtin -fno-common -fno-ident \
  -mno-sse -mno-mmx -Wall -Wextra"
LDFLAGS="-m elf_i386 --build-id=none -nostdlib -z noexecstack --no-warn-rwx-segments"
gcc $CFLAGS -c -o "$B/loop.o" loop.c
gcc -m32 -fno-pic -c -o "$B/mb_head.o" mb_head.S
gcc -m32 -fno-pic -c -o "$B/pv_head.o" pv_head.S
ld $LDFLAGS --defsym BASE=0x100000 -T kernel.lds -o loop_mb.elf "$B/mb_head.o" "$B/loop.o"
ld $LDFLAGS --defsym BASE=0xC0000000 -T kernel.lds -o loop_pv.elf "$B/pv_head.o" "$B/loop.o"
rm -rf "$B"
