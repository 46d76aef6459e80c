#!/usr/bin/env bash
# Regenerates the host-CPU vectors: builds harness.c with gcc -m32 and runs it.
# Output (committed): forms.json (the forms, their bytes) and vectors.bin.gz (the cases).
# Usage: bash tests/cpu/host/generate.sh   (needs gcc-multilib; HARNESS_SCALE=n for n x cases)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
gcc -m32 -O1 -no-pie -fno-pic -msse2 -Wall -Wno-unused-function -o "$build/harness" "$here/harness.c"
"$build/harness" "$here/forms.json" | gzip -9 -n > "$here/vectors.bin.gz"
# keep forms.json as deno fmt writes it (the repository checks formatting)
if command -v deno >/dev/null; then deno fmt -q "$here/forms.json"; fi
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: //' > "$here/host_cpu.txt"
ls -l "$here/vectors.bin.gz"
