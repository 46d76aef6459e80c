#!/bin/sh
# Rebuilds the 64-bit images of tests/cpu/fixtures/crc_sort.c for bench/cpu64_bench.ts and
# tests/cpu/long/tlb64_program_test.ts: flat at 0x10000 (linear = machine) and at the
# kernel address 0xffffffff80010000 (-mcmodel=kernel, run through the 4-level walker).
# No SSE (-mgeneral-regs-only): the 64-bit interpreter runs integer code only.
set -e
cd "$(dirname "$0")"
SRC=../../tests/cpu/fixtures/crc_sort.c
CFLAGS="-m64 -O2 -mgeneral-regs-only -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
  -fno-asynchronous-unwind-tables -mno-red-zone -nostdlib -static -Wl,--build-id=none -e _start"
gcc $CFLAGS -Wl,-Ttext=0x10000 -o /tmp/crc_sort64.elf $SRC
objcopy -O binary -j .text -j .rodata -j .data /tmp/crc_sort64.elf crc_sort64.bin
gcc $CFLAGS -mcmodel=kernel -Wl,-Ttext=0xffffffff80010000 -o /tmp/crc_sort64k.elf $SRC
objcopy -O binary -j .text -j .rodata -j .data /tmp/crc_sort64k.elf crc_sort64k.bin
nm /tmp/crc_sort64.elf /tmp/crc_sort64k.elf | grep -E " (_start|_end)$"
