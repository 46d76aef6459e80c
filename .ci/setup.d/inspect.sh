#!/usr/bin/env bash
# Fetches the real guest images `pvx inspect` is tested on into tests/fixtures/cache/inspect
# (git-ignored): apt-get download + dpkg-deb -x, never installed. Idempotent.
#   grub-xen-host              grub-i386-xen.bin, grub-x86_64-xen.bin, grub-i386-xen_pvh.bin
#   gnumach-image-1.8-xen-486  gnumach-xen-486.gz (gzip'd ELF, legacy __xen_guest)
#   linux-image-6.x-amd64      vmlinuz (bzImage), the package linux-image-amd64 depends on
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=tests/fixtures/cache/inspect
mkdir -p "$cache/debs" "$cache/root"

linux_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
if [ -z "$linux_pkg" ]; then
  echo "cannot resolve the linux-image package linux-image-amd64 depends on" >&2
  exit 1
fi

# apt's download user must be able to write here, or apt warns on every file
chmod 0777 "$cache/debs" 2>/dev/null || true
status=0
for pkg in grub-xen-host gnumach-image-1.8-xen-486 "$linux_pkg"; do
  if ! ls "$cache/debs/${pkg}_"*.deb >/dev/null 2>&1; then
    if ! (cd "$cache/debs" && apt-get download -q "$pkg" >/dev/null); then
      echo "apt-get download $pkg failed (tests that need it will be skipped)" >&2
      status=1
      continue
    fi
  fi
  deb=$(ls "$cache/debs/${pkg}_"*.deb | head -1)
  dpkg-deb -x "$deb" "$cache/root"
done

# Stable names for the tests (symlinks into the extracted trees).
link() { if [ -f "$cache/root/$1" ]; then ln -sf "root/$1" "$cache/$2"; fi; }
link usr/lib/grub-xen/grub-i386-xen.bin grub-i386-xen.bin
link usr/lib/grub-xen/grub-x86_64-xen.bin grub-x86_64-xen.bin
link usr/lib/grub-xen/grub-i386-xen_pvh.bin grub-i386-xen_pvh.bin
g=$(cd "$cache/root" && ls boot/gnumach-1.8-xen-486*.gz 2>/dev/null | head -1 || true)
if [ -n "$g" ]; then ln -sf "root/$g" "$cache/gnumach-xen-486.gz"; fi
v="boot/vmlinuz-${linux_pkg#linux-image-}"
if [ -f "$cache/root/$v" ]; then ln -sf "root/$v" "$cache/vmlinuz"; fi
ls -l "$cache" | sed 1d
exit "$status"
