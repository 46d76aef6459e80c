#!/usr/bin/env bash
# Fetches Debian's own Linux kernel and userspace and builds an initramfs for a PV domU:
#   linux-image-<abi>-amd64   vmlinuz (bzImage, CONFIG_XEN_PV=y, hvc0 built in) and the modules
#                             xen-blkfront, xen-netfront, ext4 (+ jbd2, mbcache, crc16, crc32c)
#   busybox-static            /bin/busybox (amd64, static), unmodified
# Nothing is installed on the host: apt-get download + dpkg-deb -x into the output folder.
# Output (default tests/fixtures/cache/linux, git-ignored): vmlinuz, initrd.img, root.img (ext4),
# System.map (from the kernel's kallsyms; scripts/linux/kallsyms.ts), linux.cfg (an xl config).
# Idempotent: packages already downloaded are reused.
#   usage: scripts/linux/build.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-tests/fixtures/cache/linux}
mkdir -p "$out/debs"
chmod 0777 "$out/debs" 2>/dev/null || true

for tool in apt-get dpkg-deb cpio gzip mke2fs; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (apt-get install cpio e2fsprogs)" >&2; exit 2; }
done

kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
[ -n "$kpkg" ] || { echo "build.sh: cannot resolve the package linux-image-amd64 depends on (apt-get update?)" >&2; exit 2; }

for pkg in "$kpkg" busybox-static; do
  if ! ls "$out/debs/${pkg}_"*.deb >/dev/null 2>&1; then
    echo "== apt-get download $pkg" >&2
    (cd "$out/debs" && apt-get download -q "$pkg" >/dev/null)
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$(ls "$out/debs/${kpkg}_"*.deb | head -1)" "$work/k"
dpkg-deb -x "$(ls "$out/debs/busybox-static_"*.deb | head -1)" "$work/bb"
kver=${kpkg#linux-image-}
cp "$work/k/boot/vmlinuz-$kver" "$out/vmlinuz"

# The modules a PV domU needs for its disk and network, with what they depend on
# (read from each module's .modinfo "depends=", as modules.dep is made by depmod at install).
moddir="$work/k/lib/modules/$kver/kernel"
declare -A path_of
while IFS= read -r f; do
  n=$(basename "$f" .ko)
  path_of[$n]=$f
  path_of[${n//-/_}]=$f
done < <(find "$moddir" -name '*.ko')
order=()
declare -A seen
add() {
  local m=${1//-/_} dep
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  [ -n "${path_of[$m]:-}" ] || { echo "build.sh: module $1 not in $kpkg" >&2; exit 2; }
  for dep in $(grep -a -o 'depends=[^[:cntrl:]]*' "${path_of[$m]}" | head -1 | sed 's/depends=//; s/,/ /g'); do
    add "$dep"
  done
  order+=("$m")
}
# crc32c_generic: ext4's checksums reach it through the crypto API (a soft dependency)
for m in crc32c_generic xen_blkfront xen_netfront ext4; do add "$m"; done

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,etc/init.d,root,lib/modules}
cp "$work/bb/bin/busybox" "$root/bin/busybox"
for m in "${order[@]}"; do cp "${path_of[$m]}" "$root/lib/modules/$m.ko"; done
printf '%s\n' "${order[@]}" >"$root/lib/modules/load-order"
# busybox init is /init: it runs rcS, then a shell on hvc0, and handles poweroff/reboot.
ln -s bin/busybox "$root/init"
cp scripts/linux/inittab "$root/etc/inittab"
cp scripts/linux/rcS "$root/etc/init.d/rcS"
chmod 0755 "$root/etc/init.d/rcS" "$root/bin/busybox"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
  cpio --null -o -H newc --owner=0:0 --reproducible --quiet) | gzip -9 -n >"$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img" # readers never see half a file

# Debian's System.map is a stub (the real one is in the -dbg package): rebuild one from the
# kernel's own kallsyms table, to name the RIPs of crash dumps and stops.
if command -v deno >/dev/null; then
  deno run -A scripts/linux/kallsyms.ts "$out/vmlinuz" >"$out/System.map.tmp" && mv "$out/System.map.tmp" "$out/System.map"
fi

# A small ext4 disk for xvda (written by the guest; recreated only when absent).
if [ ! -f "$out/root.img" ]; then
  mkdir -p "$work/disk"
  echo "hello from the disk" >"$work/disk/hello.txt"
  mke2fs -q -t ext4 -d "$work/disk" -L pvxroot "$out/root.img" 32M
fi
# The same domain as an xl config (paths relative to it): pvx boot $out/linux.cfg
cat >"$out/linux.cfg.tmp" <<'CFG'
# Debian's Linux as a PV domU (scripts/linux/build.sh): pvx boot linux.cfg
name = "pvx-linux"
kernel = "vmlinuz"
ramdisk = "initrd.img"
root = "/dev/xvda"
extra = "console=hvc0"
memory = 512
vcpus = 2
disk = [ "format=raw, vdev=xvda, access=rw, target=root.img" ]
vif = [ "bridge=xenbr0" ]
CFG
mv "$out/linux.cfg.tmp" "$out/linux.cfg"
echo "kernel:  $out/vmlinuz ($kpkg)"
echo "ramdisk: $out/initrd.img (busybox-static; modules: ${order[*]})"
echo "disk:    $out/root.img (ext4)"
echo "symbols: $out/System.map"
echo "config:  $out/linux.cfg"
echo "boot:    deno task pvx boot $out/vmlinuz --ramdisk $out/initrd.img --cmdline console=hvc0 --memory 512 --disk $out/root.img --net bridge=xenbr0"
