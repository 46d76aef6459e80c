#!/usr/bin/env bash
# Builds the Linux fixture of tests/linux (Debian's linux-image-amd64 and busybox-static,
# unmodified; scripts/linux/build.sh) into tests/fixtures/cache/linux. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/linux/build.sh >/dev/null
