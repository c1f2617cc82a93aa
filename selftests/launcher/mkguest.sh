#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkguest.sh OUT.cpio: the launcher's test guest, an uncompressed initramfs
# of Debian's static busybox and guest-init as /init. The guest kernel is
# Debian's own /boot/vmlinuz-*, unmodified.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: mkguest.sh OUT.cpio}
busybox=$(command -v busybox) || { echo "mkguest: no busybox (scripts/deps)" >&2; exit 1; }
if ldd "$busybox" > /dev/null 2>&1; then
	echo "mkguest: $busybox is not static (install busybox-static)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp}
cp "$busybox" "$tmp/bin/busybox"
for applet in sh mount sed cat nproc uname date dd printf echo sleep \
	      poweroff reboot setsid cttyhack ls; do
	ln -s busybox "$tmp/bin/$applet"
done
cp "$here/guest-init" "$tmp/init"
chmod 755 "$tmp/init"
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
