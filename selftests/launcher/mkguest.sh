#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkguest.sh OUT.cpio [KVER]: the launcher's test guest, an uncompressed
# initramfs of Debian's static busybox, guest-init as /init, and the virtio
# drivers of kernel KVER (default: the newest Debian 6.1 in /boot, the
# kernel the launcher tiers boot) from /lib/modules: Debian builds them as
# modules, and the guest kernel is Debian's own /boot/vmlinuz-*, unmodified.
# /lib/modules/load lists them in load order (built-in ones left out).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: mkguest.sh OUT.cpio [KVER]}
kver=${2:-}
if [ -z "$kver" ]; then
	# shellcheck disable=SC2012 # Debian kernel names are plain
	kver=$(basename "$(ls -d /boot/vmlinuz-6.1.* 2> /dev/null | sort -V | tail -n 1)")
	kver=${kver#vmlinuz-}
fi
busybox=$(command -v busybox) || { echo "mkguest: no busybox (scripts/deps)" >&2; exit 1; }
if ldd "$busybox" > /dev/null 2>&1; then
	echo "mkguest: $busybox is not static (install busybox-static)" >&2
	exit 1
fi
[ -d "/lib/modules/$kver" ] || { echo "mkguest: no /lib/modules/$kver (scripts/deps)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lib/modules}
cp "$busybox" "$tmp/bin/busybox"
for applet in sh mount sed cat nproc uname date dd printf echo sleep \
	      poweroff reboot setsid cttyhack ls insmod tar md5sum sync \
	      grep head od tr wc ip ping nc cmp cut timeout yes; do
	ln -s busybox "$tmp/bin/$applet"
done
cp "$here/guest-init" "$tmp/init"
# scripts/vhost-bench's guest tools, static, when built (the Makefile)
for t in ${GUEST_TOOLS:-}; do
	cp "$t" "$tmp/bin/"
done
chmod 755 "$tmp/init"

# virtio-pci and the blk, rng and net drivers with what they need, in
# the order modprobe would load them; each once, decompressed if packed
: > "$tmp/lib/modules/load"
modprobe -S "$kver" --show-depends -a virtio_pci virtio_blk virtio-rng virtio_net |
while read -r what path _; do
	[ "$what" = insmod ] || continue
	name=$(basename "$path")
	name=${name%.xz}
	name=${name%.zst}
	name=${name%.ko}
	grep -qx "$name" "$tmp/lib/modules/load" && continue
	case $path in
	*.xz) xz -dc "$path" > "$tmp/lib/modules/$name.ko" ;;
	*.zst) zstd -qdc "$path" > "$tmp/lib/modules/$name.ko" ;;
	*) cp "$path" "$tmp/lib/modules/$name.ko" ;;
	esac
	echo "$name" >> "$tmp/lib/modules/load"
done
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
