#!/bin/sh
# Regenerates fpu64_forms.json and fpu64_host.bin.gz (the host CPU's results for
# fpu64_host_test.ts) from fpu64_host.c: the x87/SSE forms of ../host (their [ebx...]
# operands as [rbx...]) and fpu64_forms.h, run natively in 64-bit mode. Needs gcc on x86-64.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
sed 's/\[ebx/[rbx/g' ../host/forms_x87.h > "$tmp/forms_x87.h"
sed 's/\[ebx/[rbx/g' ../host/forms_sse.h > "$tmp/forms_sse.h"
gcc -O1 -m64 -no-pie -w -I. -DFORMS_X87="\"$tmp/forms_x87.h\"" -DFORMS_SSE="\"$tmp/forms_sse.h\"" \
  -Wl,--defsym,mem_base_sym=0x200000 -o "$tmp/fpu64_host" fpu64_host.c
"$tmp/fpu64_host" fpu64_forms.json | gzip -9n > fpu64_host.bin.gz
if command -v deno >/dev/null; then deno fmt -q fpu64_forms.json; fi
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: //' > fpu64_host_cpu.txt
rm -rf "$tmp"
